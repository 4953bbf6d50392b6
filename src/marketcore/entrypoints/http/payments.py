"""Paying a checkout; the sandbox gateway's completion stand-in when it is enabled."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from marketcore.entrypoints.http.common import CurrentActor, IdempotencyKey, Market
from marketcore.entrypoints.http.schemas import PaymentIn, PaymentOut, SandboxCompleteIn, payment_out


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

    @get("/payments/{payment_id:str}", operation_id="getPayment", sync_to_thread=True)
    def get_payment(self, payment_id: FromPath[str], market: Market, actor: CurrentActor) -> PaymentOut:
        return payment_out(market.payments.payment(actor, payment_id))


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
