"""Checkout preview and placing orders: one order per shop, one payment for all of them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody

from marketcore.application.ordering.checkout import ItemRequest
from marketcore.entrypoints.http.common import CurrentActor, IdempotencyKey, Market
from marketcore.entrypoints.http.schemas import (
    CheckoutIn,
    CheckoutOut,
    ItemIn,
    PreviewIn,
    QuoteOut,
    checkout_out,
    quote_out,
)
from marketcore.entrypoints.http.writer_lane import writer_lane


def _items(items: list[ItemIn] | None) -> list[ItemRequest] | None:
    return None if items is None else [ItemRequest(i.sku_id, i.quantity) for i in items]


class CheckoutController(Controller):
    path = "/checkout"
    tags = ("checkout",)

    @post("/preview", operation_id="previewCheckout", status_code=200, sync_to_thread=True)
    def preview(self, data: JSONBody[PreviewIn], market: Market, actor: CurrentActor) -> QuoteOut:
        quote = market.checkout.preview(actor, data.address_id, _items(data.items), data.coupon_ids or ())
        return quote_out(quote)

    @post("", operation_id="checkout")
    async def checkout(
        self,
        data: JSONBody[CheckoutIn],
        market: Market,
        actor: CurrentActor,
        request: Request[Any, Any, Any],
        idempotency_key: IdempotencyKey = None,
    ) -> CheckoutOut:
        result = await writer_lane(request).run(
            market.checkout.checkout,
            actor,
            data.address_id,
            data.payment_method,
            _items(data.items),
            idempotency_key=idempotency_key,
            coupon_ids=data.coupon_ids or (),
        )
        return checkout_out(result)
