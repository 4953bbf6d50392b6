"""The payment inbox: provider notifications verified, stored once, then processed idempotently.

``receive`` verifies a notification (a forgery raises ``InvalidNotification`` and nothing is
stored), stores it under ``{gateway}:{event_id}`` in the transaction that applies it, and returns
the reply the provider expects. If applying it fails, it is stored alone, due, and still
acknowledged: the worker (``process_due``) retries it, so a bug or a lost race never makes the
provider's retries our only copy. Duplicates find the message stored and change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.ordering.refunds import RefundSender
from marketcore.application.ordering.reports import apply_reports
from marketcore.application.payments.ports import InvalidNotification, PaymentGateway
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.payments.inbox import InboxMessage
from marketcore.domain.payments.provider import (
    NotificationReply,
    ProviderPayment,
    ProviderRefund,
    RawNotification,
)
from marketcore.domain.shared.errors import AlreadyExists, NotFound

log = logging.getLogger(__name__)

BATCH = 100
RETRY = timedelta(minutes=1)  # a message whose processing failed, or whose worker died, is tried again
MAX_BODY = 1_000_000  # bytes; providers send a few kilobytes
UNKEPT_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})  # no provider signs these


class PaymentInbox(Service[OrderingUnitOfWork]):
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

    def receive(self, gateway_code: str, headers: Mapping[str, str], body: bytes) -> NotificationReply:
        gateway = self._gateways.get(gateway_code)
        if gateway is None:
            raise NotFound("payment gateway", gateway_code)
        if len(body) > MAX_BODY:
            raise InvalidNotification(f"a notification of {len(body)} bytes is not one a provider sends")
        now = self._clock.now()
        raw = RawNotification({k.lower(): v for k, v in headers.items()}, body, now)
        notification = gateway.parse_notification(raw)  # InvalidNotification: nothing stored
        kept = {k: v for k, v in raw.headers.items() if k not in UNKEPT_HEADERS}
        message = InboxMessage.receive(gateway.code, notification.event_id, kept, raw.body, now)
        self._process(message, notification.changes, now)
        return gateway.acknowledgement

    def process_due(self, now: datetime | None = None) -> int:
        """Process messages left due (processing failed or its process died); returns how many."""
        now = now or self._clock.now()
        done = 0
        while True:
            with self._uow() as uow:
                claimed = uow.inbox.claim_due(now, BATCH)
                for message in claimed:
                    message.due_at = now + RETRY  # a lease: another worker skips it until then
                ids = [m.id for m in claimed]
                uow.commit()
            for message_id in ids:
                done += self._retry(message_id, now)
            if len(ids) < BATCH:
                return done

    def message(self, message_id: str) -> InboxMessage | None:
        with self._reader() as uow:
            return uow.inbox.get(message_id)

    def _process(
        self, message: InboxMessage, changes: Sequence[ProviderPayment | ProviderRefund], now: datetime
    ) -> None:
        """Store the message and apply it in one transaction; a redelivery finds it stored and
        changes nothing. If applying fails, the message is stored alone, due for the worker."""
        to_send: set[str] = set()
        try:
            with self._uow() as uow:
                if uow.inbox.get(message.id) is not None:
                    return
                outcome, to_send = apply_reports(uow, message.gateway, changes, self._timings, now)
                message.processed(outcome or ["nothing to act on"], now)
                uow.inbox.add(message)
                uow.commit()
        except Exception as error:
            if isinstance(error, AlreadyExists) and self.message(message.id) is not None:
                return  # the same notification, delivered twice at once: the other copy won
            log.exception("payment notification %s not processed; retried later", message.id)
            self._store_due(message, f"{type(error).__name__}: {error}", now)
            return
        self._refunds.send(to_send)

    def _store_due(self, message: InboxMessage, error: str, now: datetime) -> None:
        message.failed(error, now + RETRY)
        try:
            with self._uow() as uow:
                uow.inbox.add(message)
                uow.commit()
        except AlreadyExists:
            pass  # a racing copy was stored (and maybe processed) first

    def _retry(self, message_id: str, now: datetime) -> int:
        """Process a stored message that is still due; returns 1 if it is now processed."""
        to_send: set[str] = set()
        try:
            with self._uow() as uow:
                message = uow.inbox.get(message_id, lock=True)
                if message is None or message.processed_at is not None:
                    return 0
                gateway = self._gateways.get(message.gateway)
                if gateway is None:
                    return 0  # disabled since: stays due until it is enabled again
                stored = RawNotification(message.headers, message.raw_body, message.received_at)
                changes = gateway.parse_notification(stored).changes
                outcome, to_send = apply_reports(uow, gateway.code, changes, self._timings, now)
                message.processed(outcome or ["nothing to act on"], now)
                uow.commit()
        except Exception as error:  # stored and acknowledged: never lost, tried again later
            log.exception("payment notification %s not processed; retried later", message_id)
            self._failed(message_id, f"{type(error).__name__}: {error}", now)
            return 0
        self._refunds.send(to_send)
        return 1

    def _failed(self, message_id: str, error: str, now: datetime) -> None:
        try:
            with self._uow() as uow:
                message = uow.inbox.get(message_id, lock=True)
                if message is not None and message.processed_at is None:
                    message.failed(error, now + RETRY)
                    uow.commit()
        except Exception:
            log.exception("could not record the failure of payment notification %s", message_id)
