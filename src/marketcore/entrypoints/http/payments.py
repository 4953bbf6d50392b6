"""Paying a checkout, provider webhooks, refunds, cash on delivery; the sandbox's completion stand-in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, RawBody

from marketcore.entrypoints.http.common import (
    PUBLIC_OPT,
    CurrentActor,
    Cursor,
    IdempotencyKey,
    Limit,
    Market,
    page_request,
)
from marketcore.entrypoints.http.schemas import (
    DeliveryRefusalIn,
    OrderOut,
    PageOut,
    PaymentIn,
    PaymentOut,
    RefundIn,
    RefundOut,
    SandboxCompleteIn,
    order_out,
    payment_out,
    refund_out,
)


class PaymentController(Controller):
    tags = ("payments",)

    @post("/checkouts/{checkout_id:str}/payments", operation_id="startPayment", sync_to_thread=True)
    def start(
        self,
        checkout_id: FromPath[str],
        data: JSONBody[PaymentIn],
        market: Market,
        actor: CurrentActor,
        idempotency_key: IdempotencyKey = None,
    ) -> PaymentOut:
        return payment_out(market.payments.start(actor, checkout_id, data.gateway, idempotency_key))

    @get("/checkouts/{checkout_id:str}/payments", operation_id="listCheckoutPayments", sync_to_thread=True)
    def list_for_checkout(
        self, checkout_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> list[PaymentOut]:
        return [payment_out(p) for p in market.payments.checkout_payments(actor, checkout_id)]

    @get("/payments/{payment_id:str}", operation_id="getPayment", sync_to_thread=True)
    def get_payment(self, payment_id: FromPath[str], market: Market, actor: CurrentActor) -> PaymentOut:
        return payment_out(market.payments.payment(actor, payment_id))


class WebhookController(Controller):
    """Provider notifications. The exact body bytes and headers go to the gateway, which verifies
    the signature; a forgery is a 400 and nothing is stored. The reply is what the provider
    expects (Alipay: exactly ``success``)."""

    tags = ("payments", "webhooks")

    @post(
        "/webhooks/payments/{gateway:str}",
        operation_id="receivePaymentNotification",
        opt=PUBLIC_OPT,
        status_code=200,
        sync_to_thread=True,
    )
    def receive(
        self, gateway: FromPath[str], request: Request[Any, Any, Any], body: RawBody, market: Market
    ) -> Response[bytes]:
        reply = market.inbox.receive(gateway, dict(request.headers), body)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)


class AdminPaymentController(Controller):
    path = "/admin/payments"
    tags = ("payments", "admin")

    @get("", operation_id="listFlaggedPayments", sync_to_thread=True)
    def flagged(
        self,
        market: Market,
        actor: CurrentActor,
        flagged: FromQuery[bool] = True,
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> PageOut[PaymentOut]:
        """Payments waiting for review (``flagged=true``, the only listing so far)."""
        page = market.payments.flagged(actor, page_request(limit, cursor))
        return PageOut([payment_out(p) for p in page.items], page.next_cursor)

    @post("/{payment_id:str}/refunds", operation_id="refundPayment", sync_to_thread=True)
    def refund(
        self,
        payment_id: FromPath[str],
        data: JSONBody[RefundIn],
        market: Market,
        actor: CurrentActor,
        idempotency_key: IdempotencyKey = None,
    ) -> RefundOut:
        refund = market.payments.refund(
            actor, payment_id, data.amount, data.reason, data.order_id, idempotency_key
        )
        return refund_out(refund)


class MerchantDeliveryController(Controller):
    """Cash on delivery: the shop records the cash collected, or the parcel refused at the door."""

    path = "/merchant/shops/{shop_id:str}/orders/{order_id:str}"
    tags = ("payments", "merchant")

    @post("/cod-collection", operation_id="recordCashCollected", sync_to_thread=True)
    def collected(
        self, shop_id: FromPath[str], order_id: FromPath[str], market: Market, actor: CurrentActor
    ) -> PaymentOut:
        return payment_out(market.payments.collect_on_delivery(actor, shop_id, order_id))

    @post("/cod-refusal", operation_id="recordDeliveryRefused", status_code=200, sync_to_thread=True)
    def refused(
        self,
        shop_id: FromPath[str],
        order_id: FromPath[str],
        market: Market,
        actor: CurrentActor,
        data: JSONBody[DeliveryRefusalIn | None] = None,
    ) -> OrderOut:
        reason = data.reason if data is not None else DeliveryRefusalIn().reason
        return order_out(market.payments.refuse_on_delivery(actor, shop_id, order_id, reason))


class SandboxPaymentController(Controller):
    """Registered only while the sandbox gateway is enabled."""

    tags = ("payments",)

    @post(
        "/payments/{payment_id:str}/sandbox-complete",
        operation_id="completeSandboxPayment",
        status_code=200,
        sync_to_thread=True,
    )
    def complete(
        self,
        payment_id: FromPath[str],
        data: JSONBody[SandboxCompleteIn],
        market: Market,
        actor: CurrentActor,
    ) -> PaymentOut:
        return payment_out(market.payments.complete_sandbox(actor, payment_id, data.outcome == "succeeded"))
