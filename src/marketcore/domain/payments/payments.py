"""Payments: one per checkout attempt, amount fixed at creation; gateway outcomes as values."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from marketcore.domain.shared.errors import Conflict
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.money import Money


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class PaymentNotPending(Conflict):
    code = "payment_not_pending"


class NextActionKind(enum.StrEnum):
    NONE = "none"
    CLIENT_SECRET = "client_secret"
    REDIRECT = "redirect"
    QR_CODE = "qr_code"


@attrs.frozen
class NextAction:
    """What the buyer's client must do to finish paying."""

    kind: NextActionKind
    value: str | None = None


@attrs.frozen
class PaymentRequest:
    payment_id: str
    checkout_id: str
    amount: Money
    description: str


@attrs.frozen
class PaymentStarted:
    provider_reference: str
    next_action: NextAction
    status: PaymentStatus = PaymentStatus.REQUIRES_ACTION


@attrs.frozen
class PaymentDeclined:
    reason: str


@attrs.frozen(kw_only=True)
class PaymentSucceeded(DomainEvent):
    payment_id: str
    checkout_id: str


@attrs.define(eq=False)
class Payment(Aggregate):
    checkout_id: str
    buyer_id: str
    gateway: str
    amount: Money
    created_at: datetime
    status: PaymentStatus = PaymentStatus.PENDING
    provider_reference: str | None = None
    next_action: NextAction = NextAction(NextActionKind.NONE)
    failure_reason: str | None = None
    completed_at: datetime | None = None
    idempotency_key: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)

    def started(self, outcome: PaymentStarted | PaymentDeclined, at: datetime) -> None:
        if isinstance(outcome, PaymentDeclined):
            self.fail(outcome.reason, at)
            return
        self.provider_reference = outcome.provider_reference
        self.next_action = outcome.next_action
        self.status = outcome.status

    def succeed(self, at: datetime) -> None:
        if not self.is_open:
            raise PaymentNotPending(f"payment is {self.status}")
        self.status = PaymentStatus.SUCCEEDED
        self.completed_at = at
        self.next_action = NextAction(NextActionKind.NONE)
        self.record(PaymentSucceeded(occurred_at=at, payment_id=self.id, checkout_id=self.checkout_id))

    def fail(self, reason: str, at: datetime) -> None:
        if not self.is_open:
            raise PaymentNotPending(f"payment is {self.status}")
        self.status = PaymentStatus.FAILED
        self.failure_reason = reason
        self.completed_at = at
