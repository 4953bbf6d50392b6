"""The contract every ``PaymentGateway`` adapter passes, ours or an integrator's.

Subclass ``PaymentGatewayContract`` in a ``Test*`` class and provide a ``harness`` fixture: a
``GatewayHarness`` whose gateway talks to the provider (or a local server that speaks the
provider's wire format) and which can play the buyer and the provider's notifier::

    class TestMyGateway(PaymentGatewayContract):
        @pytest.fixture
        def harness(self) -> Iterator[GatewayHarness]:
            with my_fake_provider() as fake:
                yield MyHarness(fake)

Online gateways (``pays_on_delivery = False``) run every test; cash-on-delivery gateways run the
ones that apply to them (``test_*`` methods below check ``pays_on_delivery`` themselves and assert
the cash-on-delivery behaviour instead, so nothing is skipped).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import pytest

from marketcore.application.payments.ports import (
    GatewayUnavailable,
    InvalidNotification,
    PaymentGateway,
)
from marketcore.application.shared.ids import new_id
from marketcore.domain.payments.payments import (
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
    PaymentQuery,
    ProviderPayment,
    ProviderRefund,
    ProviderStatus,
    RawNotification,
)
from marketcore.domain.shared.money import Currency, Money


class GatewayHarness(Protocol):
    """What a contract run needs besides the gateway under test."""

    gateway: PaymentGateway
    currency: Currency  # what the provider charges in (CNY for Alipay and WeChat Pay)

    def pay(self, request: PaymentRequest, started: PaymentStarted) -> None:
        """Act as the buyer completing the payment at the provider."""
        ...

    def notification(self, payment_id: str) -> RawNotification:
        """The provider's genuine, signed notification of the payment's current state."""
        ...

    def forged_notification(self, payment_id: str) -> RawNotification:
        """A notification claiming the payment succeeded, not signed by the provider."""
        ...

    def unreachable(self) -> PaymentGateway | None:
        """The same gateway configured against an address where nothing answers; None for a
        gateway that calls nothing (the sandbox)."""
        ...


def _request(harness: GatewayHarness, cents: int = 12_345) -> PaymentRequest:
    payment_id = new_id()
    return PaymentRequest(payment_id, new_id(), Money(cents, harness.currency), f"checkout {payment_id}")


def _started(harness: GatewayHarness, request: PaymentRequest) -> PaymentStarted:
    outcome = harness.gateway.create(request)
    assert isinstance(outcome, PaymentStarted), outcome
    return outcome


def _paid(harness: GatewayHarness, cents: int = 12_345) -> tuple[PaymentRequest, PaymentStarted]:
    request = _request(harness, cents)
    started = _started(harness, request)
    harness.pay(request, started)
    return request, started


def _refund(request: PaymentRequest, started: PaymentStarted, cents: int) -> RefundRequest:
    amount = Money(cents, request.amount.currency)
    return RefundRequest(new_id(), request.payment_id, started.provider_reference, amount, "contract")


class PaymentGatewayContract:
    """Behaviour the payment service relies on, whatever the provider."""

    @pytest.fixture
    def harness(self) -> GatewayHarness:
        raise NotImplementedError("provide a GatewayHarness fixture")

    def test_identifies_itself(self, harness: GatewayHarness) -> None:
        gateway = harness.gateway
        assert gateway.code and gateway.code == gateway.code.strip().lower()
        assert 200 <= gateway.acknowledgement.status < 300

    def test_create_returns_a_provider_reference_and_what_the_buyer_does_next(
        self, harness: GatewayHarness
    ) -> None:
        started = _started(harness, _request(harness))
        assert started.provider_reference
        if harness.gateway.pays_on_delivery:
            assert started.next_action.kind is NextActionKind.NONE
            assert started.status is PaymentStatus.PENDING
        else:
            assert started.next_action.kind is not NextActionKind.NONE
            assert started.next_action.value
            assert started.status in (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)

    def test_create_is_idempotent_per_payment(self, harness: GatewayHarness) -> None:
        request = _request(harness)
        first = _started(harness, request)
        again = _started(harness, request)
        assert again.provider_reference == first.provider_reference

    def test_query_reports_an_unpaid_payment_as_not_succeeded(self, harness: GatewayHarness) -> None:
        request = _request(harness)
        started = _started(harness, request)
        seen = harness.gateway.query(
            PaymentQuery(request.payment_id, started.provider_reference, request.amount)
        )
        assert seen.payment_id == request.payment_id
        assert seen.status in (ProviderStatus.PENDING, ProviderStatus.REQUIRES_ACTION)

    def test_query_reports_a_paid_payment_with_its_amount(self, harness: GatewayHarness) -> None:
        if harness.gateway.pays_on_delivery:
            return  # paid in cash at the door: the provider never sees it
        request, started = _paid(harness, 9_999)
        seen = harness.gateway.query(
            PaymentQuery(request.payment_id, started.provider_reference, request.amount)
        )
        assert seen == ProviderPayment(
            request.payment_id,
            ProviderStatus.SUCCEEDED,
            seen.provider_reference,
            request.amount,
            seen.failure_reason,
        )
        assert seen.provider_reference

    def test_a_genuine_notification_names_our_payment_and_the_amount(self, harness: GatewayHarness) -> None:
        if harness.gateway.pays_on_delivery:
            with pytest.raises(InvalidNotification):
                harness.gateway.parse_notification(_unsigned())
            return
        request, _ = _paid(harness, 4_321)
        raw = harness.notification(request.payment_id)
        parsed = harness.gateway.parse_notification(raw)
        assert parsed.event_id
        payments = [c for c in parsed.changes if isinstance(c, ProviderPayment)]
        assert [(p.payment_id, p.status, p.amount) for p in payments] == [
            (request.payment_id, ProviderStatus.SUCCEEDED, request.amount)
        ]
        assert harness.gateway.parse_notification(raw).event_id == parsed.event_id  # stable for the inbox

    def test_a_forged_notification_is_rejected(self, harness: GatewayHarness) -> None:
        if harness.gateway.pays_on_delivery:
            return  # covered above: no notification is ever genuine
        request, _ = _paid(harness)
        with pytest.raises(InvalidNotification):
            harness.gateway.parse_notification(harness.forged_notification(request.payment_id))

    def test_a_notification_with_its_body_changed_is_rejected(self, harness: GatewayHarness) -> None:
        if harness.gateway.pays_on_delivery:
            return
        request, _ = _paid(harness)
        raw = harness.notification(request.payment_id)
        tampered = RawNotification(raw.headers, raw.body.replace(b"1", b"2", 1) + b" ", raw.received_at)
        with pytest.raises(InvalidNotification):
            harness.gateway.parse_notification(tampered)

    def test_partial_refunds_up_to_the_capture(self, harness: GatewayHarness) -> None:
        request, started = _paid(harness, 10_000)
        first = harness.gateway.refund(_refund(request, started, 3_000))
        if harness.gateway.pays_on_delivery:
            assert isinstance(first, RefundDeclined)
            return
        second = harness.gateway.refund(_refund(request, started, 7_000))
        for outcome in (first, second):
            assert isinstance(outcome, RefundAccepted), outcome
            assert outcome.provider_reference
            assert outcome.status in (RefundStatus.PENDING, RefundStatus.SUCCEEDED)
        assert first.provider_reference != second.provider_reference  # type: ignore[union-attr]

    def test_a_refund_retried_with_its_id_is_taken_once(self, harness: GatewayHarness) -> None:
        if harness.gateway.pays_on_delivery:
            return
        request, started = _paid(harness, 10_000)
        refund = _refund(request, started, 6_000)
        first = harness.gateway.refund(refund)
        again = harness.gateway.refund(refund)
        assert isinstance(first, RefundAccepted) and isinstance(again, RefundAccepted)
        assert again.provider_reference == first.provider_reference
        # Had the retry been taken twice, 12,000 of 10,000 would be refunded; the rest must still fit.
        rest = harness.gateway.refund(_refund(request, started, 4_000))
        assert isinstance(rest, RefundAccepted), rest

    def test_refund_notifications_name_our_refund(self, harness: GatewayHarness) -> None:
        """Providers that notify about refunds say which one; the others notify nothing."""
        if harness.gateway.pays_on_delivery:
            return
        request, started = _paid(harness, 10_000)
        refund = _refund(request, started, 2_500)
        assert isinstance(harness.gateway.refund(refund), RefundAccepted)
        parsed = harness.gateway.parse_notification(harness.notification(request.payment_id))
        refunds = [c for c in parsed.changes if isinstance(c, ProviderRefund)]
        for change in refunds:
            assert (change.payment_id, change.refund_id) == (request.payment_id, refund.refund_id)
            assert change.amount in (None, refund.amount)

    def test_an_unreachable_provider_is_an_infrastructure_error(self, harness: GatewayHarness) -> None:
        unreachable = None if harness.gateway.pays_on_delivery else harness.unreachable()
        if unreachable is None:
            return  # nothing to reach
        request = _request(harness)
        with pytest.raises(GatewayUnavailable):
            unreachable.create(request)
        with pytest.raises(GatewayUnavailable):
            unreachable.query(PaymentQuery(request.payment_id, None, request.amount))

    def test_create_declines_or_starts_never_both(self, harness: GatewayHarness) -> None:
        outcome = harness.gateway.create(_request(harness, 1))
        assert isinstance(outcome, PaymentStarted | PaymentDeclined)


def _unsigned() -> RawNotification:
    return RawNotification({"content-type": "application/json"}, b'{"id":"evt_1"}', datetime.now(UTC))
