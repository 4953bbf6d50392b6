"""WeChat Pay API v3: Native (QR code) orders, refunds and signed, encrypted callbacks."""

from marketcore.adapters.gateways.wechatpay.config import WeChatPayConfig, config_from
from marketcore.adapters.gateways.wechatpay.gateway import WeChatPayGateway

__all__ = ["WeChatPayConfig", "WeChatPayGateway", "config_from"]
