"""WeChat Pay settings: the merchant's ids and keys, WeChat Pay's public key, and where to reach it."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

import attrs

from marketcore.adapters.gateways.wechatpay.signing import (
    CERTIFICATE_SERIAL,
    PUBLIC_KEY_ID,
    load_private_key,
    load_public_key,
)
from marketcore.domain.shared.errors import InvalidInput

DEFAULT_API_BASE = "https://api.mch.weixin.qq.com"
APIV3_KEY_BYTES = 32


@attrs.frozen
class WeChatPayConfig:
    """Everything ``WeChatPayGateway`` needs. Keys are PEM text; secrets never appear in ``repr``."""

    mchid: str  # 商户号, digits
    appid: str  # the AppID bound to the merchant (official account, mini program or app)
    merchant_private_key: str = attrs.field(repr=False)  # apiclient_key.pem: signs our requests
    merchant_serial_no: str  # serial of the merchant API certificate, uppercase hex
    apiv3_key: str = attrs.field(repr=False)  # 32 ASCII characters: decrypts callback resources
    platform_public_key: str = attrs.field(repr=False)  # pub_key.pem, or a platform certificate
    platform_public_key_id: str  # PUB_KEY_ID_..., or that certificate's serial
    notify_url: str  # https, no query: where WeChat Pay posts payment and refund callbacks
    api_base: str = DEFAULT_API_BASE
    timestamp_tolerance_seconds: int = 300  # signed answers and callbacks, either side of our clock
    timeout_seconds: float = 10.0  # per HTTP request


def config_from(options: Mapping[str, str]) -> WeChatPayConfig:
    """Build a config from lower-case option names (``MARKETCORE_WECHATPAY_MCHID`` -> ``mchid``).

    Every bad or missing value raises ``InvalidInput("wechatpay_<key>", ...)`` naming the setting,
    never echoing a secret. PEMs are parsed here, so a broken key fails at start-up, not at the
    first payment.
    """

    def text(key: str) -> str:
        return options.get(key, "").strip()

    mchid, appid = _mchid(text("mchid")), _appid(text("appid"))
    private_key = _private_key(text("merchant_private_key"))
    serial_no, apiv3_key = _serial_no(text("merchant_serial_no")), _apiv3_key(text("apiv3_key"))
    public_key, certificate_serial = _public_key(text("platform_public_key"))
    return WeChatPayConfig(
        mchid=mchid,
        appid=appid,
        merchant_private_key=private_key,
        merchant_serial_no=serial_no,
        apiv3_key=apiv3_key,
        platform_public_key=public_key,
        platform_public_key_id=_public_key_id(text("platform_public_key_id"), certificate_serial),
        notify_url=_notify_url(text("notify_url")),
        api_base=_api_base(text("api_base") or DEFAULT_API_BASE),
        timestamp_tolerance_seconds=_integer(options, "timestamp_tolerance_seconds", 300, 1, 3_600),
        timeout_seconds=_seconds(text("timeout_seconds") or "10"),
    )


def _pem(value: str) -> str:
    """Environment variables often carry PEMs with literal ``\\n``; restore the line breaks."""
    return value.replace("\\n", "\n").strip() + "\n"


def _private_key(value: str) -> str:
    field = "wechatpay_merchant_private_key"
    if not value:
        raise InvalidInput(field, "required: the PEM of the merchant API private key (apiclient_key.pem)")
    load_private_key(_pem(value), field)
    return _pem(value)


def _public_key(value: str) -> tuple[str, str | None]:
    field = "wechatpay_platform_public_key"
    if not value:
        raise InvalidInput(
            field, "required: the PEM of the WeChat Pay public key (pub_key.pem) or of a platform certificate"
        )
    _, certificate_serial = load_public_key(_pem(value), field)
    return _pem(value), certificate_serial


def _mchid(value: str) -> str:
    if not value:
        raise InvalidInput("wechatpay_mchid", "required: the merchant id (商户号) from the merchant platform")
    if not re.fullmatch(r"\d{1,32}", value):
        raise InvalidInput("wechatpay_mchid", "must be the merchant id: digits only")
    return value


def _appid(value: str) -> str:
    if not value:
        raise InvalidInput("wechatpay_appid", "required: the AppID bound to the merchant (wx...)")
    if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", value):
        raise InvalidInput("wechatpay_appid", "must be an AppID such as wx0000000000000001")
    return value


def _serial_no(value: str) -> str:
    if not value:
        raise InvalidInput(
            "wechatpay_merchant_serial_no", "required: the serial number of the merchant API certificate"
        )
    if not CERTIFICATE_SERIAL.fullmatch(value):
        raise InvalidInput("wechatpay_merchant_serial_no", "must be a certificate serial number in hex")
    return value.upper()


def _apiv3_key(value: str) -> str:
    if not value:
        raise InvalidInput("wechatpay_apiv3_key", "required: the APIv3 key set in the merchant platform")
    if not value.isascii() or len(value) != APIV3_KEY_BYTES or any(c.isspace() for c in value):
        raise InvalidInput(
            "wechatpay_apiv3_key", f"must be exactly {APIV3_KEY_BYTES} ASCII characters without spaces"
        )
    return value


def _public_key_id(value: str, certificate_serial: str | None) -> str:
    field = "wechatpay_platform_public_key_id"
    if certificate_serial is not None:  # a platform certificate says which serial it is
        if value and not (
            CERTIFICATE_SERIAL.fullmatch(value) and int(value, 16) == int(certificate_serial, 16)
        ):
            raise InvalidInput(field, f"must be the certificate's serial {certificate_serial} or empty")
        return certificate_serial
    if not value:
        raise InvalidInput(field, "required: the id of the WeChat Pay public key (PUB_KEY_ID_...)")
    if PUBLIC_KEY_ID.fullmatch(value):
        return value
    if CERTIFICATE_SERIAL.fullmatch(value):
        return value.upper()
    raise InvalidInput(field, "must be a public key id (PUB_KEY_ID_...) or a platform certificate serial")


def _notify_url(value: str) -> str:
    field = "wechatpay_notify_url"
    if not value:
        raise InvalidInput(field, "required: the https URL WeChat Pay posts callbacks to")
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise InvalidInput(field, "must be an https URL without query or fragment, as WeChat Pay requires")
    if len(value) > 255 or not value.isascii() or any(c.isspace() for c in value):
        raise InvalidInput(field, "must be at most 255 ASCII characters without spaces")
    return value


def _api_base(value: str) -> str:
    match = re.fullmatch(r"(https?)://([A-Za-z0-9.\-\[\]:]+)/?", value)
    if match is None:
        raise InvalidInput("wechatpay_api_base", f"must be an http(s) origin such as {DEFAULT_API_BASE}")
    return value.rstrip("/")


def _integer(options: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    text = options.get(key, "").strip()
    if not text:
        return default
    if not re.fullmatch(r"\d{1,9}", text) or not low <= int(text) <= high:
        raise InvalidInput(f"wechatpay_{key}", f"must be a whole number from {low} to {high}")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 300:  # nan fails too
        raise InvalidInput("wechatpay_timeout_seconds", "must be a number of seconds above 0, at most 300")
    return value
