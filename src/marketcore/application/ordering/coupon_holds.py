"""The coupons a checkout holds, from checkout to payment or closing, inside the caller's transaction.

A checkout locks the coupons that applied (``Coupon.lock``). They become used when the checkout
is paid, once however many shop orders it was split into, and return to the buyer when its
orders close unpaid: a shop coupon when its shop's order closes, the platform coupon when every
order of the checkout has closed and none was paid (docs/decisions.md). Every order carries the
coupon ids that concern it (``Order.coupon_ids``), so orders without coupons cost nothing here.

Lock order, as everywhere: orders, then coupons (``hold``, in id order), then stock rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.domain.ordering.orders import Order, OrderStatus
from marketcore.domain.promotions.coupons import Coupon, CouponNotUsable, CouponStatus
from marketcore.domain.shared.errors import InvalidInput

MAX_CHOSEN = 20  # coupons a buyer may name for one checkout (one per shop and one platform's)


def check_ids(coupon_ids: Sequence[str]) -> tuple[str, ...]:
    """The shape of a coupon choice: at most ``MAX_CHOSEN`` distinct ids."""
    if isinstance(coupon_ids, str) or len(coupon_ids) > MAX_CHOSEN:
        raise InvalidInput("coupon_ids", f"a list of at most {MAX_CHOSEN} coupon ids")
    for index, coupon_id in enumerate(coupon_ids):
        if not isinstance(coupon_id, str) or not 1 <= len(coupon_id) <= 64:
            raise InvalidInput(f"coupon_ids[{index}]", "a coupon id")
        if coupon_id in coupon_ids[:index]:
            raise InvalidInput(f"coupon_ids[{index}]", "listed twice")
    return tuple(coupon_ids)


def chosen(
    uow: OrderingUnitOfWork, buyer_id: str, coupon_ids: Sequence[str], at: datetime, *, lock: bool
) -> list[Coupon]:
    """The buyer's coupons ``coupon_ids`` in the order given, checked: their own, usable at
    ``at``, at most one per shop and one platform coupon. ``lock`` (checkout) holds them."""
    coupon_ids = check_ids(coupon_ids)
    if not coupon_ids:
        return []
    found = uow.coupons.get_many(coupon_ids, lock=lock)
    coupons: list[Coupon] = []
    owners: dict[str | None, int] = {}
    for index, coupon_id in enumerate(coupon_ids):
        field = f"coupon_ids[{index}]"
        coupon = found.get(coupon_id)
        if coupon is None or coupon.buyer_id != buyer_id:
            raise InvalidInput(field, "no such coupon")  # another buyer's does not exist for this one
        if coupon.status is not CouponStatus.AVAILABLE:
            raise CouponNotUsable(f"{field}: coupon {coupon_id} is {coupon.status}")
        if not coupon.is_valid(at):
            raise CouponNotUsable(f"{field}: coupon {coupon_id} is not valid now")
        if coupon.shop_id in owners:
            whose = "the platform" if coupon.shop_id is None else f"shop {coupon.shop_id}"
            raise InvalidInput(field, f"a second coupon for {whose} (coupon_ids[{owners[coupon.shop_id]}])")
        owners[coupon.shop_id] = index
        coupons.append(coupon)
    return coupons


def lock_applied(
    coupons: Iterable[Coupon], applied: Iterable[str], checkout_id: str, at: datetime
) -> list[str]:
    """Lock the coupons that applied for ``checkout_id`` (the others stay the buyer's); their ids."""
    wanted = set(applied)
    locked = []
    for coupon in sorted(coupons, key=lambda c: c.id):
        if coupon.id in wanted:
            coupon.lock(checkout_id, at)
            locked.append(coupon.id)
    return locked


def order_coupons(locked: Iterable[Coupon], shop_id: str) -> list[str]:
    """The locked coupons that concern the order of ``shop_id``: its shop's and the platform's."""
    return sorted(c.id for c in locked if c.shop_id is None or c.shop_id == shop_id)


def hold(uow: OrderingUnitOfWork, orders: Iterable[Order]) -> dict[str, Coupon]:
    """Lock the coupons that concern ``orders`` (already locked): none, and no statement, when
    they have none. Call before touching stock rows."""
    wanted = sorted({coupon_id for order in orders for coupon_id in order.coupon_ids})
    return uow.coupons.get_many(wanted, lock=True) if wanted else {}


def use(held: Mapping[str, Coupon], paid: Iterable[Order], at: datetime) -> None:
    """``paid`` orders have just been paid: the coupons their checkout still holds are used."""
    for order in paid:
        for coupon_id in order.coupon_ids:
            coupon = held.get(coupon_id)
            if _held_by(coupon, order.checkout_id):
                assert coupon is not None
                coupon.use(order.checkout_id, at)


def give_back(
    uow: OrderingUnitOfWork, held: Mapping[str, Coupon], closed: Iterable[Order], at: datetime
) -> None:
    """``closed`` orders have just closed unpaid: their shop's coupon returns to the buyer, and
    the platform coupon too once no order of the checkout is open or paid. Reads the checkout's
    other orders after ``hold`` locked the coupon, so of two orders closing concurrently the
    second to commit sees the first closed."""
    for order in closed:
        for coupon_id in order.coupon_ids:
            coupon = held.get(coupon_id)
            if not _held_by(coupon, order.checkout_id):
                continue
            assert coupon is not None
            if coupon.shop_id is None and not _all_closed_unpaid(uow, order.checkout_id):
                continue
            if coupon.shop_id is None or coupon.shop_id == order.shop_id:
                coupon.release(order.checkout_id, at)


def _held_by(coupon: Coupon | None, checkout_id: str) -> bool:
    return coupon is not None and coupon.status is CouponStatus.LOCKED and coupon.checkout_id == checkout_id


def _all_closed_unpaid(uow: OrderingUnitOfWork, checkout_id: str) -> bool:
    return all(o.status is OrderStatus.CLOSED and not o.is_paid for o in uow.orders.for_checkout(checkout_id))
