"""Order life after checkout: reading, cancelling (with a refund once paid), shipping, confirming receipt."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from marketcore.application.ordering import coupon_holds
from marketcore.application.ordering.flash_sale_lines import OrderHolds
from marketcore.application.ordering.payment_timing import PaymentTimings
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.ordering.refunds import RefundSender
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, Page, PageRequest, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.application.shops.services import staff_shop
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.ordering.orders import Order, OrderStatus
from marketcore.domain.payments.payments import PaymentStatus
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import ConcurrencyConflict, NotFound


class OrderService(Service[OrderingUnitOfWork]):
    def __init__(
        self,
        uow: UnitOfWorkFactory[OrderingUnitOfWork],
        clock: Clock,
        receipt_window: timedelta,
        receipt_extension: timedelta,
        timings: PaymentTimings,
        refunds: RefundSender,
    ) -> None:
        super().__init__(uow, clock)
        self._receipt_window = receipt_window
        self._receipt_extension = receipt_extension
        self._timings = timings
        self._refunds = refunds

    def buyer_orders(self, actor: Actor, status: OrderStatus | None, page: PageRequest) -> Page[Order]:
        buyer_id = actor.require_user()
        with self._reader() as uow:
            return uow.orders.for_buyer(buyer_id, status, page)

    def shop_orders(
        self, actor: Actor, shop_id: str, status: OrderStatus | None, page: PageRequest
    ) -> Page[Order]:
        with self._reader() as uow:
            staff_shop(uow.shops, actor, shop_id)
            return uow.orders.for_shop(shop_id, status, page)

    def order(self, actor: Actor, order_id: str) -> Order:
        """The buyer, the shop's staff and operators see an order; to anyone else it does not exist."""
        with self._reader() as uow:
            order = uow.orders.get(order_id)
            if order is None:
                raise NotFound("order", order_id)
            if actor.user_id == order.buyer_id or actor.is_operator:
                return order
            shop = uow.shops.get(order.shop_id)
            if shop is None or actor.user_id is None or not shop.has_staff(actor.user_id):
                raise NotFound("order", order_id)
            return order

    def cancel(self, actor: Actor, order_id: str, reason: str = "cancelled by buyer") -> Order:
        """Close an order before shipment. An unpaid one releases its reserved stock and returns
        its coupons; a paid one puts the units it took back on the shelf and its share of the
        payment is refunded (its coupons stay used)."""
        buyer_id = actor.require_user()
        now = self._clock.now()
        with self._uow() as uow:
            order = uow.orders.get(order_id)
            if order is None or order.buyer_id != buyer_id:
                raise NotFound("order", order_id)
            # Lock the payment before the order, as capture does, so the two never deadlock.
            payment = next(
                (
                    p
                    for p in uow.payments.for_checkout(order.checkout_id)
                    if p.status is PaymentStatus.SUCCEEDED and order.id in p.order_amounts
                ),
                None,
            )
            if payment is not None:
                payment = uow.payments.get(payment.id, lock=True)
            order = self._buyer_order(uow, buyer_id, order_id)
            if order.is_paid and payment is None:
                raise ConcurrencyConflict("the order was paid meanwhile; try again")
            holds, taken = OrderHolds.of([order]), order.taken_quantities()
            unpaid = not order.is_paid
            coupons = coupon_holds.hold(uow, [order]) if unpaid else {}
            order.cancel(buyer_id, reason, now)
            if unpaid:
                coupon_holds.give_back(uow, coupons, [order], now)
            holds.release(uow, now)  # flash-sale units back to their sale, the rest to stock
            for sku_id in sorted(taken):
                uow.stock.restock(
                    sku_id, taken[sku_id], "order cancelled after payment", f"order:{order.id}", now
                )
            if payment is not None and order.is_paid:
                refundable = payment.refundable_for(order.id)
                if refundable.amount:
                    payment.refund(
                        new_id(), refundable, reason, now, order_id=order.id, requested_by=buyer_id
                    )
                self._timings.reschedule(payment, now)
            uow.commit()
        if payment is not None:
            self._refunds.send([payment.id])
        return order

    def confirm_receipt(self, actor: Actor, order_id: str) -> Order:
        buyer_id = actor.require_user()
        with self._uow() as uow:
            order = self._buyer_order(uow, buyer_id, order_id)
            order.confirm_receipt(buyer_id, self._clock.now())
            uow.commit()
        return order

    def ship(
        self,
        actor: Actor,
        shop_id: str,
        order_id: str,
        carrier_code: str,
        tracking_no: str,
        quantities: Mapping[str, int] | None = None,
    ) -> Order:
        """Ship some or all lines. Cash-on-delivery stock leaves the ledger here, as it is unpaid."""
        now = self._clock.now()
        with self._uow() as uow:
            staff_shop(uow.shops, actor, shop_id)
            order = uow.orders.get(order_id, lock=True)
            if order is None or order.shop_id != shop_id:
                raise NotFound("order", order_id)
            shipment = order.ship(
                new_id(), carrier_code, tracking_no, quantities, str(actor.user_id), now, self._receipt_window
            )
            if not order.is_paid:
                lines = sorted((order.line(item.order_line_id), item.quantity) for item in shipment.lines)
                for line, quantity in lines:
                    if line.holds_stock:
                        uow.stock.commit(line.sku_id, quantity, f"order:{order.id}", now)
                    elif not uow.stock.deduct(line.sku_id, quantity, f"order:{order.id}", now):
                        raise InsufficientStock(f"not enough stock to ship sku {line.sku_id}")
            uow.commit()
        return order

    def extend_receipt(self, actor: Actor, order_id: str) -> Order:
        """Push automatic completion back once (default three days)."""
        buyer_id = actor.require_user()
        with self._uow() as uow:
            order = self._buyer_order(uow, buyer_id, order_id)
            order.extend_receipt(buyer_id, self._receipt_extension, self._clock.now())
            uow.commit()
        return order

    @staticmethod
    def _buyer_order(uow: OrderingUnitOfWork, buyer_id: str, order_id: str) -> Order:
        order = uow.orders.get(order_id, lock=True)
        if order is None or order.buyer_id != buyer_id:
            raise NotFound("order", order_id)
        return order
