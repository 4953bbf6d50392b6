"""Alipay: precreate (QR) or page-pay trades, refunds and signed notifications, RSA2."""

from marketcore.adapters.gateways.alipay.config import AlipayConfig, AlipayMode, config_from
from marketcore.adapters.gateways.alipay.gateway import AlipayGateway

__all__ = ["AlipayConfig", "AlipayGateway", "AlipayMode", "config_from"]
