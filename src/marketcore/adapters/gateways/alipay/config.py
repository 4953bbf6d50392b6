"""Alipay settings: the app, its RSA2 key pair, Alipay's public key and how to reach the gateway."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from pathlib import Path

import attrs

from marketcore.adapters.gateways.alipay.signing import private_key, public_key
from marketcore.domain.shared.errors import InvalidInput

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
_MAX_KEY_FILE = 64 * 1024


class AlipayMode(enum.StrEnum):
    """How ``create`` starts a payment."""

    PRECREATE = "precreate"  # alipay.trade.precreate: a verified server call answering a QR code
    PAGE = "page"  # alipay.trade.page.pay: a signed redirect URL to Alipay's desktop cashier


@attrs.frozen
class AlipayConfig:
    """Everything ``AlipayGateway`` needs. Keys are PEM text; they never appear in ``repr``."""

    app_id: str
    app_private_key: str = attrs.field(repr=False)  # signs our requests (its public half is uploaded)
    alipay_public_key: str = attrs.field(repr=False)  # verifies Alipay's answers and notifications
    notify_url: str
    return_url: str | None = None  # where the cashier sends the buyer back (page mode)
    mode: AlipayMode = AlipayMode.PRECREATE
    gateway_url: str = PRODUCTION_GATEWAY
    timeout_seconds: float = 30.0  # per HTTP request


def config_from(options: Mapping[str, str]) -> AlipayConfig:
    """Build a config from lower-case option names (``MARKETCORE_ALIPAY_APP_ID`` -> ``app_id``).

    Both keys are parsed here, so a bad key fails at start-up, not at the first payment. Every
    bad or missing value raises ``InvalidInput("alipay_<key>", ...)`` naming the setting, never
    echoing a key.
    """
    app_id = _app_id(options.get("app_id", "").strip())
    app_key = _key_text("app_private_key", options.get("app_private_key", ""))
    alipay_key = _key_text("alipay_public_key", options.get("alipay_public_key", ""))
    _check_keys(app_key, alipay_key)
    notify_url = _url("notify_url", options.get("notify_url", "").strip())
    mode = _mode(options.get("mode", "").strip() or AlipayMode.PRECREATE)
    return_url = options.get("return_url", "").strip() or None
    if return_url is not None:
        return_url = _url("return_url", return_url)
    elif mode is AlipayMode.PAGE:
        raise InvalidInput(
            "alipay_return_url", "required in page mode: where the cashier sends the buyer back"
        )
    return AlipayConfig(
        app_id=app_id,
        app_private_key=app_key,
        alipay_public_key=alipay_key,
        notify_url=notify_url,
        return_url=return_url,
        mode=mode,
        gateway_url=_gateway(options.get("gateway_url", "").strip() or PRODUCTION_GATEWAY),
        timeout_seconds=_seconds(options.get("timeout_seconds", "").strip() or "30"),
    )


def _app_id(value: str) -> str:
    if not value:
        raise InvalidInput("alipay_app_id", "required: the APPID of the app on open.alipay.com")
    if not re.fullmatch(r"\d{16}", value):
        raise InvalidInput("alipay_app_id", "must be the 16-digit APPID, such as 2021000000000001")
    return value


def _key_text(key: str, value: str) -> str:
    """The key's text: given inline (PEM or the bare base64 body) or as the path of a file."""
    text = value.strip()
    if not text:
        what = "the app private key" if key == "app_private_key" else "the Alipay public key"
        raise InvalidInput(f"alipay_{key}", f"required: {what} as PEM text, base64, or a file path")
    if "-----BEGIN" in text or text.startswith("MII"):
        return text
    path = Path(text).expanduser()
    try:
        if not path.is_file() or path.stat().st_size > _MAX_KEY_FILE:
            raise OSError
        content = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError):
        # The value may be a mangled key rather than a path: describe it, never quote it.
        raise InvalidInput(
            f"alipay_{key}", "is neither a key (PEM or base64) nor the path of a readable key file"
        ) from None
    if not content:
        raise InvalidInput(f"alipay_{key}", "the key file is empty")
    return content


def _check_keys(app_key: str, alipay_key: str) -> None:
    try:
        app = private_key(app_key)
    except ValueError as error:
        raise InvalidInput("alipay_app_private_key", str(error)) from None
    try:
        alipay = public_key(alipay_key)
    except ValueError as error:
        raise InvalidInput("alipay_alipay_public_key", str(error)) from None
    if alipay.public_numbers() == app.public_key().public_numbers():
        raise InvalidInput(
            "alipay_alipay_public_key",
            "is the app's own public key; use the Alipay public key (支付宝公钥) the console shows",
        )


def _url(key: str, value: str) -> str:
    if not value:
        raise InvalidInput(f"alipay_{key}", "required: an absolute http(s) URL Alipay can reach")
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[^\s?#]*)?", value):
        raise InvalidInput(f"alipay_{key}", "must be an absolute http(s) URL without query or fragment")
    return value


def _gateway(value: str) -> str:
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+/[^\s?#]*", value):
        raise InvalidInput("alipay_gateway_url", f"must be an http(s) URL such as {PRODUCTION_GATEWAY}")
    return value


def _mode(value: str) -> AlipayMode:
    try:
        return AlipayMode(value.lower())
    except ValueError:
        raise InvalidInput("alipay_mode", "must be precreate (QR code) or page (redirect)") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 300:  # nan fails too
        raise InvalidInput("alipay_timeout_seconds", "must be a number of seconds above 0, at most 300")
    return value
