"""Cash on delivery: orders ship unpaid and are paid at the door.

The shop (or the carrier's remittance, recorded by an operator) records the collection, which
creates a succeeded payment for the order; a parcel refused at the door closes the order and its
units return to stock (``PaymentService.collect_on_delivery`` / ``refuse_on_delivery``)."""

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


class CashOnDeliveryGateway:
    code: ClassVar[str] = "cod"
    pays_on_delivery: ClassVar[bool] = True
    acknowledgement: ClassVar[NotificationReply] = NotificationReply()

    def create(self, request: PaymentRequest) -> PaymentStarted | PaymentDeclined:
        return PaymentStarted(
            provider_reference=f"cod_{request.payment_id}",
            next_action=NextAction(NextActionKind.NONE),
            status=PaymentStatus.PENDING,
        )

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        """Cash changes hands at the door; the shop returns it the same way, not the platform."""
        return RefundDeclined("cash on delivery is refunded by the shop in cash")

    def query(self, query: PaymentQuery) -> ProviderPayment:
        """No provider holds cash on delivery: the shop records the collection itself, so a
        payment here is never unsettled and this answer (still pending) is never acted on."""
        return ProviderPayment(query.payment_id, ProviderStatus.PENDING, None, query.amount)

    def parse_notification(self, raw: RawNotification) -> Notification:
        raise InvalidNotification("cod sends no notifications")
