"""The buyer's cart, grouped by shop and priced from the catalog."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from marketcore.entrypoints.http.common import CurrentActor, Market
from marketcore.entrypoints.http.schemas import CartItemIn, CartItemPatchIn, CartOut, cart_out


class CartController(Controller):
    path = "/cart"
    tags = ("cart",)

    @get("", operation_id="getCart", sync_to_thread=True)
    def view(self, market: Market, actor: CurrentActor) -> CartOut:
        return cart_out(market.cart.view(actor))

    @post("/items", operation_id="addCartItem", status_code=200, sync_to_thread=True)
    def add(self, data: JSONBody[CartItemIn], market: Market, actor: CurrentActor) -> CartOut:
        return cart_out(market.cart.add_item(actor, data.sku_id, data.quantity))

    @patch("/items/{sku_id:str}", operation_id="updateCartItem", sync_to_thread=True)
    def update(
        self, sku_id: FromPath[str], data: JSONBody[CartItemPatchIn], market: Market, actor: CurrentActor
    ) -> CartOut:
        return cart_out(market.cart.update_item(actor, sku_id, data.quantity, data.selected))

    @delete("/items/{sku_id:str}", operation_id="removeCartItem", status_code=200, sync_to_thread=True)
    def remove(self, sku_id: FromPath[str], market: Market, actor: CurrentActor) -> CartOut:
        return cart_out(market.cart.remove_item(actor, sku_id))
