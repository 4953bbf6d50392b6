"""Alipay trades (query answers, async notifications) -> provider values, and yuan <-> fen.

Alipay states amounts as yuan strings with two decimals (``"88.88"``); we count fen (integer
minor units). The conversion is exact string arithmetic and happens only in this adapter.
Functions raise ``ValueError`` for a trade that cannot be ours as it stands (no ``out_trade_no``,
an unreadable amount, an unknown ``trade_status``); callers turn that into
``GatewayUnavailable`` or ``InvalidNotification``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marketcore.domain.payments.payments import RefundStatus
from marketcore.domain.payments.provider import ProviderPayment, ProviderRefund, ProviderStatus
from marketcore.domain.shared.money import Currency, Money

MIN_FEN = 1  # 0.01 yuan
MAX_FEN = 100_000_000_00  # 100,000,000.00 yuan, Alipay's ceiling for one trade
_YUAN = re.compile(r"(0|[1-9]\d{0,11})(?:\.(\d{1,2}))?")
TRADE_STATUSES = frozenset({"WAIT_BUYER_PAY", "TRADE_SUCCESS", "TRADE_FINISHED", "TRADE_CLOSED"})


def yuan(amount: Money) -> str:
    """``Money(8888, CNY)`` -> ``"88.88"``."""
    if amount.currency is not Currency.CNY:
        raise ValueError(f"Alipay charges in CNY, not {amount.currency}")
    units, fen = divmod(amount.amount, 100)
    return f"{units}.{fen:02d}"


def fen(text: object) -> Money:
    """``"88.88"`` (or ``"88.8"``, ``"88"``) -> ``Money(8888, CNY)``; anything else is refused."""
    match = _YUAN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"not a yuan amount: {text!r}")
    units, decimals = match.groups()
    return Money(int(units) * 100 + int((decimals or "0").ljust(2, "0")), Currency.CNY)


def payment_from_trade(trade: Mapping[str, Any], *, paid_at_key: str) -> ProviderPayment:
    """A trade (a query answer or a notification) as we see it.

    ``TRADE_CLOSED`` means either "closed unpaid" or "fully refunded"; a payment time
    (``paid_at_key``: ``send_pay_date`` in query answers, ``gmt_payment`` in notifications) or a
    refunded amount tells the second, which stays SUCCEEDED: refunds do not undo a capture.
    """
    payment_id = trade.get("out_trade_no")
    if not isinstance(payment_id, str) or not payment_id:
        raise ValueError("a trade without out_trade_no")
    status = trade.get("trade_status")
    if status not in TRADE_STATUSES:
        raise ValueError(f"unknown trade_status {status!r}")
    reference = trade.get("trade_no")
    reference = reference if isinstance(reference, str) and reference else None
    amount = fen(trade.get("total_amount"))
    if status == "WAIT_BUYER_PAY":
        return ProviderPayment(payment_id, ProviderStatus.PENDING, reference, amount)
    if status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
        return ProviderPayment(payment_id, ProviderStatus.SUCCEEDED, reference, amount)
    refunded = trade.get("refund_fee")
    if trade.get(paid_at_key) or (refunded not in (None, "") and fen(refunded).amount > 0):
        return ProviderPayment(payment_id, ProviderStatus.SUCCEEDED, reference, amount)
    return ProviderPayment(payment_id, ProviderStatus.CANCELLED, reference, amount, "TRADE_CLOSED")


def changes_from_notification(
    fields: Mapping[str, str],
) -> tuple[ProviderPayment | ProviderRefund, ...]:
    """The changes a verified ``trade_status_sync`` notification reports.

    A refund notification (``out_biz_no`` with ``refund_fee`` or ``gmt_refund``) also names our
    refund: ``out_biz_no`` is the ``out_request_no`` we sent, our refund id. Its amount is left
    out because ``refund_fee`` is the trade's *cumulative* refunded total, not this refund's.
    Alipay notifies only refunds that went through, so the refund SUCCEEDED.
    """
    if fields.get("notify_type") != "trade_status_sync":
        return ()
    payment = payment_from_trade(fields, paid_at_key="gmt_payment")
    refund_id = fields.get("out_biz_no")
    if not refund_id or not (fields.get("refund_fee") or fields.get("gmt_refund")):
        return (payment,)
    refund = ProviderRefund(payment.payment_id, refund_id, RefundStatus.SUCCEEDED, refund_id)
    return (payment, refund)
