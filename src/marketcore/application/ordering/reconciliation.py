"""Settling payments whose notification never came, by asking the provider.

Each payment due a check (``check_at`` passed) is leased in a short transaction (SKIP LOCKED, so
workers side by side take different ones), queried at its provider outside any transaction, and
what the provider says is applied like a notification. A payment still unsettled a day after it
was created is cancelled here; if the money arrives after all, the late success is refunded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.ordering.refunds import RefundSender
from marketcore.application.ordering.reports import apply_reports
from marketcore.application.payments.ports import GatewayUnavailable, PaymentGateway
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.payments.provider import PaymentQuery, ProviderPayment

log = logging.getLogger(__name__)

BATCH = 100
LEASE = timedelta(minutes=2)  # how long a claimed payment is skipped by other workers


@attrs.frozen
class ReconcileReport:
    queried: int = 0
    settled: int = 0  # queries that moved a payment (paid, failed, cancelled, flagged)
    refunds_sent: int = 0
    abandoned: int = 0

    def __add__(self, other: ReconcileReport) -> ReconcileReport:
        return ReconcileReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


class PaymentReconciler(Service[OrderingUnitOfWork]):
    def __init__(
        self,
        uow: UnitOfWorkFactory[OrderingUnitOfWork],
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
        timings: PaymentTimings,
        refunds: RefundSender,
    ) -> None:
        super().__init__(uow, clock)
        self._gateways = gateways
        self._timings = timings
        self._refunds = refunds

    def run(self, now: datetime | None = None) -> ReconcileReport:
        now = now or self._clock.now()
        report = ReconcileReport()
        while True:
            ids = self._claim(now)
            for payment_id in ids:
                report += self._check(payment_id, now)
            if len(ids) < BATCH:
                return report

    def _claim(self, now: datetime) -> list[str]:
        with self._uow() as uow:
            claimed = uow.payments.claim_due_checks(now, BATCH)
            for payment in claimed:
                payment.check_at = now + LEASE
            uow.commit()
        return [p.id for p in claimed]

    def _check(self, payment_id: str, now: datetime) -> ReconcileReport:
        with self._reader() as uow:
            payment = uow.payments.get(payment_id)
        if payment is None:
            return ReconcileReport()
        if payment.unsent_refunds:
            return ReconcileReport(refunds_sent=self._refunds.send([payment_id]))
        gateway = self._gateways.get(payment.gateway)
        seen: ProviderPayment | None = None
        if payment.is_open and payment.review is None and gateway is not None:
            try:
                seen = gateway.query(PaymentQuery(payment.id, payment.provider_reference, payment.amount))
            except GatewayUnavailable as error:
                log.warning("payment %s not checked, retried later: %s", payment_id, error.detail)
                return ReconcileReport()
        to_send: set[str] = set()
        settled = abandoned = 0
        with self._uow() as uow:
            payment = uow.payments.get(payment_id, lock=True)
            if payment is None:
                return ReconcileReport()
            status = payment.status
            if seen is not None and seen.payment_id == payment.id:
                _, to_send = apply_reports(uow, payment.gateway, [seen], self._timings, now)
                settled = int(payment.status is not status or payment.review is not None)
            if self._timings.gave_up(payment, now):
                payment.cancel("no outcome from the provider in time", now)
                abandoned = 1
            self._timings.reschedule(payment, now)
            uow.commit()
        return ReconcileReport(
            queried=int(seen is not None),
            settled=settled,
            refunds_sent=self._refunds.send(to_send) if to_send else 0,
            abandoned=abandoned,
        )
