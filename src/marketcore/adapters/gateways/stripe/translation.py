"""Stripe objects (PaymentIntent, Refund, Charge, Event as plain JSON) -> provider values.

One translation serves query answers and webhooks, so both report a payment the same way.
Functions raise ``ValueError`` for objects that cannot be ours as they stand (missing fields,
a currency we do not sell in); callers turn that into ``GatewayUnavailable`` or
``InvalidNotification``. Objects without our ids in ``metadata`` (made in the Dashboard or by
another integration on the account) translate to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marketcore.domain.payments.payments import RefundStatus
from marketcore.domain.payments.provider import ProviderPayment, ProviderRefund, ProviderStatus
from marketcore.domain.shared.money import Currency, Money

PAYMENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.processing",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.requires_action",
    }
)
REFUND_EVENTS = frozenset({"refund.created", "refund.updated", "refund.failed"})

_INTENT_STATUS = {
    "requires_payment_method": ProviderStatus.PENDING,
    "requires_confirmation": ProviderStatus.PENDING,
    "requires_action": ProviderStatus.REQUIRES_ACTION,
    "processing": ProviderStatus.PROCESSING,
    "requires_capture": ProviderStatus.PROCESSING,  # we capture automatically; authorised, not yet ours
    "succeeded": ProviderStatus.SUCCEEDED,
    "canceled": ProviderStatus.CANCELLED,
}
_REFUND_STATUS = {
    "pending": RefundStatus.PENDING,
    "requires_action": RefundStatus.PENDING,
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


def money(amount: object, currency: object) -> Money:
    """Stripe amounts are integers in the currency's smallest unit, as ours are."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"not an amount: {amount!r}")
    if not isinstance(currency, str) or currency.upper() not in Currency.__members__:
        raise ValueError(f"unsupported currency: {currency!r}")
    return Money(amount, Currency(currency.upper()))


def our_id(obj: Mapping[str, Any], key: str) -> str | None:
    metadata = obj.get("metadata")
    value = metadata.get(key) if isinstance(metadata, Mapping) else None
    return value if isinstance(value, str) and value else None


def payment_from_intent(intent: Mapping[str, Any]) -> ProviderPayment | None:
    """A PaymentIntent as we see it; ``requires_payment_method`` after a failed attempt
    (``last_payment_error`` set) is FAILED, as Stripe's own ``payment_failed`` event means."""
    payment_id = our_id(intent, "payment_id")
    if payment_id is None:
        return None
    if intent.get("object") != "payment_intent" or not isinstance(intent.get("id"), str):
        raise ValueError("not a PaymentIntent")
    stripe_status = intent.get("status")
    if stripe_status not in _INTENT_STATUS:
        raise ValueError(f"unknown PaymentIntent status {stripe_status!r}")
    status = _INTENT_STATUS[stripe_status]
    error = intent.get("last_payment_error")
    failure = None
    if isinstance(error, Mapping) and stripe_status == "requires_payment_method":
        status = ProviderStatus.FAILED
        failure = str(error.get("message") or error.get("code") or "payment failed")
    elif stripe_status == "canceled":
        failure = str(intent.get("cancellation_reason") or "canceled")
    charged = intent.get("amount_received") if status is ProviderStatus.SUCCEEDED else intent.get("amount")
    return ProviderPayment(payment_id, status, intent["id"], money(charged, intent.get("currency")), failure)


def refund_from(refund: Mapping[str, Any]) -> ProviderRefund | None:
    refund_id, payment_id = our_id(refund, "refund_id"), our_id(refund, "payment_id")
    if refund_id is None or payment_id is None:
        return None
    if refund.get("object") != "refund" or not isinstance(refund.get("id"), str):
        raise ValueError("not a Refund")
    stripe_status = refund.get("status")
    if stripe_status not in _REFUND_STATUS:
        raise ValueError(f"unknown Refund status {stripe_status!r}")
    status = _REFUND_STATUS[stripe_status]
    failure = None
    if status is RefundStatus.FAILED:
        failure = str(refund.get("failure_reason") or stripe_status)
    amount = money(refund.get("amount"), refund.get("currency"))
    return ProviderRefund(payment_id, refund_id, status, refund["id"], amount, failure)


def changes_from(event: Mapping[str, Any]) -> tuple[ProviderPayment | ProviderRefund, ...]:
    """The changes a verified event reports; event types we do not act on report none.

    ``charge.refunded`` carries a Charge, which holds our ids only through its ``refunds`` list
    (present when the endpoint's API version or an expansion includes it); the ``refund.*``
    events name each refund on their own.
    """
    kind = event.get("type")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping):
        raise ValueError("event without data.object")
    found: list[ProviderPayment | ProviderRefund | None] = []
    if kind in PAYMENT_EVENTS and obj.get("object") == "payment_intent":
        found.append(payment_from_intent(obj))
    elif kind in REFUND_EVENTS and obj.get("object") == "refund":
        found.append(refund_from(obj))
    elif kind == "charge.refunded" and obj.get("object") == "charge":
        refunds = obj.get("refunds")
        listed = refunds.get("data") if isinstance(refunds, Mapping) else None
        for refund in listed if isinstance(listed, list) else []:
            if isinstance(refund, Mapping):
                found.append(refund_from(refund))
    return tuple(change for change in found if change is not None)
