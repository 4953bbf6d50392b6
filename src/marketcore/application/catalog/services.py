"""Categories, products (SPU/SKU), review and shelf, and the public catalog."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from marketcore.application.catalog.ports import CatalogUnitOfWork, ProductQuery
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Page, PageRequest
from marketcore.application.shared.services import Service
from marketcore.application.shops.services import staff_shop
from marketcore.domain.catalog.categories import Category
from marketcore.domain.catalog.products import Product, SalesAttribute, SkuDraft
from marketcore.domain.inventory.stock import InsufficientStock, StockLevel
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.deduction import DeductionMode
from marketcore.domain.shared.errors import InvalidInput, NotFound

MAX_INITIAL_STOCK = 10_000_000


@attrs.frozen
class CategoryNode:
    category: Category
    children: tuple[CategoryNode, ...]


@attrs.frozen
class ProductView:
    """A product with the stock levels of its SKUs."""

    product: Product
    stock: Mapping[str, StockLevel]


class CatalogService(Service[CatalogUnitOfWork]):
    def create_category(
        self, actor: Actor, name: str, parent_id: str | None, commission_rate_bps: int
    ) -> Category:
        actor.require_operator()
        with self._uow() as uow:
            parent = None
            if parent_id is not None:
                parent = uow.categories.get(parent_id)
                if parent is None:
                    raise InvalidInput("parent_id", "no such category")
            category = Category.create(new_id(), name, parent, commission_rate_bps)
            uow.categories.add(category)
            uow.commit()
        return category

    def category_tree(self) -> list[CategoryNode]:
        with self._reader() as uow:
            categories = uow.categories.all()
        children: dict[str | None, list[Category]] = {}
        for category in sorted(categories, key=lambda c: (c.name, c.id)):
            children.setdefault(category.parent_id, []).append(category)

        def build(parent_id: str | None) -> tuple[CategoryNode, ...]:
            return tuple(CategoryNode(c, build(c.id)) for c in children.get(parent_id, []))

        return list(build(None))

    def create_product(
        self,
        actor: Actor,
        shop_id: str,
        title: str,
        category_id: str,
        brand: str | None,
        description: str,
        images: Sequence[str],
        attributes: Mapping[str, str],
        sales_attributes: Sequence[SalesAttribute],
        skus: Sequence[tuple[SkuDraft, int]],
    ) -> ProductView:
        """A draft SPU with its SKUs; each SKU's initial stock goes into the stock ledger."""
        now = self._clock.now()
        for index, (_, stock) in enumerate(skus):
            if isinstance(stock, bool) or not 0 <= stock <= MAX_INITIAL_STOCK:
                raise InvalidInput(f"skus[{index}].stock", f"must be 0 to {MAX_INITIAL_STOCK}")
        with self._uow() as uow:
            staff_shop(uow.shops, actor, shop_id)
            category = uow.categories.get(category_id)
            if category is None:
                raise InvalidInput("category_id", "no such category")
            if uow.categories.has_children(category_id):
                raise InvalidInput("category_id", "products belong to a leaf category")
            product = Product.create(
                new_id(),
                shop_id,
                title,
                category_id,
                brand,
                description,
                images,
                attributes,
                sales_attributes,
                [(new_id(), draft) for draft, _ in skus],
                now,
            )
            for sku, (_, stock) in sorted(zip(product.skus, skus, strict=True), key=lambda p: p[0].id):
                uow.stock.create(sku.id, shop_id, stock, now, f"product:{product.id}")
            uow.products.add(product)
            levels = uow.stock.get_many(s.id for s in product.skus)
            uow.commit()
        return ProductView(product, levels)

    def submit(self, actor: Actor, shop_id: str, product_id: str) -> Product:
        with self._uow() as uow:
            product = self._staff_product(uow, actor, shop_id, product_id)
            product.submit(self._clock.now())
            uow.commit()
        return product

    def approve(self, actor: Actor, product_id: str) -> Product:
        actor.require_operator()
        with self._uow() as uow:
            product = self._product(uow, product_id)
            product.approve()
            uow.commit()
        return product

    def reject(self, actor: Actor, product_id: str, reason: str) -> Product:
        actor.require_operator()
        with self._uow() as uow:
            product = self._product(uow, product_id)
            product.reject(reason)
            uow.commit()
        return product

    def pending_review(self, actor: Actor, page: PageRequest) -> Page[Product]:
        actor.require_operator()
        with self._reader() as uow:
            return uow.products.pending_review(page)

    def list_for_sale(self, actor: Actor, shop_id: str, product_id: str) -> Product:
        with self._uow() as uow:
            product = self._staff_product(uow, actor, shop_id, product_id)
            product.list_for_sale(self._clock.now())
            uow.commit()
        return product

    def delist(self, actor: Actor, shop_id: str, product_id: str) -> Product:
        with self._uow() as uow:
            product = self._staff_product(uow, actor, shop_id, product_id)
            product.delist()
            uow.commit()
        return product

    def update_sku(
        self,
        actor: Actor,
        shop_id: str,
        sku_id: str,
        price: int | None = None,
        stock_delta: int | None = None,
        reason: str | None = None,
        low_stock_threshold: int | None = None,
        deduction_mode: str | None = None,
    ) -> ProductView:
        """Reprice at once, adjust on-hand stock (never below what is reserved), set the low-stock
        mark, or choose the SKU's deduction mode (``"shop"`` follows the shop's again)."""
        if all(v is None for v in (price, stock_delta, low_stock_threshold, deduction_mode)):
            raise InvalidInput("price", "give price, stock_delta, low_stock_threshold or deduction_mode")
        now = self._clock.now()
        with self._uow() as uow:
            product = uow.products.get_by_sku(sku_id)
            if product is None or product.shop_id != shop_id:
                raise NotFound("sku", sku_id)
            staff_shop(uow.shops, actor, shop_id)
            if price is not None:
                product.reprice(sku_id, price)
            if low_stock_threshold is not None:
                product.set_low_stock_threshold(sku_id, low_stock_threshold)
            if deduction_mode is not None:
                product.set_deduction_mode(sku_id, _deduction_mode(deduction_mode))
            if stock_delta:
                self._adjust(uow, product, sku_id, stock_delta, reason, f"user:{actor.user_id}", now)
            levels = uow.stock.get_many(s.id for s in product.skus)
            uow.commit()
        return ProductView(product, levels)

    @staticmethod
    def _adjust(
        uow: CatalogUnitOfWork,
        product: Product,
        sku_id: str,
        delta: int,
        reason: str | None,
        reference: str,
        now: datetime,
    ) -> None:
        if isinstance(delta, bool) or abs(delta) > MAX_INITIAL_STOCK:
            raise InvalidInput("stock_delta", f"must be within ±{MAX_INITIAL_STOCK}")
        before = uow.stock.get_many([sku_id])[sku_id].available
        if not uow.stock.adjust(sku_id, delta, (reason or "merchant adjustment")[:200], reference, now):
            raise InsufficientStock("stock cannot fall below the units already reserved")
        product.note_stock(sku_id, before, before + delta, now)

    def search(self, query: ProductQuery, page: PageRequest) -> Page[Product]:
        """Listed, approved products of open shops (a suspended shop's listings are hidden)."""
        for name, bound in (("min_price", query.min_price), ("max_price", query.max_price)):
            if bound is not None and bound < 0:
                raise InvalidInput(name, "must not be negative")
        with self._reader() as uow:
            found = uow.products.search(query, page)
            shops = uow.shops.get_many({p.shop_id for p in found.items})
        visible = [p for p in found.items if p.shop_id in shops and shops[p.shop_id].is_open]
        return Page(visible, found.next_cursor)

    def product(self, actor: Actor, product_id: str) -> ProductView:
        """Anyone sees a buyable product; its shop's staff and operators see it in any state."""
        with self._reader() as uow:
            product = uow.products.get(product_id)
            if product is None:
                raise NotFound("product", product_id)
            shop = uow.shops.get(product.shop_id)
            privileged = actor.is_operator or (
                actor.user_id is not None and shop is not None and shop.has_staff(actor.user_id)
            )
            if not privileged and not (product.is_buyable and shop is not None and shop.is_open):
                raise NotFound("product", product_id)
            levels = uow.stock.get_many(s.id for s in product.skus)
        return ProductView(product, levels)

    @staticmethod
    def _product(uow: CatalogUnitOfWork, product_id: str) -> Product:
        product = uow.products.get(product_id)
        if product is None:
            raise NotFound("product", product_id)
        return product

    def _staff_product(self, uow: CatalogUnitOfWork, actor: Actor, shop_id: str, product_id: str) -> Product:
        staff_shop(uow.shops, actor, shop_id)
        product = self._product(uow, product_id)
        if product.shop_id != shop_id:
            raise NotFound("product", product_id)
        return product


def _deduction_mode(value: str) -> DeductionMode | None:
    if value == "shop":
        return None
    try:
        return DeductionMode(value)
    except ValueError:
        raise InvalidInput("deduction_mode", f"one of shop, {', '.join(DeductionMode)}") from None
