"""Stripe: PaymentIntents, Refunds and signed webhooks through the official SDK."""

from marketcore.adapters.gateways.stripe.config import StripeConfig, config_from
from marketcore.adapters.gateways.stripe.gateway import StripeGateway

__all__ = ["StripeConfig", "StripeGateway", "config_from"]
