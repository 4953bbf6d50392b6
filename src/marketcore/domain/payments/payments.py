"""Payments: one per checkout attempt, amount fixed at creation; gateway outcomes as values."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from marketcore.domain.shared.errors import Conflict, InvalidInput
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


class RefundExceedsCapture(Conflict):
    code = "refund_exceeds_capture"


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


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
    expires_at: datetime | None = None  # the payment deadline; providers close the trade after it


@attrs.frozen
class PaymentStarted:
    provider_reference: str
    next_action: NextAction
    status: PaymentStatus = PaymentStatus.REQUIRES_ACTION


@attrs.frozen
class PaymentDeclined:
    reason: str


@attrs.frozen
class RefundRequest:
    refund_id: str
    payment_id: str
    provider_reference: str | None
    amount: Money
    reason: str


@attrs.frozen
class RefundAccepted:
    """The provider took the refund; ``status`` is final for synchronous providers."""

    provider_reference: str
    status: RefundStatus = RefundStatus.SUCCEEDED


@attrs.frozen
class RefundDeclined:
    reason: str


@attrs.frozen
class Refund:
    id: str
    amount: Money
    reason: str
    status: RefundStatus
    created_at: datetime
    provider_reference: str | None = None
    failure_reason: str | None = None


@attrs.frozen(kw_only=True)
class PaymentSucceeded(DomainEvent):
    payment_id: str
    checkout_id: str


@attrs.frozen(kw_only=True)
class PaymentRefunded(DomainEvent):
    payment_id: str
    refund_id: str
    amount: int
    reason: str


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
    order_amounts: dict[str, int] = attrs.Factory(dict)  # order id -> minor units this payment covers
    refunds: list[Refund] = attrs.Factory(list)

    @property
    def refundable(self) -> Money:
        """Captured minus every refund not failed: the most a new refund may take."""
        if self.status is not PaymentStatus.SUCCEEDED:
            return Money.zero(self.amount.currency)
        taken = Money.sum(
            (r.amount for r in self.refunds if r.status is not RefundStatus.FAILED), self.amount.currency
        )
        return self.amount - taken

    def refund(self, refund_id: str, amount: Money, reason: str, at: datetime) -> Refund:
        """Open a refund; never more than was captured and not yet refunded."""
        if amount.amount <= 0:
            raise InvalidInput("amount", "a refund must be positive")
        if amount > self.refundable:
            raise RefundExceedsCapture(f"at most {self.refundable} can still be refunded")
        refund = Refund(refund_id, amount, reason, RefundStatus.PENDING, at)
        self.refunds.append(refund)
        return refund

    def refund_settled(
        self, refund_id: str, outcome: RefundAccepted | RefundDeclined, at: datetime
    ) -> Refund:
        index, refund = next((i, r) for i, r in enumerate(self.refunds) if r.id == refund_id)
        if isinstance(outcome, RefundDeclined):
            settled = attrs.evolve(refund, status=RefundStatus.FAILED, failure_reason=outcome.reason)
        else:
            settled = attrs.evolve(
                refund, status=outcome.status, provider_reference=outcome.provider_reference
            )
        self.refunds[index] = settled
        if settled.status is RefundStatus.SUCCEEDED:
            self.record(
                PaymentRefunded(
                    occurred_at=at,
                    payment_id=self.id,
                    refund_id=refund_id,
                    amount=refund.amount.amount,
                    reason=refund.reason,
                )
            )
        return settled

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
