"""Catalog ports."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol

import attrs

from marketcore.application.inventory.ports import StockLedger
from marketcore.application.shared.ports import Page, PageRequest, UnitOfWork
from marketcore.application.shops.ports import ShopRepository
from marketcore.domain.catalog.categories import Category
from marketcore.domain.catalog.products import Product


class ProductSort(enum.StrEnum):
    NEWEST = "newest"
    PRICE_ASC = "price_asc"
    PRICE_DESC = "price_desc"


@attrs.frozen
class ProductQuery:
    text: str | None = None
    category_id: str | None = None
    shop_id: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: ProductSort = ProductSort.NEWEST
    only_buyable: bool = True


class CategoryRepository(Protocol):
    def get(self, category_id: str) -> Category | None: ...

    def add(self, category: Category) -> None: ...

    def all(self) -> list[Category]: ...

    def has_children(self, category_id: str) -> bool: ...


class ProductRepository(Protocol):
    def get(self, product_id: str, *, lock: bool = False) -> Product | None:
        """``lock`` holds the product until the transaction ends."""
        ...

    def get_by_sku(self, sku_id: str) -> Product | None: ...

    def get_by_skus(self, sku_ids: Sequence[str]) -> dict[str, Product]:
        """The product of each SKU, by SKU id, in one round trip (unknown SKUs left out)."""
        ...

    def add(self, product: Product) -> None: ...

    def search(self, query: ProductQuery, page: PageRequest) -> Page[Product]: ...

    def pending_review(self, page: PageRequest) -> Page[Product]: ...


class CatalogUnitOfWork(UnitOfWork, Protocol):
    categories: CategoryRepository
    products: ProductRepository
    shops: ShopRepository
    stock: StockLedger
