"""Sending refunds to providers, outside any database transaction.

A refund is first written as pending (with the change that caused it); this sends it afterwards.
If the process dies or the provider cannot be reached in between, the refund stays unsent and the
payment's ``check_at`` brings the worker back to send it again. Every send carries the refund's
id as the provider's idempotency key, so however often it is sent, the money goes back once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.payments.ports import GatewayUnavailable, PaymentGateway
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.payments.payments import RefundAccepted, RefundDeclined, RefundRequest

log = logging.getLogger(__name__)


class RefundSender(Service[OrderingUnitOfWork]):
    def __init__(
        self,
        uow: UnitOfWorkFactory[OrderingUnitOfWork],
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
        timings: PaymentTimings,
    ) -> None:
        super().__init__(uow, clock)
        self._gateways = gateways
        self._timings = timings

    def send(self, payment_ids: Iterable[str]) -> int:
        """Send every unsent refund of these payments; returns how many the providers answered."""
        answered = 0
        for payment_id in sorted(set(payment_ids)):
            with self._reader() as uow:
                payment = uow.payments.get(payment_id)
            if payment is None:
                continue
            gateway = self._gateways.get(payment.gateway)
            if gateway is None:
                log.warning(
                    "refunds of payment %s wait: gateway %s is not enabled", payment_id, payment.gateway
                )
                continue
            for refund in payment.unsent_refunds:
                request = RefundRequest(
                    refund.id, payment.id, payment.provider_reference, refund.amount, refund.reason
                )
                try:
                    outcome = gateway.refund(request)
                except GatewayUnavailable as error:
                    log.warning("refund %s not sent, retried later: %s", refund.id, error.detail)
                    continue
                self._record(payment_id, refund.id, outcome)
                answered += 1
        return answered

    def _record(self, payment_id: str, refund_id: str, outcome: RefundAccepted | RefundDeclined) -> None:
        now = self._clock.now()
        with self._uow() as uow:
            payment = uow.payments.get(payment_id, lock=True)
            if payment is None:
                return
            payment.refund_submitted(refund_id, outcome, now)
            self._timings.reschedule(payment, now)
            uow.commit()
