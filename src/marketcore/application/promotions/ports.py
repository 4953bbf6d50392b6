"""Promotions ports: stored offers, coupon templates, held coupons, flash sales, and the counters
(coupons claimed, flash-sale units sold) that storage keeps with conditional updates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from marketcore.application.inventory.ports import StockLedger
from marketcore.application.shared.ports import Page, PageRequest, UnitOfWork
from marketcore.application.shops.ports import ShopRepository
from marketcore.domain.promotions.coupons import ClaimLimits, Coupon, CouponStatus, CouponTemplate
from marketcore.domain.promotions.flash_sales import FlashSale, QuotaReturn, QuotaTake
from marketcore.domain.promotions.promotions import Promotion
from marketcore.domain.shared.errors import Conflict
from marketcore.domain.shared.money import Money


class PromotionRepository(Protocol):
    """Promotions of any registered rule kind; ``shop_id`` None is the platform's."""

    def get(self, promotion_id: str, *, lock: bool = False) -> Promotion | None: ...

    def add(self, promotion: Promotion) -> None: ...

    def for_shop(self, shop_id: str) -> list[Promotion]:
        """Every promotion of the shop, newest first."""
        ...

    def listing(self, shop_id: str | None, page: PageRequest) -> Page[Promotion]:
        """A shop's promotions (None: the platform's), newest first."""
        ...

    def active_for_shops(self, shop_ids: Iterable[str], at: datetime) -> list[Promotion]:
        """The shops' own promotions active at ``at`` (not the platform's)."""
        ...

    def active_for_checkout(self, shop_ids: Iterable[str], at: datetime) -> list[Promotion]:
        """What a checkout over ``shop_ids`` is priced with: those shops' active promotions and
        the platform's, in one statement."""
        ...


class CouponTemplateRepository(Protocol):
    def get(self, template_id: str, *, lock: bool = False) -> CouponTemplate | None: ...

    def add(self, template: CouponTemplate) -> None: ...

    def listing(self, shop_id: str | None, page: PageRequest) -> Page[CouponTemplate]:
        """A shop's templates (None: the platform's), newest first, whatever their status."""
        ...

    def claimable(
        self, at: datetime, page: PageRequest, *, shop_id: str | None = None
    ) -> Page[CouponTemplate]:
        """Active templates inside their claim window at ``at`` (and whose coupons would not
        already have expired), newest first; ``shop_id`` keeps one shop's."""
        ...


class CouponRepository(Protocol):
    """Coupons buyers hold. Locking for a checkout is the coupon's own state change, written with
    the version check (``get_many(..., lock=True)`` also holds the rows): of two checkouts racing
    for one coupon, one wins."""

    def get(self, coupon_id: str, *, lock: bool = False) -> Coupon | None: ...

    def add(self, coupon: Coupon) -> None: ...

    def get_many(self, coupon_ids: Sequence[str], *, lock: bool = False) -> dict[str, Coupon]:
        """By id (missing ones left out); ``lock`` holds them until the transaction ends."""
        ...

    def for_buyer(self, buyer_id: str, status: CouponStatus | None, page: PageRequest) -> Page[Coupon]:
        """The buyer's coupons, newest first, optionally of one status."""
        ...

    def usable_by(self, buyer_id: str, at: datetime) -> list[Coupon]:
        """The buyer's available coupons not expired at ``at`` (at most 200, the newest): what
        checkout prices and picks from. Ones not started yet are included; pricing reports them."""
        ...

    def for_checkout(self, checkout_id: str, *, lock: bool = False) -> list[Coupon]:
        """The coupons a checkout locked or used (to use them on payment, return them on cancel)."""
        ...


