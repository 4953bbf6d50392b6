"""The sandbox and cash-on-delivery gateways pass the same contract as the providers' adapters."""

from __future__ import annotations

import pytest

from marketcore.adapters.gateways.cod import CashOnDeliveryGateway
from marketcore.adapters.gateways.sandbox import SandboxGateway
from marketcore.application.payments.ports import InvalidNotification, PaymentGateway
from marketcore.domain.payments.payments import (
    PaymentRequest,
    PaymentStarted,
    RefundAccepted,
    RefundDeclined,
    RefundRequest,
)
from marketcore.domain.payments.provider import RawNotification
from marketcore.domain.shared.money import Currency, Money
from marketcore.testing.payments import GatewayHarness, PaymentGatewayContract


class SandboxHarness:
    currency = Currency.CNY

    def __init__(self) -> None:
        self.sandbox = SandboxGateway(b"contract-secret")
        self.gateway: PaymentGateway = self.sandbox
        self._amounts: dict[str, Money] = {}

    def pay(self, request: PaymentRequest, started: PaymentStarted) -> None:
        self._amounts[request.payment_id] = request.amount
        self.sandbox.settle(request.payment_id, request.amount, succeeded=True)

    def notification(self, payment_id: str) -> RawNotification:
        return self.sandbox.settle(payment_id, self._amounts[payment_id], succeeded=True)

    def forged_notification(self, payment_id: str) -> RawNotification:
        genuine = self.notification(payment_id)
        return SandboxGateway(b"not-the-secret").signed(genuine.body)

    def unreachable(self) -> PaymentGateway | None:
        return None  # the sandbox calls nothing


class CashOnDeliveryHarness:
    currency = Currency.CNY
    gateway: PaymentGateway = CashOnDeliveryGateway()

    def pay(self, request: PaymentRequest, started: PaymentStarted) -> None:
        """Paid in cash at the door: the gateway never hears of it."""

    def notification(self, payment_id: str) -> RawNotification:
        raise AssertionError("cash on delivery sends no notifications")

    def forged_notification(self, payment_id: str) -> RawNotification:
        raise AssertionError("cash on delivery sends no notifications")

    def unreachable(self) -> PaymentGateway | None:
        return None


class TestSandboxContract(PaymentGatewayContract):
    @pytest.fixture
    def harness(self) -> GatewayHarness:
        return SandboxHarness()


class TestCashOnDeliveryContract(PaymentGatewayContract):
    @pytest.fixture
    def harness(self) -> GatewayHarness:
        return CashOnDeliveryHarness()


def test_sandbox_notifications_from_another_deployment_are_refused() -> None:
    ours, theirs = SandboxGateway(b"ours"), SandboxGateway(b"theirs")
    raw = theirs.settle("p1", Money(100), succeeded=True)
    with pytest.raises(InvalidNotification):
        ours.parse_notification(raw)
    assert theirs.parse_notification(raw).event_id == "sbx_evt_p1_succeeded"


def test_a_sandbox_refund_beyond_the_capture_is_declined() -> None:
    sandbox = SandboxGateway(b"s")
    request = PaymentRequest("p1", "c1", Money(1_000), "checkout c1")
    sandbox.create(request)
    sandbox.settle("p1", request.amount, succeeded=True)
    assert isinstance(sandbox.refund(RefundRequest("r1", "p1", None, Money(800), "x")), RefundAccepted)
    assert isinstance(sandbox.refund(RefundRequest("r2", "p1", None, Money(300), "x")), RefundDeclined)
