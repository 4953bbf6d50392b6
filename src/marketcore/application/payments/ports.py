"""Payments ports: the gateway strategy and the payment repository."""

from __future__ import annotations

from typing import ClassVar, Protocol

from marketcore.application.shared.ports import UnitOfWork
from marketcore.domain.payments.payments import (
    Payment,
    PaymentDeclined,
    PaymentRequest,
    PaymentStarted,
    RefundAccepted,
    RefundDeclined,
    RefundRequest,
)


class PaymentGateway(Protocol):
    """A payment provider, registered under its stable ``code``.

    Expected outcomes (declined, requires action) are returned values; infrastructure failures
    raise. Real providers (Stripe, Alipay, WeChat Pay) add query, refund and notification parsing.
    """

    code: ClassVar[str]
    pays_on_delivery: ClassVar[bool]

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined: ...

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined: ...


class PaymentRepository(Protocol):
    def get(self, payment_id: str, *, lock: bool = False) -> Payment | None: ...

    def add(self, payment: Payment) -> None: ...

    def for_checkout(self, checkout_id: str) -> list[Payment]: ...

    def get_by_idempotency_key(self, buyer_id: str, key: str) -> Payment | None: ...


class PaymentsUnitOfWork(UnitOfWork, Protocol):
    payments: PaymentRepository
