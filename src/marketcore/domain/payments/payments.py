"""Payments: one per checkout attempt, amount fixed at creation; gateway outcomes as values.

A payment moves only forward. What a provider reports (``ProviderPayment``, ``ProviderRefund``)
is applied through ``apply_report`` and ``refund_reported``, which ignore anything that would move
it back, so duplicated and out-of-order notifications change nothing after the first effective one.
"""

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


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"


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
    """Money going back. ``submitted_at`` is when the provider accepted it: until then it is ours
    to send (again), and every send carries the same id, so the provider refunds it once."""

    id: str
    amount: Money
    reason: str
    status: RefundStatus
    created_at: datetime
    provider_reference: str | None = None
    failure_reason: str | None = None
    order_id: str | None = None  # the order whose share it returns; settlement charges that shop
    submitted_at: datetime | None = None
    requested_by: str = "system"
    idempotency_key: str | None = None

    @property
    def unsent(self) -> bool:
        return self.status is RefundStatus.PENDING and self.submitted_at is None


@attrs.frozen
class PaymentReview:
    """Why a payment waits for an operator instead of being marked paid."""

    reason: str
    reported_amount: Money | None
    flagged_at: datetime


class ReportOutcome(enum.Enum):
    """What applying a provider's report did to a payment."""

    UNCHANGED = "unchanged"
    UPDATED = "updated"
    CAPTURED = "captured"  # the caller settles the orders: they are paid, or refunded if too late
    FLAGGED = "flagged"


@attrs.frozen(kw_only=True)
class PaymentSucceeded(DomainEvent):
    payment_id: str
    checkout_id: str


@attrs.frozen(kw_only=True)
class PaymentFlagged(DomainEvent):
    payment_id: str
    reason: str


