"""SPU (standard product unit) with its SKUs and the listing/review lifecycle.

Edit rule (docs/catalog.md): price changes of an approved product apply at once; structural edits
(title aside, which also applies at once) send it back to review.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import Conflict, InvalidInput, NotFound
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.money import Currency, Money
from marketcore.domain.shared.text import require_text

MAX_SKUS = 600
MAX_IMAGES = 20
MAX_PRICE = 100_000_000_00  # 100 million yuan, in fen


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"


class ProductStateConflict(Conflict):
    code = "product_state_conflict"


@attrs.frozen
class SalesAttribute:
    """A dimension buyers choose along, e.g. colour: red / blue."""

    name: str
    values: tuple[str, ...]


@attrs.frozen(kw_only=True)
class SkuDraft:
    code: str
    attributes: Mapping[str, str]
    price: int
    market_price: int | None = None
    weight_grams: int = 0


@attrs.define(eq=False)
class Sku:
    id: str
    code: str
    attributes: dict[str, str]
    price: Money
    market_price: Money | None = None
    weight_grams: int = 0
    active: bool = True
    deduction_mode: DeductionMode | None = None  # None: the shop's mode
    low_stock_threshold: int = 0  # StockLow is raised when availability falls below it
    # A flash sale may price this SKU until then: checkout looks sales up only for such SKUs.
    flash_sale_until: datetime | None = None

    def may_have_flash_sale(self, at: datetime) -> bool:
        return self.flash_sale_until is not None and at < self.flash_sale_until


@attrs.frozen(kw_only=True)
class ProductSubmitted(DomainEvent):
    product_id: str
    shop_id: str


@attrs.frozen(kw_only=True)
class StockLow(DomainEvent):
    product_id: str
    shop_id: str
    sku_id: str
    available: int
    threshold: int


@attrs.frozen(kw_only=True)
class ProductListed(DomainEvent):
    product_id: str
    shop_id: str


def _price(field: str, amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_PRICE:
        raise InvalidInput(field, f"must be a whole number of fen between 1 and {MAX_PRICE}")
    return amount


@attrs.define(eq=False)
class Product(Aggregate):
    shop_id: str
    title: str
    category_id: str
    brand: str | None
    description: str
    images: list[str]
    attributes: dict[str, str]
    sales_attributes: list[SalesAttribute]
    skus: list[Sku]
    created_at: datetime
    currency: Currency = Currency.CNY
    status: ProductStatus = ProductStatus.DRAFT
    listed: bool = False
    rejection_reason: str | None = None

    @classmethod
    def create(
        cls,
        id: str,
        shop_id: str,
        title: str,
        category_id: str,
        brand: str | None,
        description: str,
        images: Sequence[str],
        attributes: Mapping[str, str],
        sales_attributes: Sequence[SalesAttribute],
        skus: Sequence[tuple[str, SkuDraft]],
        at: datetime,
    ) -> Product:
        if len(images) > MAX_IMAGES:
            raise InvalidInput("images", f"at most {MAX_IMAGES}")
        specs = _check_sales_attributes(sales_attributes)
        if not skus:
            raise InvalidInput("skus", "a product needs at least one SKU")
        if len(skus) > MAX_SKUS:
            raise InvalidInput("skus", f"at most {MAX_SKUS}")
        seen_combinations: set[tuple[str, ...]] = set()
        seen_codes: set[str] = set()
        built: list[Sku] = []
        for index, (sku_id, draft) in enumerate(skus):
            field = f"skus[{index}]"
            combination = _check_combination(field, draft.attributes, specs)
            if combination in seen_combinations:
                raise InvalidInput(f"{field}.attributes", "duplicate attribute combination")
            seen_combinations.add(combination)
            code = require_text(f"{field}.code", draft.code, 64)
            if code in seen_codes:
                raise InvalidInput(f"{field}.code", "duplicate SKU code")
            seen_codes.add(code)
            market = draft.market_price
            if draft.weight_grams < 0:
                raise InvalidInput(f"{field}.weight_grams", "must not be negative")
            built.append(
                Sku(
                    sku_id,
                    code=code,
                    attributes=dict(draft.attributes),
                    price=Money(_price(f"{field}.price", draft.price)),
                    market_price=Money(_price(f"{field}.market_price", market)) if market else None,
                    weight_grams=draft.weight_grams,
                )
            )
        return cls(
            id,
            shop_id=shop_id,
            title=require_text("title", title, 120),
            category_id=category_id,
            brand=require_text("brand", brand, 60) if brand else None,
            description=require_text("description", description, 20_000, min_length=0),
            images=[require_text(f"images[{i}]", url, 500) for i, url in enumerate(images)],
            attributes={
                require_text("attributes", k, 40): require_text(f"attributes.{k}", v, 200)
                for k, v in attributes.items()
            },
            sales_attributes=list(sales_attributes),
            skus=built,
            created_at=at,
        )

    @property
    def is_buyable(self) -> bool:
        return self.status is ProductStatus.APPROVED and self.listed

    @property
    def min_price(self) -> int:
        return min(sku.price.amount for sku in self.skus if sku.active)

    def sku(self, sku_id: str) -> Sku:
        for sku in self.skus:
            if sku.id == sku_id:
                return sku
        raise NotFound("sku", sku_id)

    def submit(self, at: datetime) -> None:
        if self.status not in (ProductStatus.DRAFT, ProductStatus.REJECTED):
            raise ProductStateConflict(f"product is {self.status}; only drafts can be submitted")
        self.status = ProductStatus.PENDING_REVIEW
        self.rejection_reason = None
        self.record(ProductSubmitted(occurred_at=at, product_id=self.id, shop_id=self.shop_id))

    def approve(self) -> None:
        self._require(ProductStatus.PENDING_REVIEW, "approved")
        self.status = ProductStatus.APPROVED

    def reject(self, reason: str) -> None:
        reason = require_text("reason", reason, 500)
        self._require(ProductStatus.PENDING_REVIEW, "rejected")
        self.status = ProductStatus.REJECTED
        self.rejection_reason = reason

    def list_for_sale(self, at: datetime) -> None:
        self._require(ProductStatus.APPROVED, "listed")
        if not self.listed:
            self.listed = True
            self.record(ProductListed(occurred_at=at, product_id=self.id, shop_id=self.shop_id))

    def delist(self) -> None:
        self._require(ProductStatus.APPROVED, "delisted")
        self.listed = False

    def set_low_stock_threshold(self, sku_id: str, threshold: int) -> None:
        if isinstance(threshold, bool) or not 0 <= threshold <= 1_000_000:
            raise InvalidInput("low_stock_threshold", "must be 0 to 1000000")
        self.sku(sku_id).low_stock_threshold = threshold

    def set_deduction_mode(self, sku_id: str, mode: DeductionMode | None) -> None:
        """Override the shop's deduction mode for one SKU; None follows the shop again."""
        self.sku(sku_id).deduction_mode = mode

    def note_stock(self, sku_id: str, available_before: int, available_after: int, at: datetime) -> None:
        """Raise StockLow when a change takes the SKU's availability below its threshold."""
        threshold = self.sku(sku_id).low_stock_threshold
        if available_after < threshold <= available_before:
            self.record(
                StockLow(
                    occurred_at=at,
                    product_id=self.id,
                    shop_id=self.shop_id,
                    sku_id=sku_id,
                    available=available_after,
                    threshold=threshold,
                )
            )

    def note_flash_sale(self, sku_id: str, until: datetime) -> None:
        """A flash sale of the SKU was scheduled up to ``until``; never shortened (a stale mark
        only costs checkout one query, a missing one would sell a running sale's SKU at list price)."""
        sku = self.sku(sku_id)
        if sku.flash_sale_until is None or sku.flash_sale_until < until:
            sku.flash_sale_until = until

    def reprice(self, sku_id: str, price: int) -> None:
        """Price edits apply at once, even on an approved, listed product."""
        self.sku(sku_id).price = Money(_price("price", price), self.currency)

    def _require(self, status: ProductStatus, verb: str) -> None:
        if self.status is not status:
            raise ProductStateConflict(f"product is {self.status}; only {status} products can be {verb}")


