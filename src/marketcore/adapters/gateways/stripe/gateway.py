"""The Stripe gateway: PaymentIntents and Refunds through the official SDK's ``StripeClient``.

Idempotency keys derive from our ids (``pi-create:{payment_id}``, ``refund:{refund_id}``) so a
retry after a timeout, even from another process, replays Stripe's first answer instead of
charging or refunding twice. Our ids also travel in ``metadata``: UUIDs fit Stripe's 500-char
values as they are, and come back unchanged in answers and webhooks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NoReturn, TypeVar

import stripe
from stripe.params import PaymentIntentCreateParams, RefundCreateParams

from marketcore.adapters.gateways.stripe.config import StripeConfig
from marketcore.adapters.gateways.stripe.translation import changes_from, money, our_id, payment_from_intent
from marketcore.application.payments.ports import GatewayUnavailable, InvalidNotification
from marketcore.domain.payments.payments import (
    NextAction,
    NextActionKind,
    PaymentDeclined,
    PaymentRequest,
    PaymentStarted,
    PaymentStatus,
    RefundAccepted,
    RefundDeclined,
    RefundRequest,
    RefundStatus,
)
from marketcore.domain.payments.provider import (
    Notification,
    NotificationReply,
    PaymentQuery,
    ProviderPayment,
    ProviderStatus,
    RawNotification,
)

T = TypeVar("T")


def create_key(payment_id: str) -> str:
    return f"pi-create:{payment_id}"


def refund_key(refund_id: str) -> str:
    return f"refund:{refund_id}"


class StripeGateway:
    code: ClassVar[str] = "stripe"
    pays_on_delivery: ClassVar[bool] = False
    acknowledgement: ClassVar[NotificationReply] = NotificationReply()  # Stripe wants any 2xx

    def __init__(self, config: StripeConfig) -> None:
        self._config = config
        self._client = stripe.StripeClient(
            config.api_key,
            base_addresses={"api": config.api_base},
            max_network_retries=config.max_network_retries,
            http_client=stripe.RequestsClient(timeout=config.timeout_seconds),
        )

    def __repr__(self) -> str:
        return f"StripeGateway({self._config!r})"

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined:
        params: PaymentIntentCreateParams = {
            "amount": request.amount.amount,
            "currency": request.amount.currency.lower(),
            "description": request.description[:1000],
            "metadata": {"payment_id": request.payment_id, "checkout_id": request.checkout_id},
            # Which methods (cards, wallets, ...) is chosen in the Dashboard, not in code.
            "automatic_payment_methods": {"enabled": True},
        }
        try:
            intent = self._client.v1.payment_intents.create(
                params=params, options={"idempotency_key": create_key(request.payment_id)}
            ).to_dict()
        except stripe.StripeError as error:
            return PaymentDeclined(_business_outcome(error))
        seen = _answered(lambda: payment_from_intent(intent))
        secret = intent.get("client_secret")
        if seen is None or seen.payment_id != request.payment_id or not isinstance(secret, str) or not secret:
            raise GatewayUnavailable("Stripe answered with a PaymentIntent that is not this payment")
        asked = _answered(lambda: money(intent.get("amount"), intent.get("currency")))
        if asked != request.amount:
            raise GatewayUnavailable(f"Stripe made the PaymentIntent for {asked}, not {request.amount}")
        if seen.status is ProviderStatus.CANCELLED:
            return PaymentDeclined(f"PaymentIntent {intent['id']} is canceled")
        buyer_acts = (ProviderStatus.PENDING, ProviderStatus.REQUIRES_ACTION, ProviderStatus.FAILED)
        waiting = seen.status in buyer_acts
        return PaymentStarted(
            provider_reference=intent["id"],
            next_action=NextAction(NextActionKind.CLIENT_SECRET, secret),
            status=PaymentStatus.REQUIRES_ACTION if waiting else PaymentStatus.PENDING,
        )

    def query(self, query: PaymentQuery) -> ProviderPayment:
        """Retrieve by ``provider_reference``; without one (``create`` never answered) search by
        our metadata, which Stripe indexes within about a minute: not found reads as PENDING."""
        try:
            if query.provider_reference:
                intent = self._client.v1.payment_intents.retrieve(query.provider_reference).to_dict()
            else:
                found = self._find_intent(query.payment_id)
                if found is None:
                    return ProviderPayment(query.payment_id, ProviderStatus.PENDING, None, None)
                intent = found
        except stripe.StripeError as error:
            _unavailable(error)
        seen = _answered(lambda: payment_from_intent(intent))
        if seen is None or seen.payment_id != query.payment_id:
            raise GatewayUnavailable(f"PaymentIntent {intent.get('id')} is not payment {query.payment_id}")
        return seen

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        try:
            reference = request.provider_reference or _id_of(self._find_intent(request.payment_id))
            if reference is None:
                return RefundDeclined(f"Stripe has no PaymentIntent for payment {request.payment_id}")
            params: RefundCreateParams = {
                "payment_intent": reference,
                "amount": request.amount.amount,
                "metadata": {
                    "refund_id": request.refund_id,
                    "payment_id": request.payment_id,
                    "reason": request.reason[:500],
                },
            }
            refund = self._client.v1.refunds.create(
                params=params, options={"idempotency_key": refund_key(request.refund_id)}
            ).to_dict()
        except stripe.StripeError as error:
            return RefundDeclined(_business_outcome(error))
        if our_id(refund, "refund_id") != request.refund_id or not isinstance(refund.get("id"), str):
            raise GatewayUnavailable("Stripe answered with a Refund that is not this refund")
        if _answered(lambda: money(refund.get("amount"), refund.get("currency"))) != request.amount:
            raise GatewayUnavailable(f"Stripe refunded {refund.get('amount')}, not {request.amount}")
        status = refund.get("status")
        if status == "succeeded":
            return RefundAccepted(refund["id"], RefundStatus.SUCCEEDED)
        if status in ("pending", "requires_action"):
            return RefundAccepted(refund["id"], RefundStatus.PENDING)
        if status in ("failed", "canceled"):
            return RefundDeclined(str(refund.get("failure_reason") or f"refund {status}"))
        raise GatewayUnavailable(f"unknown Refund status {status!r}")

    def parse_notification(self, raw: RawNotification) -> Notification:
        """Verify ``Stripe-Signature`` over the raw body with the SDK's verifier (the first step of
        ``construct_event``), then the timestamp against the moment we received the request, not
        the clock at parsing, so a stored notification parses the same later. The body is read
        as plain JSON: we need its data, not SDK objects, and the SDK's own parsing fails with
        ``AttributeError`` on signed bodies that are JSON but not an object."""
        header = raw.headers.get("stripe-signature")
        try:
            stripe.WebhookSignature.verify_header(
                raw.body, header, self._config.webhook_secret, tolerance=None
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidNotification(f"Stripe-Signature: {error.user_message or error}") from None
        except UnicodeDecodeError:
            raise InvalidNotification("Stripe-Signature: the body is not UTF-8") from None
        signed_at = _timestamp(header or "")
        if signed_at < raw.received_at.timestamp() - self._config.webhook_tolerance_seconds:
            raise InvalidNotification(f"Stripe-Signature timestamp {signed_at} is outside the tolerance zone")
        try:
            event = json.loads(raw.body)
        except ValueError:
            raise InvalidNotification("not a Stripe event: the body is not JSON") from None
        event_id = event.get("id") if isinstance(event, dict) else None
        if not isinstance(event, dict) or event.get("object") != "event" or not isinstance(event_id, str):
            raise InvalidNotification("not a Stripe event")  # thin (v2) events included
        try:
            return Notification(event_id, changes_from(event))
        except ValueError as error:
            raise InvalidNotification(f"event {event_id}: {error}") from None

    def _find_intent(self, payment_id: str) -> dict[str, Any] | None:
        """Our PaymentIntent by ``metadata.payment_id``; the newest if a race made two."""
        quoted = payment_id.replace("\\", "\\\\").replace("'", "\\'")  # the search language's escapes
        found = self._client.v1.payment_intents.search(
            params={"query": f"metadata['payment_id']:'{quoted}'", "limit": 10}
        )
        intents = [intent.to_dict() for intent in found.data]
        ours = [i for i in intents if our_id(i, "payment_id") == payment_id]
        return max(ours, key=lambda i: int(i.get("created") or 0), default=None)


def _id_of(intent: Mapping[str, Any] | None) -> str | None:
    value = intent.get("id") if intent is not None else None
    return value if isinstance(value, str) else None


def _timestamp(header: str) -> int:
    """The first ``t=`` of a header the SDK already accepted."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            return int(value)
    raise InvalidNotification("Stripe-Signature without a timestamp")


def _answered(read: Callable[[], T]) -> T:
    """Read Stripe's answer; an answer that cannot be ours is not a result we can act on."""
    try:
        return read()
    except ValueError as error:
        raise GatewayUnavailable(f"unusable answer from Stripe: {error}") from None


def _business_outcome(error: stripe.StripeError) -> str:
    """The reason of a refusal Stripe decided on (card declined, amount too large, idempotency
    key reused with other parameters); anything else is an infrastructure failure."""
    if isinstance(error, stripe.CardError | stripe.InvalidRequestError | stripe.IdempotencyError):
        return _describe(error)
    _unavailable(error)


def _unavailable(error: stripe.StripeError) -> NoReturn:
    status = f" (HTTP {error.http_status})" if error.http_status else ""
    raise GatewayUnavailable(f"Stripe: {_describe(error)}{status}") from error


def _describe(error: stripe.StripeError) -> str:
    message = error.user_message or str(error) or type(error).__name__
    parts = [str(error.code)] if error.code else []
    if isinstance(error, stripe.CardError) and error.error is not None and error.error.decline_code:
        parts.append(str(error.error.decline_code))
    return f"{'/'.join(parts)}: {message}" if parts else message
