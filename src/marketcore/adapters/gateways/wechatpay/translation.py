"""WeChat Pay objects (transactions, refunds, decrypted callback resources) -> provider values.

Our payment ids are canonical UUID strings (36 characters), longer than WeChat's 6-32 character
``out_trade_no``; the order number is the UUID's 32 hex digits, and maps back by putting the
dashes in again. Nothing needs storing, and an order number that is not 32 lowercase hex digits
(an order made by another system on the merchant account) is not ours. Refund ids fit WeChat's
1-64 character ``out_refund_no`` as they are.

Functions raise ``ValueError`` for objects that cannot be ours as they stand (missing fields,
another merchant, a currency we do not sell in); callers turn that into ``GatewayUnavailable`` or
``InvalidNotification``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import Any

from marketcore.domain.payments.payments import RefundStatus
from marketcore.domain.payments.provider import ProviderPayment, ProviderRefund, ProviderStatus
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money

PAYMENT_EVENTS = frozenset({"TRANSACTION.SUCCESS"})  # WeChat Pay notifies successful payments only
REFUND_EVENTS = {"REFUND.SUCCESS": "SUCCESS", "REFUND.ABNORMAL": "ABNORMAL", "REFUND.CLOSED": "CLOSED"}

_TRADE_STATE = {
    "NOTPAY": ProviderStatus.PENDING,
    "USERPAYING": ProviderStatus.PROCESSING,  # waiting for the buyer's password (micropay)
    "ACCEPT": ProviderStatus.PROCESSING,  # accepted, being paid
    "SUCCESS": ProviderStatus.SUCCEEDED,
    "REFUND": ProviderStatus.SUCCEEDED,  # paid, then (partly) refunded: refunds do not undo capture
    "CLOSED": ProviderStatus.CANCELLED,
    "REVOKED": ProviderStatus.CANCELLED,
    "PAYERROR": ProviderStatus.FAILED,
}
REFUND_STATUS = {
    "PROCESSING": RefundStatus.PENDING,
    "SUCCESS": RefundStatus.SUCCEEDED,
    "ABNORMAL": RefundStatus.FAILED,  # the buyer's account cannot take it: handled in the merchant platform
    "CLOSED": RefundStatus.FAILED,
}
_REFUND_FAILURE = {
    "ABNORMAL": "ABNORMAL: the refund could not be paid into the buyer's account; "
    "finish it in the merchant platform",
    "CLOSED": "CLOSED: WeChat Pay closed the refund",
}
_OUT_TRADE_NO = re.compile(r"[0-9a-f]{32}")


def out_trade_no(payment_id: str) -> str:
    """The order number WeChat Pay keeps for our payment: the UUID's 32 hex digits."""
    try:
        parsed = uuid.UUID(payment_id)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != payment_id:
        raise InvalidInput("payment_id", "WeChat Pay payments need a canonical UUID payment id")
    return parsed.hex


def payment_id_of(number: object) -> str | None:
    """Our payment id behind an ``out_trade_no``, or None when the order is not one of ours."""
    if isinstance(number, str) and _OUT_TRADE_NO.fullmatch(number):
        return str(uuid.UUID(hex=number))
    return None


def refund_id_of(number: object) -> str | None:
    """Our refund id behind an ``out_refund_no``; refunds made in the merchant platform get
    WeChat's own numbers and are not ours."""
    if not isinstance(number, str):
        return None
    try:
        return number if str(uuid.UUID(number)) == number else None
    except ValueError:
        return None


def money(amount: object, key: str) -> Money:
    """WeChat amounts are integers in fen, as ours are; ``currency`` is CNY, or absent (refund
    callbacks leave it out)."""
    if not isinstance(amount, Mapping):
        raise ValueError("no amount")
    value, currency = amount.get(key), amount.get("currency", "CNY")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not an amount: {key}={value!r}")
    if currency != Currency.CNY:
        raise ValueError(f"unsupported currency: {currency!r}")
    return Money(value, Currency.CNY)


def payment_from_transaction(transaction: Mapping[str, Any], mchid: str) -> ProviderPayment | None:
    """A transaction (query answer or TRANSACTION.* resource) as we see it. The reference is
    WeChat's ``transaction_id`` once paid, our order number before; the amount is the order
    ``total``, what the merchant is paid (the buyer may pay less with WeChat-funded coupons)."""
    payment_id = payment_id_of(transaction.get("out_trade_no"))
    if payment_id is None:
        return None
    if transaction.get("mchid") != mchid:
        raise ValueError(f"the transaction belongs to merchant {transaction.get('mchid')!r}, not {mchid}")
    state = transaction.get("trade_state")
    if not isinstance(state, str) or state not in _TRADE_STATE:
        raise ValueError(f"unknown trade_state {state!r}")
    status = _TRADE_STATE[state]
    reference = transaction.get("transaction_id")
    if not isinstance(reference, str) or not reference:
        reference = transaction["out_trade_no"]
    amount = transaction.get("amount")
    charged = None
    if status is ProviderStatus.SUCCEEDED or (isinstance(amount, Mapping) and "total" in amount):
        charged = money(amount, "total")
    failure = None
    if status in (ProviderStatus.FAILED, ProviderStatus.CANCELLED):
        failure = f"{state}: {transaction.get('trade_state_desc') or state.lower()}"
    return ProviderPayment(payment_id, status, reference, charged, failure)


def refund_from(resource: Mapping[str, Any], mchid: str, status_key: str) -> ProviderRefund | None:
    """A refund, from the refund API (``status``) or a REFUND.* resource (``refund_status``)."""
    payment_id = payment_id_of(resource.get("out_trade_no"))
    refund_id = refund_id_of(resource.get("out_refund_no"))
    if payment_id is None or refund_id is None:
        return None
    if "mchid" in resource and resource["mchid"] != mchid:
        raise ValueError(f"the refund belongs to merchant {resource['mchid']!r}, not {mchid}")
    state = resource.get(status_key)
    if not isinstance(state, str) or state not in REFUND_STATUS:
        raise ValueError(f"unknown refund {status_key} {state!r}")
    reference = resource.get("refund_id")
    if not isinstance(reference, str) or not reference:
        raise ValueError("a refund without refund_id")
    amount = money(resource.get("amount"), "refund")
    return ProviderRefund(
        payment_id, refund_id, REFUND_STATUS[state], reference, amount, refund_failure(state)
    )


def refund_failure(state: str) -> str | None:
    return _REFUND_FAILURE.get(state)


def changes_from(
    event_type: str, resource: Mapping[str, Any], mchid: str
) -> tuple[ProviderPayment | ProviderRefund, ...]:
    """The change a decrypted callback reports; the event type must agree with the resource."""
    found: ProviderPayment | ProviderRefund | None
    if event_type in PAYMENT_EVENTS:
        if resource.get("trade_state") != "SUCCESS":
            raise ValueError(f"{event_type} reports trade_state {resource.get('trade_state')!r}")
        found = payment_from_transaction(resource, mchid)
    elif event_type in REFUND_EVENTS:
        if resource.get("refund_status") != REFUND_EVENTS[event_type]:
            raise ValueError(f"{event_type} reports refund_status {resource.get('refund_status')!r}")
        found = refund_from(resource, mchid, "refund_status")
    else:
        found = None
    return () if found is None else (found,)
