"""Flash sales in checkout and in orders closing unpaid, kept apart from the ordinary path.

Quote: SKUs whose product carries a flash-sale mark (``Sku.flash_sale_until``) are the only ones
looked up, so a checkout without one costs no statement more. Their running sales go to the
engine as step-1 prices (``as_promotion(remaining=...)``) with what the buyer bought already.

Place: while a sale of a SKU runs, checkout sells that SKU only through the sale: a line the
engine could not give the sale price (limit reached, sold out) is refused with a ``Conflict``
naming the SKU rather than sold from ordinary stock. Each sale is locked (id order), its quota
taken with one ``PromotionCounters.take``, and the line's units handed from the sale's set-aside
to the checkout (``StockLedger.transfer``, no statement). Its order must be paid within the
sale's payment window.

Close: an unpaid order's flash-sale units go back to their sale (quota and set-aside) while the
sale still holds stock, otherwise to ordinary stock; the rest of its hold is released as before.
Lock order everywhere: orders, then sales (id order), counters, stock rows (SKU order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from marketcore.application.ordering.ports import OrderingUnitOfWork
from marketcore.domain.catalog.products import Product
from marketcore.domain.ordering.orders import Order
from marketcore.domain.promotions.flash_sales import (
    FlashSale,
    FlashSaleLimitReached,
    FlashSaleNotRunning,
    FlashSaleSoldOut,
    QuotaTake,
)
from marketcore.domain.promotions.kinds import FlashSalePrice
from marketcore.domain.promotions.pricing import PricingResult, PromotionTerms
from marketcore.domain.promotions.rules import Reason
from marketcore.domain.shared.errors import Conflict, InvalidInput


@attrs.frozen
class FlashSaleOffers:
    """The running flash sales of a quote's SKUs, as the engine takes them."""

    by_sku: Mapping[str, FlashSale] = attrs.field(factory=dict)
    bought: Mapping[str, int] = attrs.field(factory=dict)  # BuyerContext.flash_sale_bought
    promotions: tuple[PromotionTerms, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.by_sku)


NO_OFFERS = FlashSaleOffers()


def offers_for(
    uow: OrderingUnitOfWork, buyer_id: str, products: Mapping[str, Product], at: datetime
) -> FlashSaleOffers:
    """Two statements when a SKU is marked, none otherwise."""
    marked = [sku_id for sku_id, product in products.items() if product.sku(sku_id).may_have_flash_sale(at)]
    if not marked:
        return NO_OFFERS
    sales = uow.flash_sales.running_for_skus(marked, at)
    if not sales:
        return NO_OFFERS
    counts = uow.promotion_counters.quota_counts([s.id for s in sales], buyer_id)
    return FlashSaleOffers(
        {s.sku_id: s for s in sales},
        {s.id: counts[s.id].bought for s in sales},
        tuple(s.as_promotion(remaining=s.unsold(counts[s.id].sold)) for s in sales),
    )


class _Quoted(Protocol):
    @property
    def pricing(self) -> PricingResult: ...


@attrs.frozen
class FlashSaleTakes:
    """The lines of a checkout that took flash-sale quota: SKU -> (sale, units)."""

    lines: Mapping[str, tuple[FlashSale, int]] = attrs.field(factory=dict)

    def ordinary(self, quantities: Mapping[str, int]) -> dict[str, int]:
        """The quantities the ordinary stock path still handles."""
        return {sku_id: n for sku_id, n in quantities.items() if sku_id not in self.lines}

    def hold_stock(self, uow: OrderingUnitOfWork, reference: str, now: datetime) -> None:
        for sku_id in sorted(self.lines):
            sale, quantity = self.lines[sku_id]
            uow.stock.transfer(sku_id, quantity, sale.stock_reference, reference, now)

    def mark(self, orders: Iterable[Order], now: datetime) -> None:
        for order in orders:
            for line in order.lines:
                if line.sku_id in self.lines:
                    sale = self.lines[line.sku_id][0]
                    order.mark_flash_sale_line(line.id, sale.id, sale.payment_deadline(now))


NO_TAKES = FlashSaleTakes()


