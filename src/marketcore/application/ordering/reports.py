"""Applying what a provider reports (a notification, or the answer to a query) to our payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from marketcore.application.ordering.capture import settle_capture
from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.domain.payments.payments import ReportOutcome
from marketcore.domain.payments.provider import ProviderPayment, ProviderRefund


def apply_reports(
    uow: OrderingUnitOfWork,
    gateway: str,
    changes: Sequence[ProviderPayment | ProviderRefund],
    timings: PaymentTimings,
    now: datetime,
) -> tuple[list[str], set[str]]:
    """Apply ``changes`` reported by ``gateway``, locking the payments in id order. Returns a line
    per change saying what it did, and the payments left with refunds to send."""
    by_payment: dict[str, list[ProviderPayment | ProviderRefund]] = {}
    for change in changes:
        by_payment.setdefault(change.payment_id, []).append(change)
    outcome: list[str] = []
    to_send: set[str] = set()
    for payment_id in sorted(by_payment):
        payment = uow.payments.get(payment_id, lock=True)
        if payment is None or payment.gateway != gateway:
            outcome.append(f"payment {payment_id}: not a {gateway} payment of ours, ignored")
            continue
        for change in by_payment[payment_id]:
            if isinstance(change, ProviderPayment):
                result = payment.apply_report(
                    change.status.payment_status,
                    change.amount,
                    change.provider_reference,
                    change.failure_reason,
                    now,
                )
                if result is ReportOutcome.CAPTURED:
                    settle_capture(uow, payment, now)
                outcome.append(f"payment {payment_id}: {change.status} -> {result.value}")
            else:
                moved = payment.refund_reported(
                    change.refund_id, change.status, change.provider_reference, change.failure_reason, now
                )
                outcome.append(
                    f"refund {change.refund_id}: {change.status} -> {'settled' if moved else 'unchanged'}"
                )
        timings.reschedule(payment, now)
        if payment.unsent_refunds:
            to_send.add(payment_id)
    return outcome, to_send
