"""The payment gateway registry: every gateway code, and how to build it from settings.

A deployment enables gateways with ``MARKETCORE_PAYMENT_GATEWAYS`` (e.g. ``stripe,alipay,cod``);
each provider reads its own ``MARKETCORE_<CODE>_<KEY>`` variables (``MARKETCORE_STRIPE_API_KEY``),
validated at start-up by the adapter's ``config_from``, which names the bad key and never echoes
a secret. An integrator registers a gateway of their own with ``register_gateway``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from marketcore.adapters.gateways import alipay, stripe, wechatpay
from marketcore.adapters.gateways.cod import CashOnDeliveryGateway
from marketcore.adapters.gateways.sandbox import SandboxGateway
from marketcore.application.payments.ports import PaymentGateway
from marketcore.domain.shared.errors import InvalidInput

# (options for this gateway, the deployment's secret key) -> the gateway
GatewayFactory = Callable[[Mapping[str, str], str], PaymentGateway]


def _sandbox(options: Mapping[str, str], secret_key: str) -> PaymentGateway:
    # Derived from the secret key, so every process of a deployment verifies the others' notifications.
    return SandboxGateway(hmac.new(secret_key.encode(), b"sandbox-notifications", hashlib.sha256).digest())


def _cod(options: Mapping[str, str], secret_key: str) -> PaymentGateway:
    return CashOnDeliveryGateway()


def _stripe(options: Mapping[str, str], secret_key: str) -> PaymentGateway:
    return stripe.StripeGateway(stripe.config_from(options))


def _alipay(options: Mapping[str, str], secret_key: str) -> PaymentGateway:
    return alipay.AlipayGateway(alipay.config_from(options))


def _wechatpay(options: Mapping[str, str], secret_key: str) -> PaymentGateway:
    return wechatpay.WeChatPayGateway(wechatpay.config_from(options))


GATEWAYS: dict[str, GatewayFactory] = {
    SandboxGateway.code: _sandbox,
    CashOnDeliveryGateway.code: _cod,
    stripe.StripeGateway.code: _stripe,
    alipay.AlipayGateway.code: _alipay,
    wechatpay.WeChatPayGateway.code: _wechatpay,
}


def register_gateway(code: str, factory: GatewayFactory) -> None:
    """Make ``code`` available to ``MARKETCORE_PAYMENT_GATEWAYS``; options come from
    ``MARKETCORE_<CODE>_<KEY>`` like the built-in providers'."""
    if not code.isidentifier() or code != code.lower():
        raise ValueError(f"gateway codes are lower-case identifiers, not {code!r}")
    GATEWAYS[code] = factory


def build_gateway(code: str, options: Mapping[str, str], secret_key: str) -> PaymentGateway:
    """Build one gateway; a bad option raises ``InvalidInput`` naming ``<code>_<key>``."""
    gateway = GATEWAYS[code](options, secret_key)
    if gateway.code != code:
        raise InvalidInput("payment_gateways", f"{code!r} builds a gateway whose code is {gateway.code!r}")
    return gateway
