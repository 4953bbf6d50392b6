"""What money changing hands does to orders and stock, inside the caller's transaction.

Lock order: the payment is locked before its orders, and orders before stock rows, in every use
case that touches more than one of them, so concurrent transactions never deadlock.
No provider is called here: refunds are only opened, and ``RefundSender`` sends them after commit.
"""

from __future__ import annotations

from datetime import datetime

from marketcore.application.ordering import coupon_holds
from marketcore.application.ordering.flash_sale_lines import OrderHolds, lock_sales
from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.application.shared.ids import new_id
from marketcore.domain.ordering.orders import Order, OrderStatus
from marketcore.domain.payments.payments import Payment, Refund
from marketcore.domain.shared.money import Money


def settle_capture(uow: OrderingUnitOfWork, payment: Payment, now: datetime) -> None:
    """The provider took the money (``payment`` has just succeeded, locked). Orders still awaiting
    payment are paid and their stock leaves the shelf; an order closed meanwhile (late payment) or
    whose deduct-on-payment stock is gone is refunded its share automatically, and in the second
    case closed. The coupons of the orders paid are used; those of orders closed here return."""
    orders = {
        o.id: o
        for o in uow.orders.for_checkout(payment.checkout_id, lock=True)
        if o.id in payment.order_amounts
    }
    pending = {oid: o for oid, o in orders.items() if o.status is OrderStatus.PENDING_PAYMENT}
    coupons = coupon_holds.hold(uow, pending.values())
    # Only an order with a deduct-on-payment line can run out here; if it also took flash-sale
    # quota, lock those sales now, before any stock row (the lock order), to give the quota back.
    exposed = [
        o for o in pending.values() if o.flash_sale_holds() and not all(li.holds_stock for li in o.lines)
    ]
    lock_sales(uow, OrderHolds.of(exposed, flash_only=True).flash_sale_ids)
    sold_out = take_stock(uow, list(pending.values()), now)
    OrderHolds.of([pending[o] for o in sorted(sold_out)], flash_only=True).reclaim(uow, now)
    for order_id in sorted(payment.order_amounts):
        order = orders.get(order_id)
        if order is not None and order_id in pending and order_id not in sold_out:
            order.mark_paid(now)
            coupon_holds.use(coupons, [order], now)
            continue
        if order is not None and order_id in sold_out:
            order.close("system", "out of stock at payment", now)
            coupon_holds.give_back(uow, coupons, [order], now)
            reason = "out of stock at payment"
        else:
            reason = "order no longer awaiting payment"
        amount = Money(payment.order_amounts[order_id], payment.amount.currency)
        payment.refund(new_id(), amount, reason, now, order_id=order_id)


def take_stock(uow: OrderingUnitOfWork, orders: list[Order], now: datetime) -> set[str]:
    """Deduct deduct-on-payment lines, then commit or release reserved ones, each pass in SKU
    order. Returns the orders whose stock ran out; their partial deductions are put back and
    their holds released (flash-sale units included: ``OrderHolds.reclaim`` returns those)."""
    lines = sorted((line.sku_id, line.quantity, o.id, line.holds_stock) for o in orders for line in o.lines)
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


def refund_order(
    uow: OrderingUnitOfWork,
    payment: Payment,
    order: Order,
    amount: Money,
    reason: str,
    actor: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> Refund:
    """Open a refund of part or all of ``order``'s share (``payment`` and ``order`` locked, in that
    order). An order refunded in full closes; the units it took and has not shipped go back to stock."""
    refund = payment.refund(
        new_id(), amount, reason, now, order_id=order.id, requested_by=actor, idempotency_key=idempotency_key
    )
    if payment.refundable_for(order.id).amount == 0:
        returned = order.refunded_in_full(actor, now)
        for sku_id in sorted(returned):
            uow.stock.restock(sku_id, returned[sku_id], "order refunded in full", f"order:{order.id}", now)
    return refund
