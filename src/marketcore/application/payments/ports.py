"""Payments ports: the gateway strategy and the payment repository."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

from marketcore.application.shared.ports import Page, PageRequest, UnitOfWork
from marketcore.domain.payments.inbox import InboxMessage
from marketcore.domain.payments.payments import (
    Payment,
    PaymentDeclined,
    PaymentRequest,
    PaymentStarted,
    RefundAccepted,
    RefundDeclined,
    RefundRequest,
)
from marketcore.domain.payments.provider import (
    Notification,
    NotificationReply,
    PaymentQuery,
    ProviderPayment,
    RawNotification,
)
from marketcore.domain.shared.errors import MarketcoreError
from marketcore.domain.shared.money import Money


class GatewayUnavailable(MarketcoreError):
    """The provider could not be reached or answered with an error that is not a business
    outcome (5xx, timeout, bad signature on its response). The operation may be retried."""

    code = "gateway_unavailable"


class InvalidNotification(MarketcoreError):
    """A notification that fails verification (signature, timestamp, decryption) or cannot be
    parsed. Nothing in it is trusted or stored."""

    code = "invalid_notification"


class PaymentGateway(Protocol):
    """A payment provider, registered under its stable ``code``.

    Expected outcomes (declined, requires action) are returned values; infrastructure failures
    raise ``GatewayUnavailable``. Every call is idempotent at the provider: ``create`` keyed by
    the payment id, ``refund`` by the refund id, so a retry after a timeout never charges or
    refunds twice.
    """

    code: ClassVar[str]
    pays_on_delivery: ClassVar[bool]
    acknowledgement: ClassVar[NotificationReply]  # the reply once a notification is accepted

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined: ...

    def query(self, query: PaymentQuery) -> ProviderPayment: ...

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined: ...

    def parse_notification(self, raw: RawNotification) -> Notification:
        """Verify and normalise a callback; raises ``InvalidNotification`` if it is not genuine."""
        ...


@runtime_checkable
class SimulatedPayments(Protocol):
    """A gateway whose buyer is simulated (the sandbox): it settles a payment on request and
    answers with the notification a real provider would send, for the inbox to process."""

    def settle(self, payment_id: str, amount: Money, succeeded: bool) -> RawNotification: ...


class PaymentRepository(Protocol):
    def get(self, payment_id: str, *, lock: bool = False) -> Payment | None: ...

    def add(self, payment: Payment) -> None: ...

    def for_checkout(self, checkout_id: str) -> list[Payment]: ...

    def get_by_idempotency_key(self, buyer_id: str, key: str) -> Payment | None: ...

    def claim_due_checks(self, now: datetime, limit: int) -> list[Payment]:
        """Payments whose ``check_at`` has passed, locked; rows another worker holds are skipped."""
        ...

    def flagged(self, page: PageRequest) -> Page[Payment]:
        """Payments waiting for an operator's review."""
        ...


class InboxRepository(Protocol):
    def get(self, message_id: str, *, lock: bool = False) -> InboxMessage | None: ...

    def add(self, message: InboxMessage) -> None:
        """Raises ``AlreadyExists`` (at the latest on commit) if the message is already stored."""
        ...

    def claim_due(self, now: datetime, limit: int) -> list[InboxMessage]:
        """Messages still to process, locked; rows another worker holds are skipped."""
        ...


class PaymentsUnitOfWork(UnitOfWork, Protocol):
    payments: PaymentRepository
    inbox: InboxRepository
