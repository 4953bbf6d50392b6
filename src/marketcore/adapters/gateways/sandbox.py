"""The sandbox gateway: no money moves. It keeps its payments in this process, settles one when
the buyer says so (``POST /payments/{id}/sandbox-complete``) and answers with a notification
signed like a provider's (HMAC-SHA256 over the body), which the payment inbox verifies and
processes exactly as it does Stripe's or Alipay's. For demos and tests; enabled by setting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from datetime import UTC, datetime
from typing import ClassVar

import attrs

from marketcore.application.payments.ports import InvalidNotification
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
)
from marketcore.domain.payments.provider import (
    Notification,
    NotificationReply,
    PaymentQuery,
    ProviderPayment,
    ProviderStatus,
    RawNotification,
)
from marketcore.domain.shared.money import Currency, Money

SIGNATURE_HEADER = "sandbox-signature"


@attrs.define
class _Trade:
    amount: Money
    status: ProviderStatus = ProviderStatus.REQUIRES_ACTION
    refunds: dict[str, int] = attrs.Factory(dict)  # refund id -> minor units


class SandboxGateway:
    code: ClassVar[str] = "sandbox"
    pays_on_delivery: ClassVar[bool] = False
    acknowledgement: ClassVar[NotificationReply] = NotificationReply()

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret or os.urandom(32)
        self._trades: dict[str, _Trade] = {}
        self._lock = threading.Lock()

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined:
        with self._lock:
            self._trades.setdefault(request.payment_id, _Trade(request.amount))
        return PaymentStarted(
            provider_reference=f"sbx_{request.payment_id}",
            next_action=NextAction(
                NextActionKind.REDIRECT, f"/api/v1/payments/{request.payment_id}/sandbox-complete"
            ),
            status=PaymentStatus.REQUIRES_ACTION,
        )

    def settle(self, payment_id: str, amount: Money, succeeded: bool) -> RawNotification:
        """The buyer pays ``amount`` (or fails to); returns the signed notification saying so. A
        payment another process created is taken as created here: the sandbox keeps no shared state."""
        with self._lock:
            trade = self._trades.setdefault(payment_id, _Trade(amount))
            if trade.status is not ProviderStatus.SUCCEEDED:
                trade.status = ProviderStatus.SUCCEEDED if succeeded else ProviderStatus.FAILED
            status, charged = trade.status, trade.amount
        body = {
            "id": f"sbx_evt_{payment_id}_{status}",
            "payment_id": payment_id,
            "status": str(status),
            "amount": charged.amount,
            "currency": str(charged.currency),
        }
        return self.signed(json.dumps(body, sort_keys=True).encode())

    def signed(self, body: bytes) -> RawNotification:
        signature = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
        return RawNotification({SIGNATURE_HEADER: signature}, body, datetime.now(UTC))

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        """Sandbox refunds succeed at once, up to what was captured; a retry is taken once."""
        with self._lock:
            trade = self._trades.get(request.payment_id)
            if trade is not None and request.refund_id not in trade.refunds:
                if trade.status is not ProviderStatus.SUCCEEDED:
                    return RefundDeclined("the sandbox payment was not captured")
                if sum(trade.refunds.values()) + request.amount.amount > trade.amount.amount:
                    return RefundDeclined("refund exceeds what the sandbox captured")
                trade.refunds[request.refund_id] = request.amount.amount
        return RefundAccepted(f"sbx_re_{request.refund_id}")

    def query(self, query: PaymentQuery) -> ProviderPayment:
        with self._lock:
            trade = self._trades.get(query.payment_id)
        if trade is None:  # created by another process: the sandbox cannot know
            return ProviderPayment(query.payment_id, ProviderStatus.PENDING, None, None)
        amount = trade.amount if trade.status is ProviderStatus.SUCCEEDED else None
        return ProviderPayment(query.payment_id, trade.status, f"sbx_{query.payment_id}", amount)

    def parse_notification(self, raw: RawNotification) -> Notification:
        expected = hmac.new(self._secret, raw.body, hashlib.sha256).hexdigest().encode()
        given = raw.headers.get(SIGNATURE_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise InvalidNotification("sandbox notification signature does not match")
        try:
            body = json.loads(raw.body)
            status = ProviderStatus(body["status"])
            amount = Money(int(body["amount"]), Currency(body["currency"]))
            change = ProviderPayment(str(body["payment_id"]), status, f"sbx_{body['payment_id']}", amount)
            return Notification(str(body["id"]), (change,))
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidNotification(f"malformed sandbox notification: {error}") from None
