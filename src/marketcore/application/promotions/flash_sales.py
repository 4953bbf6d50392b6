"""Flash sales, the merchant's side: scheduling sets the quota aside, cancelling or the end of the
window gives what is unsold back to ordinary stock.

The set-aside is a reservation in the stock ledger under ``flash_sale:{id}``: ordinary checkouts
cannot reserve those units, and ``ledger check`` balances (reserved = open orders' holds + every
scheduled sale's unsold quota). A flash-sale checkout hands units from that reservation to its
order (``StockLedger.transfer``); an order closing unpaid hands them back while the sale holds
stock. Every change to a sale's quota or set-aside locks the sale document first, so ending a
sale never interleaves with a purchase or a return (docs/decisions.md).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from marketcore.application.promotions.ports import FlashSalesUnitOfWork, QuotaCount
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Page, PageRequest
from marketcore.application.shared.services import Service
from marketcore.application.shops.services import staff_shop
from marketcore.domain.promotions.flash_sales import FlashSale
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput, NotFound
from marketcore.domain.shared.money import Money

BATCH = 100  # sales ended per transaction by due work


@attrs.frozen
class FlashSaleView:
    """A sale with what it has sold (units in open or paid orders)."""

    sale: FlashSale
    sold: int

    @property
    def remaining(self) -> int:
        return self.sale.unsold(self.sold) if self.sale.holds_stock else 0


def _whole(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "a whole number")
    return value


def _instant(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(field, "a date-time with a timezone")
    return value


class FlashSaleService(Service[FlashSalesUnitOfWork]):
    def schedule(
        self,
        actor: Actor,
        shop_id: str,
        sku_id: str,
        name: str,
        *,
        price: int,
        quota: int,
        per_buyer_limit: int,
        starts_at: datetime,
        ends_at: datetime,
    ) -> FlashSale:
        """A sale of one of the shop's SKUs; its quota is reserved from the SKU's available
        stock at once (refused, naming ``quota``, if that much is not available)."""
        _whole("price", price)
        _whole("quota", quota)
        _whole("per_buyer_limit", per_buyer_limit)
        _instant("starts_at", starts_at)
        _instant("ends_at", ends_at)
        if not isinstance(sku_id, str) or not sku_id:
            raise InvalidInput("sku_id", "required")
        now = self._clock.now()
        with self._uow() as uow:
            staff_shop(uow.shops, actor, shop_id)
            found = uow.products.get_by_sku(sku_id)
            # Lock the product: two sales of one SKU scheduled at once are checked one after the other.
            product = uow.products.get(found.id, lock=True) if found is not None else None
            if product is None or product.shop_id != shop_id:
                raise InvalidInput("sku_id", "no such SKU in this shop")
            sku = product.sku(sku_id)
            if not sku.active:
                raise InvalidInput("sku_id", "the SKU is not active")
            level = uow.stock.get_many([sku_id]).get(sku_id)
            available = level.available if level is not None else 0
            sale = FlashSale.create(
                new_id(),
                shop_id,
                sku_id,
                name,
                price=Money(price, sku.price.currency),
                list_price=sku.price,
                quota=quota,
                available_stock=available,
                per_buyer_limit=per_buyer_limit,
                starts_at=starts_at,
                ends_at=ends_at,
                at=now,
            )
            for other in uow.flash_sales.scheduled_for_sku(sku_id):
                if other.starts_at < sale.ends_at and sale.starts_at < other.ends_at:
                    raise InvalidInput("starts_at", f"overlaps flash sale {other.id} of this SKU")
            if not uow.stock.reserve(sku_id, quota, sale.stock_reference, now):
                raise InvalidInput("quota", "that many units are no longer available to set aside")
            product.note_stock(sku_id, available, available - quota, now)
            product.note_flash_sale(sku_id, sale.ends_at)
            uow.flash_sales.add(sale)
            uow.commit()
        return sale

    def cancel(self, actor: Actor, shop_id: str, flash_sale_id: str) -> FlashSaleView:
        """Stop a sale; its unsold quota goes back to ordinary stock. Orders already placed keep
        their units (an unpaid one closing later releases them to ordinary stock)."""
        now = self._clock.now()
        with self._uow() as uow:
            staff_shop(uow.shops, actor, shop_id)
            sale = uow.flash_sales.get(flash_sale_id, lock=True)
            if sale is None or sale.shop_id != shop_id:
                raise NotFound("flash sale", flash_sale_id)
            sold = self._counts(uow, [sale])[sale.id].sold
            if sale.holds_stock:
                unsold = sale.unsold(sold)
                if unsold:
                    uow.stock.release(sale.sku_id, unsold, sale.stock_reference, now)
                sale.cancel(now, unsold)
            else:
                sale.cancel(now)  # already cancelled: nothing; ended: refused
            uow.commit()
        return FlashSaleView(sale, sold)

    def end_due(self, now: datetime | None = None) -> int:
        """Give the unsold quota of every sale whose window has passed back to ordinary stock.
        Idempotent; workers side by side take disjoint batches (SKIP LOCKED)."""
        now = now or self._clock.now()
        ended = 0
        while True:
            with self._uow() as uow:
                sales = uow.flash_sales.claim_ended(now, BATCH)
                counts = self._counts(uow, sales)
                for sale in sorted(sales, key=lambda s: (s.sku_id, s.id)):  # stock rows in SKU order
                    unsold = sale.unsold(counts[sale.id].sold)
                    if unsold:
                        uow.stock.release(sale.sku_id, unsold, sale.stock_reference, now)
                    sale.end(now, unsold)
                uow.commit()
            ended += len(sales)
            if len(sales) < BATCH:
                return ended

    def shop_sales(self, actor: Actor, shop_id: str, page: PageRequest) -> Page[FlashSaleView]:
        with self._reader() as uow:
            staff_shop(uow.shops, actor, shop_id)
            found = uow.flash_sales.listing(shop_id, page)
            return Page(self._views(uow, found.items), found.next_cursor)

    def shop_sale(self, actor: Actor, shop_id: str, flash_sale_id: str) -> FlashSaleView:
        with self._reader() as uow:
            staff_shop(uow.shops, actor, shop_id)
            sale = uow.flash_sales.get(flash_sale_id)
            if sale is None or sale.shop_id != shop_id:
                raise NotFound("flash sale", flash_sale_id)
            return self._views(uow, [sale])[0]

    def current(self, page: PageRequest) -> Page[FlashSaleView]:
        """Running and upcoming sales, ending soonest first, with the quota left: for anyone."""
        with self._reader() as uow:
            found = uow.flash_sales.not_ended(self._clock.now(), page)
            return Page(self._views(uow, found.items), found.next_cursor)

    @staticmethod
    def _counts(uow: FlashSalesUnitOfWork, sales: list[FlashSale]) -> dict[str, QuotaCount]:
        return uow.promotion_counters.quota_counts([s.id for s in sales]) if sales else {}

    def _views(self, uow: FlashSalesUnitOfWork, sales: list[FlashSale]) -> list[FlashSaleView]:
        counts = self._counts(uow, sales)
        return [FlashSaleView(sale, counts[sale.id].sold) for sale in sales]
