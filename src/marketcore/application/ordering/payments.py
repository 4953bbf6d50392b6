"""Paying a checkout: start a payment with a gateway, then settle the orders when it succeeds."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.payments.ports import PaymentGateway
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.ordering.orders import Checkout, Order, OrderStatus
from marketcore.domain.payments.payments import Payment, PaymentRequest, RefundRequest
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
        uow: UnitOfWorkFactory[OrderingUnitOfWork],
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
            covered = self._awaiting_payment(checkout, uow.orders.for_checkout(checkout.id))
            for payment in uow.payments.for_checkout(checkout.id):
                if payment.is_open and payment.gateway == gateway_code and payment.order_amounts == covered:
                    return payment
            due = Money(sum(covered.values()), checkout.amount_due.currency)
            payment = Payment(
                new_id(),
                checkout_id,
                buyer_id,
                gateway_code,
                due,
                now,
                idempotency_key=idempotency_key,
                order_amounts=covered,
            )
            payment.started(
                gateway.create(PaymentRequest(payment.id, checkout.id, due, f"checkout {checkout.id}")), now
            )
            uow.payments.add(payment)
            uow.commit()
        return payment

    def payment(self, actor: Actor, payment_id: str) -> Payment:
        buyer_id = actor.require_user()
        with self._reader() as uow:
            payment = uow.payments.get(payment_id)
        if payment is None or (payment.buyer_id != buyer_id and not actor.is_operator):
            raise NotFound("payment", payment_id)
        return payment

    def complete_sandbox(self, actor: Actor, payment_id: str, succeeded: bool) -> Payment:
        """The sandbox gateway's stand-in for a provider notification."""
        buyer_id = actor.require_user()
        now = self._clock.now()
        with self._uow() as uow:
            payment = uow.payments.get(payment_id, lock=True)
            if payment is None or payment.buyer_id != buyer_id or payment.gateway != SANDBOX:
                raise NotFound("payment", payment_id)
            if not succeeded:
                payment.fail("declined in the sandbox", now)
                uow.commit()
                return payment
            self._captured(uow, payment, now)
            uow.commit()
        return payment

    def _captured(self, uow: OrderingUnitOfWork, payment: Payment, now: datetime) -> None:
        """The provider took the money. Orders still awaiting payment are paid and their stock
        leaves the shelf; an order closed meanwhile (late payment) or whose deduct-on-payment stock
        is gone is refunded its share automatically, and in the second case closed."""
        payment.succeed(now)
        orders = {
            o.id: o
            for o in uow.orders.for_checkout(payment.checkout_id, lock=True)
            if o.id in payment.order_amounts
        }
        pending = {oid: o for oid, o in orders.items() if o.status is OrderStatus.PENDING_PAYMENT}
        sold_out = self._take_stock(uow, list(pending.values()), now)
        for order_id in sorted(payment.order_amounts):
            order = orders.get(order_id)
            if order is not None and order_id in pending and order_id not in sold_out:
                order.mark_paid(now)
                continue
            if order is not None and order_id in sold_out:
                order.close("system", "out of stock at payment", now)
                reason = "out of stock at payment"
            else:
                reason = "order no longer awaiting payment"
            amount = Money(payment.order_amounts[order_id], payment.amount.currency)
            self._refund(payment, amount, f"{reason} ({order_id})", now)

    @staticmethod
    def _take_stock(uow: OrderingUnitOfWork, orders: list[Order], now: datetime) -> set[str]:
        """Deduct deduct-on-payment lines, then commit or release reserved ones, each pass in SKU
        order. Returns the orders whose stock ran out; their partial deductions are put back."""
        lines = sorted(
            (line.sku_id, line.quantity, o.id, line.holds_stock) for o in orders for line in o.lines
        )
        sold_out: set[str] = set()
        deducted: list[tuple[str, int, str]] = []
        for sku_id, quantity, order_id, holds in lines:
            if holds or order_id in sold_out:
                continue
            if uow.stock.deduct(sku_id, quantity, f"order:{order_id}", now):
                deducted.append((sku_id, quantity, order_id))
            else:
                sold_out.add(order_id)
        for sku_id, quantity, order_id in deducted:
            if order_id in sold_out:
                uow.stock.restock(
                    sku_id, quantity, "deduction undone: order out of stock", f"order:{order_id}", now
                )
        for sku_id, quantity, order_id, holds in lines:
            if not holds:
                continue
            if order_id in sold_out:
                uow.stock.release(sku_id, quantity, f"order:{order_id}", now)
            else:
                uow.stock.commit(sku_id, quantity, f"order:{order_id}", now)
        return sold_out

    def _refund(self, payment: Payment, amount: Money, reason: str, now: datetime) -> None:
        refund = payment.refund(new_id(), amount, reason, now)
        outcome = self._gateways[payment.gateway].refund(
            RefundRequest(refund.id, payment.id, payment.provider_reference, amount, reason)
        )
        payment.refund_settled(refund.id, outcome, now)

    @staticmethod
    def _checkout(uow: OrderingUnitOfWork, buyer_id: str, checkout_id: str) -> Checkout:
        checkout = uow.checkouts.get(checkout_id)
        if checkout is None or checkout.buyer_id != buyer_id:
            raise NotFound("checkout", checkout_id)
        return checkout

    @staticmethod
    def _awaiting_payment(checkout: Checkout, orders: list[Order]) -> dict[str, int]:
        """What each of the checkout's orders still awaiting payment costs (a cancelled one drops out)."""
        pending = {o.id: o.total.amount for o in orders if o.status is OrderStatus.PENDING_PAYMENT}
        if not pending:
            raise CheckoutNotPayable(f"checkout {checkout.id} has no order awaiting payment")
        return pending
