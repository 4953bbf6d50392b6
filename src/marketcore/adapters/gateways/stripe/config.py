"""Stripe settings: the secret key, the webhook signing secret and how to reach the API."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from marketcore.adapters.gateways.options import GatewayOptions
from marketcore.domain.shared.errors import InvalidInput

DEFAULT_API_BASE = "https://api.stripe.com"


@attrs.frozen
class StripeConfig:
    """Everything ``StripeGateway`` needs. Secrets never appear in ``repr`` (logs, tracebacks)."""

    api_key: str = attrs.field(repr=False)  # sk_live_/sk_test_ secret key or rk_ restricted key
    webhook_secret: str = attrs.field(repr=False)  # whsec_ signing secret of our webhook endpoint
    api_base: str = DEFAULT_API_BASE
    webhook_tolerance_seconds: int = 300  # oldest accepted signature, measured at receipt
    timeout_seconds: float = 30.0  # per HTTP request
    max_network_retries: int = 2  # the SDK's own retries, same Idempotency-Key each time


def config_from(options: Mapping[str, str]) -> StripeConfig:
    """Build a config from lower-case option names (``MARKETCORE_STRIPE_API_KEY`` -> ``api_key``).

    Every bad or missing value raises ``InvalidInput("stripe_<key>", ...)`` naming the setting,
    never echoing a secret.
    """
    given = GatewayOptions("stripe", options)
    return StripeConfig(
        api_key=_api_key(given.text("api_key")),
        webhook_secret=_webhook_secret(given.text("webhook_secret")),
        api_base=given.origin("api_base", DEFAULT_API_BASE),
        webhook_tolerance_seconds=given.whole_number("webhook_tolerance_seconds", 300, 1, 86_400),
        timeout_seconds=given.seconds("timeout_seconds", 30.0),
        max_network_retries=given.whole_number("max_network_retries", 2, 0, 10),
    )


def _api_key(value: str) -> str:
    if not value:
        raise InvalidInput("stripe_api_key", "required: the secret key (sk_...) from Developers > API keys")
    if value.startswith("pk_"):
        raise InvalidInput("stripe_api_key", "a publishable key (pk_...) cannot call the API; use sk_ or rk_")
    if not value.startswith(("sk_", "rk_")) or not value.isascii() or any(c.isspace() for c in value):
        raise InvalidInput("stripe_api_key", "must be a secret key (sk_...) or a restricted key (rk_...)")
    return value


def _webhook_secret(value: str) -> str:
    if not value:
        raise InvalidInput("stripe_webhook_secret", "required: the endpoint's signing secret (whsec_...)")
    if not value.startswith("whsec_") or not value.isascii() or any(c.isspace() for c in value):
        raise InvalidInput("stripe_webhook_secret", "must be a webhook signing secret (whsec_...)")
    return value
