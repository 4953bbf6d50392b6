"""Categories, products (SPU/SKU), review and shelf, and the public catalog."""

from __future__ import annotations

from typing import Any, cast

from anyio import to_thread
from litestar import Controller, MediaType, Request, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.serialization import encode_json

from marketcore.application.catalog.ports import ProductQuery, ProductSort
from marketcore.application.catalog.services import ProductView
from marketcore.bootstrap import Marketplace
from marketcore.domain.catalog.products import ProductStatus, SalesAttribute, SkuDraft
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput
from marketcore.entrypoints.http.common import (
    PUBLIC_OPT,
    CurrentActor,
    Cursor,
    Limit,
    Market,
    page_request,
)
from marketcore.entrypoints.http.read_cache import product_pages
from marketcore.entrypoints.http.schemas import (
    CategoryIn,
    CategoryOut,
    CategoryTreeOut,
    PageOut,
    ProductIn,
    ProductOut,
    ProductSummaryOut,
    ReasonIn,
    SkuPatchIn,
    category_node_out,
    category_out,
    product_out,
    product_summary_out,
)


def _privileged_out(view: ProductView) -> ProductOut:
    return product_out(view, privileged=True)


class CategoryController(Controller):
    tags = ("catalog",)

    @get("/categories", operation_id="listCategories", opt=PUBLIC_OPT, sync_to_thread=True)
    def tree(self, market: Market) -> CategoryTreeOut:
        return CategoryTreeOut([category_node_out(n) for n in market.catalog.category_tree()])

    @post("/admin/categories", operation_id="createCategory", tags=["admin"], sync_to_thread=True)
    def create(self, data: JSONBody[CategoryIn], market: Market, actor: CurrentActor) -> CategoryOut:
        return category_out(
            market.catalog.create_category(actor, data.name, data.parent_id, data.commission_rate_bps)
        )


