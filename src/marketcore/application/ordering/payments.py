"""Paying a checkout: start a payment with a gateway, then settle the orders when it succeeds."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.payments.ports import PaymentGateway
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock
from marketcore.application.shared.services import Service
from marketcore.domain.ordering.orders import Checkout, Order, OrderStatus
from marketcore.domain.payments.payments import Payment, PaymentRequest
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import (
    AlreadyExists,
    Conflict,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
)
from marketcore.domain.shared.money import Money

SANDBOX = "sandbox"


class CheckoutNotPayable(Conflict):
    code = "checkout_not_payable"


class PaymentService(Service[OrderingUnitOfWork]):
    def __init__(
        self,
        uow: Callable[[], OrderingUnitOfWork],
        clock: Clock,
        gateways: Mapping[str, PaymentGateway],
    ) -> None:
        super().__init__(uow, clock)
        self._gateways = gateways

    @property
    def sandbox_enabled(self) -> bool:
        return SANDBOX in self._gateways

    def start(
        self, actor: Actor, checkout_id: str, gateway_code: str, idempotency_key: str | None = None
    ) -> Payment:
        """Start paying every unpaid order of the checkout; an open payment with the same gateway
        is returned again rather than duplicated. A reused idempotency key returns its payment,
        or is refused if it was used for another checkout or gateway."""
        buyer_id = actor.require_user()
        gateway = self._gateways.get(gateway_code)
        if gateway is None or gateway.pays_on_delivery:
            online = sorted(code for code, g in self._gateways.items() if not g.pays_on_delivery)
            raise InvalidInput("gateway", f"one of {', '.join(online)}")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
            raise InvalidInput("Idempotency-Key", "must be 1 to 100 characters")
        try:
            return self._start(buyer_id, checkout_id, gateway, idempotency_key)
        except AlreadyExists:
            if idempotency_key is None:
                raise
            return self._start(buyer_id, checkout_id, gateway, idempotency_key)  # the racing twin won

    def _start(
        self, buyer_id: str, checkout_id: str, gateway: PaymentGateway, idempotency_key: str | None
    ) -> Payment:
        gateway_code = gateway.code
        now = self._clock.now()
        with self._uow() as uow:
            if idempotency_key is not None:
                earlier = uow.payments.get_by_idempotency_key(buyer_id, idempotency_key)
                if earlier is not None:
                    if (earlier.checkout_id, earlier.gateway) != (checkout_id, gateway_code):
                        raise IdempotencyConflict("this Idempotency-Key was used with a different request")
                    return earlier
            checkout = self._checkout(uow, buyer_id, checkout_id)
            due = self._amount_due(checkout, uow.orders.for_checkout(checkout.id))
            for payment in uow.payments.for_checkout(checkout.id):
                if payment.is_open and payment.gateway == gateway_code and payment.amount == due:
                    return payment
            payment = Payment(
                new_id(), checkout_id, buyer_id, gateway_code, due, now, idempotency_key=idempotency_key
            )
            payment.started(
                gateway.create(PaymentRequest(payment.id, checkout.id, due, f"checkout {checkout.id}")), now
            )
            uow.payments.add(payment)
            uow.commit()
        return payment

    def payment(self, actor: Actor, payment_id: str) -> Payment:
        buyer_id = actor.require_user()
        with self._uow() as uow:
            payment = uow.payments.get(payment_id)
        if payment is None or (payment.buyer_id != buyer_id and not actor.is_operator):
            raise NotFound("payment", payment_id)
        return payment

    def complete_sandbox(self, actor: Actor, payment_id: str, succeeded: bool) -> Payment:
        """The sandbox gateway's stand-in for a provider notification."""
        buyer_id = actor.require_user()
        now = self._clock.now()
        with self._uow() as uow:
            payment = uow.payments.get(payment_id)
            if payment is None or payment.buyer_id != buyer_id or payment.gateway != SANDBOX:
                raise NotFound("payment", payment_id)
            if not succeeded:
                payment.fail("declined in the sandbox", now)
                uow.commit()
                return payment
            checkout = self._checkout(uow, buyer_id, payment.checkout_id)
            orders = uow.orders.for_checkout(checkout.id)
            if self._amount_due(checkout, orders) != payment.amount:
                raise CheckoutNotPayable("the orders changed since this payment started; start a new one")
            payment.succeed(now)
            self._settle(uow, orders, now)
            uow.commit()
        return payment

    @staticmethod
    def _settle(uow: OrderingUnitOfWork, orders: list[Order], now: datetime) -> None:
        pending = [o for o in orders if o.status is OrderStatus.PENDING_PAYMENT]
        for order in pending:
            order.mark_paid(now)
        lines = sorted((line.sku_id, line.quantity, o.id) for o in pending for line in o.lines)
        for sku_id, quantity, order_id in lines:
            uow.stock.commit(sku_id, quantity, f"order:{order_id}", now)

    @staticmethod
    def _checkout(uow: OrderingUnitOfWork, buyer_id: str, checkout_id: str) -> Checkout:
        checkout = uow.checkouts.get(checkout_id)
        if checkout is None or checkout.buyer_id != buyer_id:
            raise NotFound("checkout", checkout_id)
        return checkout

    @staticmethod
    def _amount_due(checkout: Checkout, orders: list[Order]) -> Money:
        """What the checkout's orders still awaiting payment add up to (a cancelled one drops out)."""
        pending = [o for o in orders if o.status is OrderStatus.PENDING_PAYMENT]
        if not pending:
            raise CheckoutNotPayable(f"checkout {checkout.id} has no order awaiting payment")
        return Money.sum((o.total for o in pending), checkout.amount_due.currency)