def take_quota(
    uow: OrderingUnitOfWork,
    buyer_id: str,
    offers: FlashSaleOffers,
    quote: _Quoted,
    pays_on_delivery: bool,
    now: datetime,
) -> FlashSaleTakes:
    """Take the quota of every flash-sale line (sales locked and taken in id order), or refuse."""
    if not offers:
        return NO_TAKES
    wanted: dict[str, tuple[str, int]] = {}  # sale id -> (sku, units)
    for shop in quote.pricing.shops:
        for priced in shop.lines:
            sku_id = priced.line.sku_id
            sale = offers.by_sku.get(sku_id)
            if sale is None:
                continue
            source = priced.price_source
            if source is not None and source.kind == FlashSalePrice.code:
                wanted[source.promotion_id] = (sku_id, priced.line.quantity)
                continue
            refusal = next(
                (s for s in shop.skipped if s.promotion_id == sale.id and s.line_key == priced.line.key), None
            )
            if refusal is not None and refusal.reason == Reason.PURCHASE_LIMIT_EXCEEDED:
                raise FlashSaleLimitReached(f"sku {sku_id}: {refusal.detail}")
            if refusal is not None and refusal.reason == Reason.SOLD_OUT:
                raise FlashSaleSoldOut(f"sku {sku_id}: the flash sale is sold out")
            # Otherwise a lower price (a member price) won: an ordinary line at that price.
    if not wanted:
        return NO_TAKES
    if pays_on_delivery:
        raise InvalidInput("payment_method", "flash-sale items must be paid online")
    locked = uow.flash_sales.get_many(list(wanted), lock=True)
    taken: dict[str, tuple[FlashSale, int]] = {}
    for sale_id in sorted(wanted):
        sku_id, quantity = wanted[sale_id]
        sale = locked.get(sale_id)
        if sale is None or not sale.is_running(now):
            raise FlashSaleNotRunning(f"sku {sku_id}: the flash sale is no longer running")
        take = QuotaTake(sale.id, buyer_id, quantity, sale.quota, sale.per_buyer_limit)
        refused = uow.promotion_counters.take(take)
        if refused is not None:
            raise type(refused)(f"sku {sku_id}: {refused.detail}")
        taken[sku_id] = (sale, quantity)
    return FlashSaleTakes(taken)


@attrs.frozen
class _Hold:
    sku_id: str
    order_id: str
    buyer_id: str
    quantity: int
    flash_sale_id: str | None


@attrs.frozen
class OrderHolds:
    """What unpaid orders hold, read before they close; ``release`` gives it back."""

    holds: tuple[_Hold, ...]

    @classmethod
    def of(cls, orders: Iterable[Order], *, flash_only: bool = False) -> OrderHolds:
        holds = []
        for order in orders:
            flash = order.flash_sale_holds()
            for sku_id, quantity in order.reserved_quantities().items():
                if flash_only and sku_id not in flash:
                    continue
                holds.append(_Hold(sku_id, order.id, order.buyer_id, quantity, flash.get(sku_id)))
        return cls(tuple(holds))

    @property
    def flash_sale_ids(self) -> list[str]:
        return sorted({h.flash_sale_id for h in self.holds if h.flash_sale_id})

    def release(self, uow: OrderingUnitOfWork, now: datetime) -> None:
        """Give it all back: sales locked (id order), quota, then stock rows in SKU order."""
        sales = self._give_back_quota(uow)
        for hold in sorted(self.holds, key=lambda h: (h.sku_id, h.order_id)):
            sale = sales.get(hold.flash_sale_id) if hold.flash_sale_id else None
            reference = f"order:{hold.order_id}"
            if sale is not None and sale.holds_stock:
                uow.stock.transfer(hold.sku_id, hold.quantity, reference, sale.stock_reference, now)
            else:
                uow.stock.release(hold.sku_id, hold.quantity, reference, now)

    def reclaim(self, uow: OrderingUnitOfWork, now: datetime) -> None:
        """The holds were already released to ordinary stock in SKU order (out of stock at
        payment, sales locked beforehand): give the quota back and reserve the units again for
        sales still holding stock (their rows are this transaction's already: no new lock)."""
        sales = self._give_back_quota(uow)
        for hold in sorted(self.holds, key=lambda h: (h.sku_id, h.order_id)):
            sale = sales.get(hold.flash_sale_id) if hold.flash_sale_id else None
            held_again = (
                sale is None
                or not sale.holds_stock
                or uow.stock.reserve(hold.sku_id, hold.quantity, sale.stock_reference, now)
            )
            if not held_again:
                raise Conflict(f"sku {hold.sku_id}: the units just released are gone")

    def _give_back_quota(self, uow: OrderingUnitOfWork) -> dict[str, FlashSale]:
        sales = lock_sales(uow, self.flash_sale_ids)
        returned: dict[tuple[str, str], int] = {}
        for hold in self.holds:
            if hold.flash_sale_id is not None:
                key = (hold.flash_sale_id, hold.buyer_id)
                returned[key] = returned.get(key, 0) + hold.quantity
        for (sale_id, buyer_id), quantity in sorted(returned.items()):
            uow.promotion_counters.give_back(sales[sale_id].give_back(buyer_id, quantity))
        return sales


def lock_sales(uow: OrderingUnitOfWork, sale_ids: Sequence[str]) -> dict[str, FlashSale]:
    if not sale_ids:
        return {}
    sales = uow.flash_sales.get_many(sale_ids, lock=True)
    missing = set(sale_ids) - set(sales)
    if missing:
        raise Conflict(f"flash sale {min(missing)} is missing")
    return sales
