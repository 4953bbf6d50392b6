"""Orders: the buyer's view, cancelling and confirming receipt; the shop's view and shipping."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.shared.errors import NotFound
from marketcore.entrypoints.http.common import CurrentActor, Cursor, Limit, Market, page_request
from marketcore.entrypoints.http.schemas import (
    CancelIn,
    OrderOut,
    OrderSummaryOut,
    PageOut,
    ShipmentIn,
    order_out,
    order_summary_out,
)


class OrderController(Controller):
    path = "/orders"
    tags = ("orders",)

    @get("", operation_id="listOrders", sync_to_thread=True)
    def list_orders(
        self,
        market: Market,
        actor: CurrentActor,
        status: FromQuery[OrderStatus | None] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[OrderSummaryOut]:
        page = market.orders.buyer_orders(actor, status, page_request(limit, cursor))
        return PageOut([order_summary_out(o) for o in page.items], page.next_cursor)

    @get("/{order_id:str}", operation_id="getOrder", sync_to_thread=True)
    def get_order(self, order_id: FromPath[str], market: Market, actor: CurrentActor) -> OrderOut:
        return order_out(market.orders.order(actor, order_id))

    @post("/{order_id:str}/cancel", operation_id="cancelOrder", status_code=200, sync_to_thread=True)
    def cancel(
        self,
        order_id: FromPath[str],
        market: Market,
        actor: CurrentActor,
        data: JSONBody[CancelIn | None] = None,
    ) -> OrderOut:
        reason = data.reason if data is not None else CancelIn().reason
        return order_out(market.orders.cancel(actor, order_id, reason))

    @post(
        "/{order_id:str}/confirm-receipt", operation_id="confirmReceipt", status_code=200, sync_to_thread=True
    )
    def confirm_receipt(self, order_id: FromPath[str], market: Market, actor: CurrentActor) -> OrderOut:
        return order_out(market.orders.confirm_receipt(actor, order_id))

    @post(
        "/{order_id:str}/extend-receipt", operation_id="extendReceipt", status_code=200, sync_to_thread=True
    )
    def extend_receipt(self, order_id: FromPath[str], market: Market, actor: CurrentActor) -> OrderOut:
        """Push automatic completion back once (``MARKETCORE_RECEIPT_EXTENSION_DAYS``, default 3)."""
        return order_out(market.orders.extend_receipt(actor, order_id))


class MerchantOrderController(Controller):
    path = "/merchant/shops/{shop_id:str}/orders"
    tags = (
        "orders",
        "merchant",
    )

    @get("", operation_id="listShopOrders", sync_to_thread=True)
    def list_orders(
        self,
        shop_id: FromPath[str],
        market: Market,
        actor: CurrentActor,
        status: FromQuery[OrderStatus | None] = None,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[OrderSummaryOut]:
        page = market.orders.shop_orders(actor, shop_id, status, page_request(limit, cursor))
        return PageOut([order_summary_out(o) for o in page.items], page.next_cursor)

    @get("/{order_id:str}", operation_id="getShopOrder", sync_to_thread=True)
    def get_order(
        self, shop_id: FromPath[str], order_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> OrderOut:
        order = market.orders.order(actor, order_id)
        if order.shop_id != shop_id:
            raise NotFound("order", order_id)
        return order_out(order)

    @post("/{order_id:str}/shipments", operation_id="shipOrder", sync_to_thread=True)
    def ship(
        self,
        shop_id: FromPath[str],
        order_id: FromPath[str],
        data: JSONBody[ShipmentIn],
        market: Market,
        actor: CurrentActor,
    ) -> OrderOut:
        quantities: dict[str, int] | None = None
        if data.lines is not None:
            quantities = {}
            for line in data.lines:
                quantities[line.order_line_id] = quantities.get(line.order_line_id, 0) + line.quantity
        order = market.orders.ship(actor, shop_id, order_id, data.carrier_code, data.tracking_no, quantities)
        return order_out(order)
