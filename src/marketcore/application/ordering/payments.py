"""Paying a checkout and giving money back: start a payment with a gateway, refunds, cash on delivery.

Providers are never called inside a database transaction: a payment is written first, created at
the provider after commit (idempotently, keyed by its id), and the answer saved in a second
transaction; refunds are written pending and sent after commit by ``RefundSender``.
"""

from __future__ import annotations

from collections.abc import Mapping

from marketcore.application.ordering import coupon_holds
from marketcore.application.ordering.capture import refund_order
from marketcore.application.ordering.inbox import PaymentInbox
from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.ordering.refunds import RefundSender
from marketcore.application.payments.ports import PaymentGateway, SimulatedPayments
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, Page, PageRequest, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.application.shops.services import staff_shop
from marketcore.domain.ordering.orders import Checkout, Order, OrderStatus
from marketcore.domain.payments.payments import Payment, PaymentNotRefundable, PaymentRequest, Refund
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
        timings: PaymentTimings,
        refunds: RefundSender,
        inbox: PaymentInbox,
    ) -> None:
        super().__init__(uow, clock)
        self._gateways = gateways
        self._timings = timings
        self._refunds = refunds
        self._inbox = inbox

    @property
    def sandbox_enabled(self) -> bool:
        return SANDBOX in self._gateways

    @property
    def gateway_codes(self) -> list[str]:
        return sorted(self._gateways)

    def start(
        self, actor: Actor, checkout_id: str, gateway_code: str, idempotency_key: str | None = None
    ) -> Payment:
        """Start paying every unpaid order of the checkout; an open payment with the same gateway
        for the same orders is returned again rather than duplicated. A reused idempotency key
        returns its payment, or is refused if it was used for another checkout or gateway."""
        buyer_id = actor.require_user()
        gateway = self._gateways.get(gateway_code)
        if gateway is None or gateway.pays_on_delivery:
            online = sorted(code for code, g in self._gateways.items() if not g.pays_on_delivery)
            raise InvalidInput("gateway", f"one of {', '.join(online)}")
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
            raise InvalidInput("Idempotency-Key", "must be 1 to 100 characters")
        try:
            payment, request = self._open(buyer_id, checkout_id, gateway, idempotency_key)
        except AlreadyExists:
            # A racing twin (same key, or same checkout and gateway) committed first: take its payment.
            payment, request = self._open(buyer_id, checkout_id, gateway, idempotency_key)
        if request is None:
            return payment
        outcome = gateway.create(request)  # GatewayUnavailable: the payment stays open, a retry resumes
        now = self._clock.now()
        with self._uow() as uow:
            saved = uow.payments.get(payment.id, lock=True)
            if saved is None:
                raise NotFound("payment", payment.id)
            saved.started(outcome, now)
            self._timings.reschedule(saved, now)
            uow.commit()
        return saved

    def _open(
        self, buyer_id: str, checkout_id: str, gateway: PaymentGateway, idempotency_key: str | None
    ) -> tuple[Payment, PaymentRequest | None]:
        """The payment to continue with, and the provider request still to make for it (None when
        the provider already answered for it)."""
        now = self._clock.now()
        with self._uow() as uow:
            payment = self._existing(uow, buyer_id, checkout_id, gateway.code, idempotency_key)
            if payment is None:
                checkout = self._checkout(uow, buyer_id, checkout_id)
                orders = [
                    o for o in uow.orders.for_checkout(checkout.id) if o.status is OrderStatus.PENDING_PAYMENT
                ]
                if not orders:
                    raise CheckoutNotPayable(f"checkout {checkout.id} has no order awaiting payment")
                covered = {o.id: o.total.amount for o in orders}
                for open_payment in uow.payments.for_checkout(checkout.id):
                    if open_payment.is_open and open_payment.gateway == gateway.code:
                        if open_payment.order_amounts == covered:
                            payment = open_payment
                            break
                        open_payment.cancel("superseded: the checkout's unpaid orders changed", now)
                        self._timings.reschedule(open_payment, now)
                if payment is None:
                    payment = Payment(
                        new_id(),
                        checkout_id,
                        buyer_id,
                        gateway.code,
                        Money(sum(covered.values()), checkout.amount_due.currency),
                        now,
                        idempotency_key=idempotency_key,
                        order_amounts=covered,
                    )
                    self._timings.reschedule(payment, now)
                    uow.payments.add(payment)
                    deadline = min((o.payment_deadline for o in orders if o.payment_deadline), default=None)
                    request = PaymentRequest(
                        payment.id, checkout_id, payment.amount, f"checkout {checkout_id}", deadline
                    )
                    uow.commit()
                    return payment, request
                uow.commit()
            if payment.is_open and payment.provider_reference is None:
                # Written, but the provider's answer never saved (it failed or the process died): ask again.
                return payment, PaymentRequest(
                    payment.id, payment.checkout_id, payment.amount, f"checkout {payment.checkout_id}"
                )
            return payment, None

    @staticmethod
    def _existing(
        uow: OrderingUnitOfWork, buyer_id: str, checkout_id: str, gateway: str, key: str | None
    ) -> Payment | None:
        if key is None:
            return None
        earlier = uow.payments.get_by_idempotency_key(buyer_id, key)
        if earlier is not None and (earlier.checkout_id, earlier.gateway) != (checkout_id, gateway):
            raise IdempotencyConflict("this Idempotency-Key was used with a different request")
        return earlier

    def payment(self, actor: Actor, payment_id: str) -> Payment:
        buyer_id = actor.require_user()
        with self._reader() as uow:
            payment = uow.payments.get(payment_id)
        if payment is None or (payment.buyer_id != buyer_id and not actor.is_operator):
            raise NotFound("payment", payment_id)
        return payment

    def checkout_payments(self, actor: Actor, checkout_id: str) -> list[Payment]:
        """Every payment of a checkout, oldest first: its buyer's and operators' to see."""
        user_id = actor.require_user()
        with self._reader() as uow:
            checkout = uow.checkouts.get(checkout_id)
            if checkout is None or (checkout.buyer_id != user_id and not actor.is_operator):
                raise NotFound("checkout", checkout_id)
            return uow.payments.for_checkout(checkout_id)

    def flagged(self, actor: Actor, page: PageRequest) -> Page[Payment]:
        """Payments an operator must review (a provider reported another amount or currency)."""
        actor.require_operator()
        with self._reader() as uow:
            return uow.payments.flagged(page)

    def complete_sandbox(self, actor: Actor, payment_id: str, succeeded: bool) -> Payment:
        """Play the sandbox's buyer: the sandbox answers with the notification a provider would
        send, which goes through the inbox like any other."""
        buyer_id = actor.require_user()
        sandbox = self._gateways.get(SANDBOX)
        with self._reader() as uow:
            payment = uow.payments.get(payment_id)
        if (
            payment is None
            or payment.buyer_id != buyer_id
            or payment.gateway != SANDBOX
            or not isinstance(sandbox, SimulatedPayments)
        ):
            raise NotFound("payment", payment_id)
        raw = sandbox.settle(payment_id, payment.amount, succeeded)
        self._inbox.receive(SANDBOX, raw.headers, raw.body)
        return self.payment(actor, payment_id)

    def refund(
        self,
        actor: Actor,
        payment_id: str,
        amount: int,
        reason: str,
        order_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """An operator gives back part or all of what a payment captured, against one of its
        orders (which may be omitted when it paid only one). A retry with the same idempotency key
        returns the first refund; the same key for another refund is refused."""
        operator = actor.require_operator()
        if idempotency_key is not None and not 1 <= len(idempotency_key) <= 100:
            raise InvalidInput("Idempotency-Key", "must be 1 to 100 characters")
        if not reason.strip() or len(reason) > 200:
            raise InvalidInput("reason", "1 to 200 characters")
        now = self._clock.now()
        with self._uow() as uow:
            payment = uow.payments.get(payment_id, lock=True)
            if payment is None:
                raise NotFound("payment", payment_id)
            gateway = self._gateways.get(payment.gateway)
            if gateway is not None and gateway.pays_on_delivery:
                raise PaymentNotRefundable("cash on delivery is refunded by the shop, in cash")
            if order_id is None:
                if len(payment.order_amounts) != 1:
                    raise InvalidInput("order_id", "required: this payment paid several orders")
                order_id = next(iter(payment.order_amounts))
            if idempotency_key is not None:
                earlier = payment.refund_by_key(idempotency_key)
                if earlier is not None:
                    if (earlier.amount.amount, earlier.order_id) != (amount, order_id):
                        raise IdempotencyConflict("this Idempotency-Key was used for another refund")
                    return earlier
            order = uow.orders.get(order_id, lock=True)
            if order is None or order_id not in payment.order_amounts:
                raise InvalidInput("order_id", "this payment did not pay that order")
            money = Money(amount, payment.amount.currency)
            refund = refund_order(uow, payment, order, money, reason.strip(), operator, now, idempotency_key)
            self._timings.reschedule(payment, now)
            uow.commit()
        self._refunds.send([payment_id])
        return next(r for r in self.payment(actor, payment_id).refunds if r.id == refund.id)

    def collect_on_delivery(self, actor: Actor, shop_id: str, order_id: str) -> Payment:
        """The shop (or its carrier's remittance) records the cash taken at the door: a succeeded
        cash-on-delivery payment for the order, which marks it paid and uses its coupons."""
        now = self._clock.now()
        with self._uow() as uow:
            if not actor.is_operator:  # operators record carriers' remittances
                staff_shop(uow.shops, actor, shop_id)
            order = self._cod_order(uow, shop_id, order_id)
            order.collected_on_delivery(str(actor.user_id), now)
            coupon_holds.use(coupon_holds.hold(uow, [order]), [order], now)
            payment = Payment(
                new_id(),
                order.checkout_id,
                order.buyer_id,
                order.payment_method,
                order.total,
                now,
                provider_reference=f"cod_{order.id}",
                order_amounts={order.id: order.total.amount},
            )
            payment.succeed(now)
            uow.payments.add(payment)
            uow.commit()
        return payment

    def refuse_on_delivery(self, actor: Actor, shop_id: str, order_id: str, reason: str) -> Order:
        """The buyer refused a cash-on-delivery parcel: the order closes, the goods return to stock
        and its coupons to the buyer."""
        now = self._clock.now()
        with self._uow() as uow:
            staff_shop(uow.shops, actor, shop_id)
            order = self._cod_order(uow, shop_id, order_id)
            coupons = coupon_holds.hold(uow, [order])
            returned = order.refused_on_delivery(str(actor.user_id), reason, now)
            coupon_holds.give_back(uow, coupons, [order], now)
            for sku_id in sorted(returned):
                uow.stock.restock(sku_id, returned[sku_id], "refused on delivery", f"order:{order.id}", now)
            uow.commit()
        return order

    def _cod_order(self, uow: OrderingUnitOfWork, shop_id: str, order_id: str) -> Order:
        order = uow.orders.get(order_id, lock=True)
        if order is None or order.shop_id != shop_id:
            raise NotFound("order", order_id)
        gateway = self._gateways.get(order.payment_method)
        if gateway is None or not gateway.pays_on_delivery:
            raise InvalidInput("order_id", "not a cash-on-delivery order")
        return order

    @staticmethod
    def _checkout(uow: OrderingUnitOfWork, buyer_id: str, checkout_id: str) -> Checkout:
        checkout = uow.checkouts.get(checkout_id)
        if checkout is None or checkout.buyer_id != buyer_id:
            raise NotFound("checkout", checkout_id)
        return checkout