@attrs.frozen(kw_only=True)
class PaymentRefunded(DomainEvent):
    payment_id: str
    refund_id: str
    order_id: str | None
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
    review: PaymentReview | None = None
    # When the worker should next look at this payment with its provider (query an unsettled one,
    # send refunds nobody sent); None once there is nothing left to check.
    check_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)

    @property
    def refundable(self) -> Money:
        """Captured minus every refund not failed: the most a new refund may take."""
        if self.status is not PaymentStatus.SUCCEEDED:
            return Money.zero(self.amount.currency)
        return self.amount - self.refunded()

    def refunded(self, order_id: str | None = None) -> Money:
        """Refunds not failed (pending ones count: the money is on its way back), of one order if given."""
        return Money.sum(
            (
                r.amount
                for r in self.refunds
                if r.status is not RefundStatus.FAILED and (order_id is None or r.order_id == order_id)
            ),
            self.amount.currency,
        )

    def refundable_for(self, order_id: str) -> Money:
        """What may still be refunded of one order's share."""
        if self.status is not PaymentStatus.SUCCEEDED or order_id not in self.order_amounts:
            return Money.zero(self.amount.currency)
        share = Money(self.order_amounts[order_id], self.amount.currency)
        return (share - self.refunded(order_id)).min(self.refundable)

    @property
    def unsent_refunds(self) -> list[Refund]:
        return [r for r in self.refunds if r.unsent]

    def refund_by_key(self, key: str) -> Refund | None:
        return next((r for r in self.refunds if r.idempotency_key == key), None)

    def refund(
        self,
        refund_id: str,
        amount: Money,
        reason: str,
        at: datetime,
        *,
        order_id: str | None = None,
        requested_by: str = "system",
        idempotency_key: str | None = None,
    ) -> Refund:
        """Open a refund; never more than was captured and not yet refunded (of the order's share,
        when it names an order)."""
        if self.status is not PaymentStatus.SUCCEEDED:
            raise PaymentNotRefundable(f"payment is {self.status}; only a succeeded payment is refunded")
        if amount.currency is not self.amount.currency:
            raise InvalidInput("amount", f"must be in {self.amount.currency}")
        if amount.amount <= 0:
            raise InvalidInput("amount", "a refund must be positive")
        if order_id is not None and order_id not in self.order_amounts:
            raise InvalidInput("order_id", "this payment did not pay that order")
        limit = self.refundable if order_id is None else self.refundable_for(order_id)
        if amount > limit:
            raise RefundExceedsCapture(f"at most {limit} can still be refunded")
        refund = Refund(
            refund_id,
            amount,
            reason,
            RefundStatus.PENDING,
            at,
            order_id=order_id,
            requested_by=requested_by,
            idempotency_key=idempotency_key,
        )
        self.refunds.append(refund)
        return refund

    def refund_submitted(
        self, refund_id: str, outcome: RefundAccepted | RefundDeclined, at: datetime
    ) -> Refund:
        """The provider answered our refund request. Only an unsent refund takes the answer: a
        retry's answer, or one racing a notification that already settled it, changes nothing."""
        refund = self._refund(refund_id)
        if not refund.unsent:
            return refund
        if isinstance(outcome, RefundDeclined):
            return self._settle_refund(refund, RefundStatus.FAILED, at, failure_reason=outcome.reason)
        return self._settle_refund(
            refund, outcome.status, at, provider_reference=outcome.provider_reference, submitted_at=at
        )

    def refund_reported(
        self,
        refund_id: str,
        status: RefundStatus,
        provider_reference: str | None,
        failure_reason: str | None,
        at: datetime,
    ) -> bool:
        """A provider's notification about one of our refunds; only a pending refund moves, and only
        to a final state. Returns whether anything changed."""
        refund = next((r for r in self.refunds if r.id == refund_id), None)
        if refund is None or refund.status is not RefundStatus.PENDING or status is RefundStatus.PENDING:
            return False
        self._settle_refund(
            refund,
            status,
            at,
            provider_reference=refund.provider_reference or provider_reference,
            submitted_at=refund.submitted_at or at,
            failure_reason=failure_reason if status is RefundStatus.FAILED else None,
        )
        return True

    def _refund(self, refund_id: str) -> Refund:
        for refund in self.refunds:
            if refund.id == refund_id:
                return refund
        raise InvalidInput("refund_id", f"payment {self.id} has no refund {refund_id}")

    def _settle_refund(self, refund: Refund, status: RefundStatus, at: datetime, **changes: object) -> Refund:
        settled = attrs.evolve(refund, status=status, **changes)  # type: ignore[arg-type]
        self.refunds[self.refunds.index(refund)] = settled
        if status is RefundStatus.SUCCEEDED:
            self.record(
                PaymentRefunded(
                    occurred_at=at,
                    payment_id=self.id,
                    refund_id=refund.id,
                    order_id=refund.order_id,
                    amount=refund.amount.amount,
                    reason=refund.reason,
                )
            )
        return settled

    def started(self, outcome: PaymentStarted | PaymentDeclined, at: datetime) -> None:
        """The provider's answer to creating the payment; ignored once the payment has moved on
        (a notification may arrive before the create call returns)."""
        if not self.is_open:
            return
        if isinstance(outcome, PaymentDeclined):
            self.fail(outcome.reason, at)
            return
        self.provider_reference = outcome.provider_reference
        self.next_action = outcome.next_action
        self.status = outcome.status

    def apply_report(
        self,
        status: PaymentStatus,
        amount: Money | None,
        provider_reference: str | None,
        failure_reason: str | None,
        at: datetime,
    ) -> ReportOutcome:
        """What the provider says happened. A success whose amount or currency differs from ours
        flags the payment for an operator and never marks it paid; a success after we gave up on
        the payment (failed, cancelled) still counts, as the money was taken."""
        if self.status is PaymentStatus.SUCCEEDED or self.review is not None:
            return ReportOutcome.UNCHANGED
        if provider_reference and not self.provider_reference:
            self.provider_reference = provider_reference
        if status is PaymentStatus.SUCCEEDED:
            if amount != self.amount:
                reported = "no amount" if amount is None else str(amount)
                self.flag(f"provider reported {reported} captured, expected {self.amount}", amount, at)
                return ReportOutcome.FLAGGED
            self.succeed(at)
            return ReportOutcome.CAPTURED
        if not self.is_open or status is self.status:
            return ReportOutcome.UNCHANGED
        if status is PaymentStatus.FAILED:
            self.fail(failure_reason or "the provider reported the payment failed", at)
        elif status is PaymentStatus.CANCELLED:
            self.cancel(failure_reason or "closed at the provider", at)
        elif status is PaymentStatus.REQUIRES_ACTION:
            self.status = status
        else:
            return ReportOutcome.UNCHANGED
        return ReportOutcome.UPDATED

    def flag(self, reason: str, reported_amount: Money | None, at: datetime) -> None:
        self.review = PaymentReview(reason, reported_amount, at)
        self.check_at = None
        self.record(PaymentFlagged(occurred_at=at, payment_id=self.id, reason=reason))

    def succeed(self, at: datetime) -> None:
        if self.status is PaymentStatus.SUCCEEDED:
            raise PaymentNotPending("payment already succeeded")
        self.status = PaymentStatus.SUCCEEDED
        self.completed_at = at
        self.failure_reason = None
        self.next_action = NextAction(NextActionKind.NONE)
        self.record(PaymentSucceeded(occurred_at=at, payment_id=self.id, checkout_id=self.checkout_id))

    def fail(self, reason: str, at: datetime) -> None:
        if not self.is_open:
            raise PaymentNotPending(f"payment is {self.status}")
        self.status = PaymentStatus.FAILED
        self.failure_reason = reason
        self.completed_at = at

    def cancel(self, reason: str, at: datetime) -> None:
        if not self.is_open:
            raise PaymentNotPending(f"payment is {self.status}")
        self.status = PaymentStatus.CANCELLED
        self.failure_reason = reason
        self.completed_at = at