class ProductController(Controller):
    path = "/products"
    tags = ("catalog",)

    @get("", operation_id="searchProducts", opt=PUBLIC_OPT, sync_to_thread=True)
    def search(
        self,
        market: Market,
        q: FromQuery[str | None] = None,
        category_id: FromQuery[str | None] = None,
        shop_id: FromQuery[str | None] = None,
        min_price: FromQuery[int | None] = None,
        max_price: FromQuery[int | None] = None,
        sort: FromQuery[ProductSort] = ProductSort.NEWEST,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[ProductSummaryOut]:
        query = ProductQuery(
            text=q or None,
            category_id=category_id,
            shop_id=shop_id,
            min_price=min_price,
            max_price=max_price,
            sort=sort,
        )
        page = market.catalog.search(query, page_request(limit, cursor))
        return PageOut([product_summary_out(p) for p in page.items], page.next_cursor)

    @get("/{spu_id:str}", operation_id="getProduct", opt=PUBLIC_OPT)
    async def detail(
        self, spu_id: FromPath[str], market: Market, actor: CurrentActor, request: Request[Any, Any, Any]
    ) -> Response[ProductOut]:
        """Anonymous readers are served from the page cache (``read_cache``) when it holds the page."""
        pages = product_pages(request)
        anonymous = actor.user_id is None
        cached = pages.get(spu_id) if anonymous else None
        if cached is not None:
            return _json(cached)
        ticket = pages.ticket()
        out, depends_on = await to_thread.run_sync(_product_detail, market, actor, spu_id)
        body = encode_json(out)
        if anonymous and out.buyable:
            pages.put(ticket, spu_id, depends_on, body)
        return _json(body)


def _product_detail(market: Marketplace, actor: Actor, spu_id: str) -> tuple[ProductOut, set[str]]:
    """The page as ``actor`` sees it, and the ids it shows (shop, SKUs) for cache eviction."""
    view = market.catalog.product(actor, spu_id)
    p = view.product
    privileged = not p.is_buyable or actor.is_operator
    if not privileged and actor.user_id is not None:
        privileged = any(s.id == p.shop_id for s in market.shops.memberships(actor.user_id))
    return product_out(view, privileged=privileged), {p.id, p.shop_id, *(s.id for s in p.skus)}


def _json(body: bytes) -> Response[ProductOut]:
    return cast(Response[ProductOut], Response(body, media_type=MediaType.JSON))


class AdminProductController(Controller):
    path = "/admin/products"
    tags = (
        "catalog",
        "admin",
    )

    @get("", operation_id="listProductsForReview", sync_to_thread=True)
    def pending(
        self,
        market: Market,
        actor: CurrentActor,
        status: FromQuery[ProductStatus] = ProductStatus.PENDING_REVIEW,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[ProductSummaryOut]:
        if status is not ProductStatus.PENDING_REVIEW:
            raise InvalidInput("status", "only pending_review is supported")
        page = market.catalog.pending_review(actor, page_request(limit, cursor))
        return PageOut([product_summary_out(p) for p in page.items], page.next_cursor)

    @post("/{spu_id:str}/approve", operation_id="approveProduct", status_code=200, sync_to_thread=True)
    def approve(self, spu_id: FromPath[str], market: Market, actor: CurrentActor) -> ProductSummaryOut:
        return product_summary_out(market.catalog.approve(actor, spu_id))

    @post("/{spu_id:str}/reject", operation_id="rejectProduct", status_code=200, sync_to_thread=True)
    def reject(
        self, spu_id: FromPath[str], data: JSONBody[ReasonIn], market: Market, actor: CurrentActor
    ) -> ProductSummaryOut:
        return product_summary_out(market.catalog.reject(actor, spu_id, data.reason))


class MerchantProductController(Controller):
    path = "/merchant/shops/{shop_id:str}"
    tags = (
        "catalog",
        "merchant",
    )

    @post("/products", operation_id="createProduct", sync_to_thread=True)
    def create(
        self, shop_id: FromPath[str], data: JSONBody[ProductIn], market: Market, actor: CurrentActor
    ) -> ProductOut:
        view = market.catalog.create_product(
            actor,
            shop_id,
            data.title,
            data.category_id,
            data.brand,
            data.description,
            data.images,
            data.attributes,
            [SalesAttribute(a.name, tuple(a.values)) for a in data.sales_attributes],
            [
                (
                    SkuDraft(
                        code=s.code,
                        attributes=s.attributes,
                        price=s.price,
                        market_price=s.market_price,
                        weight_grams=s.weight_grams,
                    ),
                    s.stock,
                )
                for s in data.skus
            ],
        )
        return _privileged_out(view)

    @post("/products/{spu_id:str}/submit", operation_id="submitProduct", status_code=200, sync_to_thread=True)
    def submit(
        self, shop_id: FromPath[str], spu_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> ProductSummaryOut:
        return product_summary_out(market.catalog.submit(actor, shop_id, spu_id))

    @post("/products/{spu_id:str}/list", operation_id="listProduct", status_code=200, sync_to_thread=True)
    def list_for_sale(
        self, shop_id: FromPath[str], spu_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> ProductSummaryOut:
        return product_summary_out(market.catalog.list_for_sale(actor, shop_id, spu_id))

    @post("/products/{spu_id:str}/delist", operation_id="delistProduct", status_code=200, sync_to_thread=True)
    def delist(
        self, shop_id: FromPath[str], spu_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> ProductSummaryOut:
        return product_summary_out(market.catalog.delist(actor, shop_id, spu_id))

    @patch("/skus/{sku_id:str}", operation_id="updateSku", sync_to_thread=True)
    def update_sku(
        self,
        shop_id: FromPath[str],
        sku_id: FromPath[str],
        data: JSONBody[SkuPatchIn],
        market: Market,
        actor: CurrentActor,
    ) -> ProductOut:
        view = market.catalog.update_sku(
            actor,
            shop_id,
            sku_id,
            data.price,
            data.stock_delta,
            data.reason,
            data.low_stock_threshold,
            data.deduction_mode,
        )
        return _privileged_out(view)
