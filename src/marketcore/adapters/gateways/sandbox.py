"""The sandbox gateway: no money moves; the buyer settles the payment through
``POST /payments/{id}/sandbox-complete``. For demos and tests; enabled by setting."""

from __future__ import annotations

from typing import ClassVar

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


class SandboxGateway:
    code: ClassVar[str] = "sandbox"
    pays_on_delivery: ClassVar[bool] = False
    acknowledgement: ClassVar[NotificationReply] = NotificationReply()

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined:
        return PaymentStarted(
            provider_reference=f"sbx_{request.payment_id}",
            next_action=NextAction(
                NextActionKind.REDIRECT, f"/api/v1/payments/{request.payment_id}/sandbox-complete"
            ),
            status=PaymentStatus.REQUIRES_ACTION,
        )

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        """Sandbox refunds succeed at once."""
        return RefundAccepted(f"sbx_re_{request.refund_id}")

    def query(self, query: PaymentQuery) -> ProviderPayment:
        # TODO(issue 4): report the provider-side state once the sandbox keeps one.
        return ProviderPayment(query.payment_id, ProviderStatus.PENDING, None, query.amount)

    def parse_notification(self, raw: RawNotification) -> Notification:
        raise InvalidNotification("sandbox sends no notifications")
