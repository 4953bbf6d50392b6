"""What payment providers tell us, normalised: query snapshots and verified notifications.

Every gateway adapter translates its provider's wire format into these values, so the inbox and
the payment service handle Stripe, Alipay and WeChat Pay notifications through one path.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from marketcore.domain.payments.payments import PaymentStatus, RefundStatus
from marketcore.domain.shared.money import Money


class ProviderStatus(enum.StrEnum):
    """The provider's view of a payment (see shared/providers §8 for each provider's mapping)."""

    PENDING = "pending"  # created, the buyer has not paid yet
    REQUIRES_ACTION = "requires_action"  # 3-D Secure, redirect or QR shown
    PROCESSING = "processing"  # funds in flight (Stripe processing, WeChat USERPAYING)
    SUCCEEDED = "succeeded"  # captured; refunds do not change this
    FAILED = "failed"  # the last attempt failed
    CANCELLED = "cancelled"  # closed or expired without payment

    @property
    def payment_status(self) -> PaymentStatus:
        """Ours for the provider's; funds in flight leave the payment open (pending)."""
        if self is ProviderStatus.PROCESSING:
            return PaymentStatus.PENDING
        return PaymentStatus(self.value)


@attrs.frozen
class PaymentQuery:
    """Everything an adapter needs to look a payment up at its provider."""

    payment_id: str
    provider_reference: str | None
    amount: Money


@attrs.frozen
class ProviderPayment:
    """A payment's state at the provider. ``amount`` is what the provider says was charged (or
    asked for); it is compared with ours before anything is marked paid."""

    payment_id: str
    status: ProviderStatus
    provider_reference: str | None = None
    amount: Money | None = None
    failure_reason: str | None = None


@attrs.frozen
class ProviderRefund:
    """A refund's state at the provider; ``refund_id`` is ours (Alipay ``out_request_no``,
    WeChat ``out_refund_no``, Stripe ``metadata.refund_id``)."""

    payment_id: str
    refund_id: str
    status: RefundStatus
    provider_reference: str | None = None
    amount: Money | None = None
    failure_reason: str | None = None


@attrs.frozen
class RawNotification:
    """A provider's HTTP callback as received: the exact body bytes (signatures cover them) and
    the headers with lower-cased names."""

    headers: Mapping[str, str]
    body: bytes
    received_at: datetime


@attrs.frozen
class Notification:
    """A verified notification. ``event_id`` is the provider's id for it (Stripe ``event.id``,
    Alipay ``notify_id``, WeChat ``id``): the inbox stores each once. ``changes`` is empty for
    events we do not act on."""

    event_id: str
    changes: tuple[ProviderPayment | ProviderRefund, ...] = ()


@attrs.frozen
class NotificationReply:
    """The answer a provider expects once a notification is accepted (Alipay wants exactly
    ``success``; WeChat Pay and Stripe a 2xx)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
