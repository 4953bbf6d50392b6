"""Flash sales (秒杀): the shop's staff schedule and cancel them; anyone lists the running and
upcoming ones with the quota left. Buying goes through ``/checkout`` like any other line."""

from __future__ import annotations

from datetime import datetime

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from marketcore.application.promotions.flash_sales import FlashSaleView
from marketcore.entrypoints.http.common import PUBLIC_OPT, CurrentActor, Cursor, Limit, Market, page_request
from marketcore.entrypoints.http.schemas import AwareDatetime, In, Out, PageOut


class FlashSaleIn(In):
    sku_id: str
    name: str
    price: int  # minor units, below the SKU's list price
    quota: int  # units set aside from the SKU's available stock
    per_buyer_limit: int
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class FlashSaleOut(Out):
    id: str
    shop_id: str
    sku_id: str
    name: str
    price: int
    currency: str
    quota: int
    per_buyer_limit: int
    sold: int  # units in open or paid orders
    remaining: int  # units left at the sale price (0 once ended or cancelled)
    starts_at: datetime
    ends_at: datetime
    payment_window_seconds: int
    status: str  # scheduled, ended, cancelled
    running: bool


def flash_sale_out(view: FlashSaleView, now: datetime) -> FlashSaleOut:
    s = view.sale
    return FlashSaleOut(
        id=s.id,
        shop_id=s.shop_id,
        sku_id=s.sku_id,
        name=s.name,
        price=s.price.amount,
        currency=str(s.price.currency),
        quota=s.quota,
        per_buyer_limit=s.per_buyer_limit,
        sold=view.sold,
        remaining=view.remaining,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        payment_window_seconds=int(s.payment_window.total_seconds()),
        status=str(s.status),
        running=s.is_running(now),
    )


def _now(market: Market) -> datetime:
    return market.container.clock().now()


class MerchantFlashSaleController(Controller):
    path = "/merchant/shops/{shop_id:str}/flash-sales"
    tags = ("promotions", "merchant")

    @post("", operation_id="scheduleFlashSale", sync_to_thread=True)
    def schedule(
        self, shop_id: FromPath[str], data: JSONBody[FlashSaleIn], market: Market, actor: CurrentActor
    ) -> FlashSaleOut:
        sale = market.flash_sales.schedule(
            actor,
            shop_id,
            data.sku_id,
            data.name,
            price=data.price,
            quota=data.quota,
            per_buyer_limit=data.per_buyer_limit,
            starts_at=data.starts_at,
            ends_at=data.ends_at,
        )
        return flash_sale_out(FlashSaleView(sale, 0), _now(market))

    @get("", operation_id="listShopFlashSales", sync_to_thread=True)
    def list_sales(
        self,
        shop_id: FromPath[str],
        market: Market,
        actor: CurrentActor,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[FlashSaleOut]:
        page = market.flash_sales.shop_sales(actor, shop_id, page_request(limit, cursor))
        now = _now(market)
        return PageOut([flash_sale_out(v, now) for v in page.items], page.next_cursor)

    @get("/{flash_sale_id:str}", operation_id="getShopFlashSale", sync_to_thread=True)
    def get_sale(
        self, shop_id: FromPath[str], flash_sale_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> FlashSaleOut:
        return flash_sale_out(market.flash_sales.shop_sale(actor, shop_id, flash_sale_id), _now(market))

    @post("/{flash_sale_id:str}/cancel", operation_id="cancelFlashSale", status_code=200, sync_to_thread=True)
    def cancel(
        self, shop_id: FromPath[str], flash_sale_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> FlashSaleOut:
        return flash_sale_out(market.flash_sales.cancel(actor, shop_id, flash_sale_id), _now(market))


class FlashSaleController(Controller):
    path = "/flash-sales"
    tags = ("promotions",)

    @get("", operation_id="listFlashSales", opt=PUBLIC_OPT, sync_to_thread=True)
    def list_current(self, market: Market, limit: Limit = 20, cursor: Cursor = None) -> PageOut[FlashSaleOut]:
        """Running and upcoming sales, ending soonest first, with the quota left."""
        page = market.flash_sales.current(page_request(limit, cursor))
        now = _now(market)
        return PageOut([flash_sale_out(v, now) for v in page.items], page.next_cursor)