def _check_sales_attributes(specs: Sequence[SalesAttribute]) -> dict[str, frozenset[str]]:
    result: dict[str, frozenset[str]] = {}
    for index, spec in enumerate(specs):
        name = require_text(f"sales_attributes[{index}].name", spec.name, 40)
        if name in result:
            raise InvalidInput(f"sales_attributes[{index}].name", "duplicate attribute name")
        values = [require_text(f"sales_attributes[{index}].values", v, 40) for v in spec.values]
        if not values or len(set(values)) != len(values):
            raise InvalidInput(f"sales_attributes[{index}].values", "needs distinct values")
        result[name] = frozenset(values)
    combinations = 1
    for values_ in result.values():
        combinations *= len(values_)
    if combinations > MAX_SKUS:
        raise InvalidInput("sales_attributes", f"at most {MAX_SKUS} combinations")
    return result


def _check_combination(
    field: str, attributes: Mapping[str, str], specs: Mapping[str, frozenset[str]]
) -> tuple[str, ...]:
    if set(attributes) != set(specs):
        raise InvalidInput(
            f"{field}.attributes", f"must name exactly: {', '.join(sorted(specs)) or 'nothing'}"
        )
    for name, value in attributes.items():
        if value not in specs[name]:
            raise InvalidInput(f"{field}.attributes.{name}", f"{value!r} is not one of the declared values")
    return tuple(attributes[name] for name in sorted(specs))