class FlashSaleRepository(Protocol):
    def get(self, flash_sale_id: str, *, lock: bool = False) -> FlashSale | None: ...

    def add(self, sale: FlashSale) -> None: ...

    def listing(self, shop_id: str, page: PageRequest) -> Page[FlashSale]:
        """A shop's flash sales, newest first."""
        ...

    def running_for_skus(self, sku_ids: Iterable[str], at: datetime) -> list[FlashSale]:
        """Scheduled sales of these SKUs running at ``at``."""
        ...

    def get_many(self, flash_sale_ids: Sequence[str], *, lock: bool = False) -> dict[str, FlashSale]:
        """By id (missing ones left out); ``lock`` holds them, in id order, until the transaction
        ends. Every change to a sale's quota or set-aside stock locks the sale first, so taking
        quota, giving it back and ending the sale never interleave."""
        ...

    def not_ended(self, at: datetime, page: PageRequest) -> Page[FlashSale]:
        """Scheduled sales not ended at ``at`` (running or upcoming), ending soonest first."""
        ...

    def claim_ended(self, now: datetime, limit: int) -> list[FlashSale]:
        """Scheduled sales whose window has ended by ``now``, locked for this transaction; rows
        another transaction holds are skipped, so several workers never take the same sale."""
        ...

    def holding_stock(self) -> list[FlashSale]:
        """Every sale whose unsold quota is still set aside in the stock ledger."""
        ...

    def scheduled_for_sku(self, sku_id: str) -> list[FlashSale]:
        """The SKU's sales not ended or cancelled (windows may be past, not yet ended by due work)."""
        ...


@attrs.frozen
class ClaimCount:
    issued: int  # coupons issued from the template, to anyone
    claimed: int  # by the buyer asked about (0 when no buyer was given)


@attrs.frozen
class QuotaCount:
    sold: int  # units of the sale taken, by anyone
    bought: int  # by the buyer asked about (0 when no buyer was given)


class PromotionCounters(Protocol):
    """Claim and quota counters, changed by storage with one conditional update per counter,
    inside the caller's transaction (a rollback undoes them).

    A counter never passes its limit whatever the concurrency: each change is
    ``count + q <= limit`` in the UPDATE itself. The buyer's counter changes first, then the
    total; when the total refuses, the buyer's change is undone at once (this transaction holds
    that row), so both change or neither. Units of work taking several changes should take them
    in id order, so two transactions never wait on each other's rows.
    """

    def claim(self, limits: ClaimLimits, buyer_id: str) -> Conflict | None:
        """Count one coupon claimed from ``limits.template_id`` by ``buyer_id``, or say why not
        (``CouponClaimLimitReached``, ``CouponBudgetExhausted``) and change nothing."""
        ...

    def claim_counts(self, template_ids: Iterable[str], buyer_id: str | None = None) -> dict[str, ClaimCount]:
        """Every template asked about, zeros included."""
        ...

    def take(self, take: QuotaTake) -> Conflict | None:
        """Count ``take.quantity`` units of the sale bought by the buyer, or say why not
        (``FlashSaleLimitReached``, ``FlashSaleSoldOut``) and change nothing."""
        ...

    def give_back(self, returned: QuotaReturn) -> None:
        """Units of an unpaid or cancelled order back to the quota (and the buyer's allowance).
        Giving back more than was taken raises ``Conflict``; roll the transaction back then."""
        ...

    def quota_counts(
        self, flash_sale_ids: Iterable[str], buyer_id: str | None = None
    ) -> dict[str, QuotaCount]:
        """Every sale asked about, zeros included."""
        ...


class PromotionsUnitOfWork(UnitOfWork, Protocol):
    promotions: PromotionRepository
    coupon_templates: CouponTemplateRepository
    coupons: CouponRepository
    flash_sales: FlashSaleRepository
    promotion_counters: PromotionCounters
    shops: ShopRepository


# What scheduling a flash sale needs of the catalog, as promotions' own narrow protocols (catalog
# and promotions are sibling contexts and never import each other); the catalog's ``Product`` and
# ``ProductRepository`` satisfy them structurally.


class SaleSku(Protocol):
    @property
    def price(self) -> Money: ...
    @property
    def active(self) -> bool: ...


class SaleProduct(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def shop_id(self) -> str: ...
    def sku(self, sku_id: str) -> SaleSku: ...
    def note_flash_sale(self, sku_id: str, until: datetime) -> None: ...
    def note_stock(self, sku_id: str, available_before: int, available_after: int, at: datetime) -> None: ...


class SaleProducts(Protocol):
    def get_by_sku(self, sku_id: str) -> SaleProduct | None: ...
    def get(self, product_id: str, *, lock: bool = False) -> SaleProduct | None: ...


class FlashSalesUnitOfWork(PromotionsUnitOfWork, Protocol):
    stock: StockLedger

    @property
    def products(self) -> SaleProducts: ...
