"""Payments through the inbox, refunds, reconciliation and cash on delivery, on the memory store.

Notifications come from the sandbox gateway, which signs them like a provider; a ``FlakyGateway``
(the sandbox under another code) can be made unreachable or broken to show what survives that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import ClassVar

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.adapters.gateways.sandbox import SandboxGateway
from marketcore.application.ordering import inbox as inbox_module
from marketcore.application.ordering.checkout import CheckoutResult, ItemRequest
from marketcore.application.payments.ports import GatewayUnavailable, InvalidNotification, PaymentGateway
from marketcore.application.shared.ports import PageRequest
from marketcore.bootstrap import InvalidSettings, Settings
from marketcore.bootstrap.gateways import register_gateway
from marketcore.domain.ordering.orders import OrderNotCancellable, OrderNotPayable, OrderStatus
from marketcore.domain.payments.payments import (
    Payment,
    PaymentNotRefundable,
    PaymentRequest,
    PaymentStarted,
    PaymentStatus,
    RefundAccepted,
    RefundDeclined,
    RefundExceedsCapture,
    RefundRequest,
    RefundStatus,
)
from marketcore.domain.payments.provider import RawNotification
from marketcore.domain.shared.errors import Forbidden, IdempotencyConflict, InvalidInput
from marketcore.domain.shared.money import Money
from marketcore.testing.scenarios import Scenario, a_marketplace_with


class FlakyGateway(SandboxGateway):
    """The sandbox under the code ``flaky``, which can stop answering."""

    code: ClassVar[str] = "flaky"
    down = False

    def __init__(self) -> None:
        super().__init__(b"flaky-secret")

    def create(self, request: PaymentRequest) -> PaymentStarted | RefundDeclined:  # type: ignore[override]
        if FlakyGateway.down:
            raise GatewayUnavailable("flaky is down")
        return super().create(request)

    def refund(self, request: RefundRequest) -> RefundAccepted | RefundDeclined:
        if FlakyGateway.down:
            raise GatewayUnavailable("flaky is down")
        return super().refund(request)


def _flaky(options: object, secret_key: str) -> PaymentGateway:
    return FlakyGateway()


register_gateway("flaky", _flaky)


@pytest.fixture
def market(clock: FrozenClock) -> Iterator[Marketplace]:
    FlakyGateway.down = False
    m = create_marketplace("memory://", clock=clock, payment_gateways="sandbox,cod,flaky")
    yield m
    m.close()


@pytest.fixture
def s(market: Marketplace) -> Scenario:
    return a_marketplace_with(market, shops=2, stock=5)


def _checkout(s: Scenario, quantity: int = 1, method: str = "sandbox") -> CheckoutResult:
    items = [ItemRequest(s.shops[0].sku_ids[0], quantity), ItemRequest(s.shops[1].sku_ids[0], quantity)]
    return s.marketplace.checkout.checkout(s.buyer, s.address_id, method, items)


def _gateway(m: Marketplace, code: str) -> SandboxGateway:
    gateway = m.container.gateways()[code]
    assert isinstance(gateway, SandboxGateway)
    return gateway


def _deliver(m: Marketplace, code: str, raw: RawNotification) -> None:
    assert m.inbox.receive(code, raw.headers, raw.body).status == 200


def _report(
    m: Marketplace,
    payment: Payment,
    status: str,
    event_id: str,
    amount: int | None = None,
    currency: str = "CNY",
) -> RawNotification:
    """A genuine sandbox notification saying anything (a provider's bug, or a changed capture)."""
    body = {
        "id": event_id,
        "payment_id": payment.id,
        "status": status,
        "amount": payment.amount.amount if amount is None else amount,
        "currency": currency,
    }
    return _gateway(m, payment.gateway).signed(json.dumps(body, sort_keys=True).encode())


def _statuses(m: Marketplace, s: Scenario, result: CheckoutResult) -> list[OrderStatus]:
    return [m.orders.order(s.buyer, o.id).status for o in result.orders]


def _stock(s: Scenario, shop: int = 0) -> tuple[int, int]:
    level = s.marketplace.catalog.product(s.operator, s.shops[shop].product_ids[0]).stock[
        s.shops[shop].sku_ids[0]
    ]
    return level.on_hand, level.reserved


def _paid(s: Scenario, quantity: int = 1) -> tuple[CheckoutResult, Payment]:
    m = s.marketplace
    result = _checkout(s, quantity)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    return result, m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)


def test_a_notification_delivered_many_times_pays_the_orders_once(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    raw = _gateway(m, "sandbox").settle(payment.id, payment.amount, succeeded=True)
    for _ in range(4):
        _deliver(m, "sandbox", raw)
    assert m.payments.payment(s.buyer, payment.id).status is PaymentStatus.SUCCEEDED
    assert _statuses(m, s, result) == [OrderStatus.AWAITING_SHIPMENT] * 2
    assert _stock(s) == (4, 0)  # committed once
    event_id = json.loads(raw.body)["id"]
    message = m.inbox.message(f"sandbox:{event_id}")
    assert message is not None and message.processed_at is not None and message.due_at is None


def test_a_forged_notification_is_refused_and_nothing_is_stored(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    body = json.dumps({"id": "evt_forged", "payment_id": payment.id, "status": "succeeded",
                       "amount": payment.amount.amount, "currency": "CNY"}).encode()  # fmt: skip
    with pytest.raises(InvalidNotification):
        m.inbox.receive("sandbox", {"sandbox-signature": "0" * 64}, body)
    assert m.inbox.message("sandbox:evt_forged") is None
    assert m.payments.payment(s.buyer, payment.id).status is PaymentStatus.REQUIRES_ACTION


def test_a_success_for_another_amount_flags_the_payment_and_never_pays(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    _deliver(m, "sandbox", _report(m, payment, "succeeded", "evt_short", payment.amount.amount - 1))
    _deliver(m, "sandbox", _gateway(m, "sandbox").settle(payment.id, payment.amount, succeeded=True))
    flagged = m.payments.payment(s.buyer, payment.id)
    assert flagged.status is PaymentStatus.REQUIRES_ACTION and flagged.review is not None
    assert flagged.review.reported_amount == payment.amount - Money(1)
    assert _statuses(m, s, result) == [OrderStatus.PENDING_PAYMENT] * 2
    assert [p.id for p in m.payments.flagged(s.operator, PageRequest()).items] == [payment.id]
    with pytest.raises(Forbidden):
        m.payments.flagged(s.buyer, PageRequest())


def test_a_success_in_another_currency_is_flagged(s: Scenario) -> None:
    m = s.marketplace
    payment = m.payments.start(s.buyer, _checkout(s).checkout.id, "sandbox")
    _deliver(m, "sandbox", _report(m, payment, "succeeded", "evt_usd", currency="USD"))
    assert m.payments.payment(s.buyer, payment.id).review is not None


def test_a_late_success_for_closed_orders_is_refunded_automatically(s: Scenario, clock: FrozenClock) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    clock.advance(timedelta(minutes=31))
    m.due_work.run_due_work()
    assert _statuses(m, s, result) == [OrderStatus.CLOSED] * 2
    late = m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
    assert late.status is PaymentStatus.SUCCEEDED
    assert sorted((r.order_id, r.amount, r.status) for r in late.refunds) == sorted(
        (o.id, o.total, RefundStatus.SUCCEEDED) for o in result.orders
    )
    assert late.refundable == Money(0)
    assert _stock(s) == (5, 0)


def test_a_failure_reported_after_the_success_changes_nothing(s: Scenario) -> None:
    m = s.marketplace
    _, paid = _paid(s)
    _deliver(m, "sandbox", _report(m, paid, "failed", "evt_late_fail"))
    assert m.payments.payment(s.buyer, paid.id).status is PaymentStatus.SUCCEEDED


def test_a_success_after_a_reported_failure_still_pays(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    assert m.payments.complete_sandbox(s.buyer, payment.id, succeeded=False).status is PaymentStatus.FAILED
    _deliver(m, "sandbox", _report(m, payment, "succeeded", "evt_retry_ok"))
    assert m.payments.payment(s.buyer, payment.id).status is PaymentStatus.SUCCEEDED
    assert _statuses(m, s, result) == [OrderStatus.AWAITING_SHIPMENT] * 2


def test_two_payments_that_both_succeed_leave_the_checkout_paid_once(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    first = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    second = m.payments.start(s.buyer, result.checkout.id, "flaky")
    m.payments.complete_sandbox(s.buyer, first.id, succeeded=True)
    _deliver(m, "flaky", _gateway(m, "flaky").settle(second.id, second.amount, succeeded=True))
    twice = m.payments.payment(s.buyer, second.id)
    assert twice.status is PaymentStatus.SUCCEEDED and twice.refundable == Money(0)
    assert _statuses(m, s, result) == [OrderStatus.AWAITING_SHIPMENT] * 2


def test_operator_refunds_are_partial_several_and_never_exceed_the_share(s: Scenario) -> None:
    m = s.marketplace
    result, paid = _paid(s)
    order = result.orders[0]
    first = m.payments.refund(s.operator, paid.id, 1_000, "scratched", order.id, idempotency_key="r1")
    again = m.payments.refund(s.operator, paid.id, 1_000, "scratched", order.id, idempotency_key="r1")
    assert first.id == again.id and first.status is RefundStatus.SUCCEEDED
    with pytest.raises(IdempotencyConflict):
        m.payments.refund(s.operator, paid.id, 2_000, "scratched", order.id, idempotency_key="r1")
    with pytest.raises(RefundExceedsCapture):
        m.payments.refund(s.operator, paid.id, order.total.amount, "too much", order.id)
    m.payments.refund(s.operator, paid.id, 500, "late delivery", order.id)
    assert m.orders.order(s.buyer, order.id).status is OrderStatus.AWAITING_SHIPMENT
    with pytest.raises(InvalidInput) as error:
        m.payments.refund(s.operator, paid.id, 100, "which order?")
    assert error.value.field == "order_id"
    with pytest.raises(Forbidden):
        m.payments.refund(s.buyer, paid.id, 100, "self-service", order.id)
    refunded = m.payments.payment(s.operator, paid.id)
    assert refunded.refunded(order.id) == Money(1_500)


def test_an_order_refunded_in_full_closes_and_restocks(s: Scenario) -> None:
    m = s.marketplace
    result, paid = _paid(s, quantity=2)
    order = result.orders[0]
    assert _stock(s) == (3, 0)
    m.payments.refund(s.operator, paid.id, 1_000, "part", order.id)
    m.payments.refund(s.operator, paid.id, order.total.amount - 1_000, "the rest", order.id)
    closed = m.orders.order(s.buyer, order.id)
    assert (closed.status, closed.close_reason) == (OrderStatus.CLOSED, "refunded in full")
    assert _stock(s) == (5, 0)
    assert m.orders.order(s.buyer, result.orders[1].id).status is OrderStatus.AWAITING_SHIPMENT


def test_a_refund_the_provider_could_not_take_is_sent_again_by_the_worker(
    s: Scenario, clock: FrozenClock
) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "flaky")
    _deliver(m, "flaky", _gateway(m, "flaky").settle(payment.id, payment.amount, succeeded=True))
    FlakyGateway.down = True
    refund = m.payments.refund(s.operator, payment.id, 700, "dented", result.orders[0].id)
    assert (refund.status, refund.submitted_at) == (RefundStatus.PENDING, None)
    assert m.due_work.run_due_work().payments.refunds_sent == 0  # not due yet, and still down
    FlakyGateway.down = False
    clock.advance(timedelta(minutes=2))
    assert m.due_work.run_due_work().payments.refunds_sent == 1
    (sent,) = m.payments.payment(s.operator, payment.id).refunds
    assert sent.status is RefundStatus.SUCCEEDED and sent.submitted_at is not None
    assert m.due_work.run_due_work().payments.refunds_sent == 0


def test_a_provider_down_at_start_leaves_a_payment_that_a_retry_resumes(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    FlakyGateway.down = True
    with pytest.raises(GatewayUnavailable):
        m.payments.start(s.buyer, result.checkout.id, "flaky", idempotency_key="pay-1")
    FlakyGateway.down = False
    resumed = m.payments.start(s.buyer, result.checkout.id, "flaky", idempotency_key="pay-1")
    assert resumed.provider_reference and resumed.next_action.value
    assert len(m.payments.checkout_payments(s.buyer, result.checkout.id)) == 1


def test_a_notification_that_fails_processing_is_kept_and_retried(
    s: Scenario, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")

    def broken(*args: object) -> None:
        raise RuntimeError("a bug while applying the notification")

    with monkeypatch.context() as patch:
        patch.setattr(inbox_module, "apply_reports", broken)
        m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)  # acknowledged all the same
    assert m.payments.payment(s.buyer, payment.id).status is PaymentStatus.REQUIRES_ACTION
    stored = m.inbox.message(f"sandbox:sbx_evt_{payment.id}_succeeded")
    assert stored is not None and stored.due_at is not None and "a bug" in str(stored.last_error)
    clock.advance(timedelta(minutes=2))
    assert m.due_work.run_due_work().notifications == 1
    assert m.payments.payment(s.buyer, payment.id).status is PaymentStatus.SUCCEEDED
    assert _statuses(m, s, result) == [OrderStatus.AWAITING_SHIPMENT] * 2


def test_a_missed_notification_is_settled_by_asking_the_provider(s: Scenario, clock: FrozenClock) -> None:
    m = s.marketplace
    result = _checkout(s)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    _gateway(m, "sandbox").settle(payment.id, payment.amount, succeeded=True)  # the webhook is lost
    assert m.due_work.run_due_work().payments.queried == 0  # too young to ask about
    clock.advance(timedelta(minutes=6))
    report = m.due_work.run_due_work()
    assert (report.payments.queried, report.payments.settled) == (1, 1)
    assert _statuses(m, s, result) == [OrderStatus.AWAITING_SHIPMENT] * 2
    assert m.payments.payment(s.buyer, payment.id).check_at is None


def test_a_payment_never_settled_is_abandoned_after_a_day(s: Scenario, clock: FrozenClock) -> None:
    m = s.marketplace
    payment = m.payments.start(s.buyer, _checkout(s).checkout.id, "sandbox")
    for _ in range(30):
        clock.advance(timedelta(hours=1))
        m.due_work.run_due_work()
    abandoned = m.payments.payment(s.buyer, payment.id)
    assert abandoned.status is PaymentStatus.CANCELLED and abandoned.check_at is None


def test_starting_again_after_an_order_was_cancelled_supersedes_the_open_payment(s: Scenario) -> None:
    m = s.marketplace
    result = _checkout(s)
    first = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    m.orders.cancel(s.buyer, result.orders[1].id)
    second = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    assert second.id != first.id and second.amount == result.orders[0].total
    assert m.payments.payment(s.buyer, first.id).status is PaymentStatus.CANCELLED


def test_cash_on_delivery_is_paid_when_the_shop_records_the_collection(s: Scenario) -> None:
    m = s.marketplace
    shop = s.shops[0]
    order = _checkout(s, method="cod").orders[0]
    with pytest.raises(OrderNotPayable):
        m.payments.collect_on_delivery(shop.staff, shop.id, order.id)  # not delivered yet
    m.orders.ship(shop.staff, shop.id, order.id, "SF", "SF1")
    payment = m.payments.collect_on_delivery(shop.staff, shop.id, order.id)
    assert (payment.gateway, payment.status, payment.order_amounts) == (
        "cod",
        PaymentStatus.SUCCEEDED,
        {order.id: order.total.amount},
    )
    assert m.orders.order(s.buyer, order.id).is_paid
    with pytest.raises(OrderNotPayable):
        m.payments.collect_on_delivery(shop.staff, shop.id, order.id)


def test_cash_on_delivery_refused_at_the_door_closes_the_order_and_restocks(s: Scenario) -> None:
    m = s.marketplace
    shop = s.shops[0]
    order = _checkout(s, quantity=2, method="cod").orders[0]
    m.orders.ship(shop.staff, shop.id, order.id, "SF", "SF1")
    assert _stock(s) == (3, 0)
    refused = m.payments.refuse_on_delivery(shop.staff, shop.id, order.id, "buyer refused the parcel")
    assert (refused.status, refused.close_reason) == (OrderStatus.CLOSED, "buyer refused the parcel")
    assert _stock(s) == (5, 0)
    with pytest.raises(OrderNotCancellable):
        m.payments.refuse_on_delivery(shop.staff, shop.id, order.id, "again")
    assert m.ledger.check().ok


def test_only_cash_on_delivery_orders_are_collected(s: Scenario) -> None:
    m = s.marketplace
    shop = s.shops[0]
    result, _ = _paid(s)
    with pytest.raises(InvalidInput):
        m.payments.collect_on_delivery(shop.staff, shop.id, result.orders[0].id)


def test_gateway_options_come_from_their_own_variables_and_bad_ones_are_named() -> None:
    env = {
        "MARKETCORE_PAYMENT_GATEWAYS": "stripe,cod",
        "MARKETCORE_STRIPE_API_KEY": "sk_test_123",
        "MARKETCORE_STRIPE_WEBHOOK_SECRET": "whsec_abc",
    }
    settings = Settings.load(env)
    assert settings.gateway_options["stripe"] == {"api_key": "sk_test_123", "webhook_secret": "whsec_abc"}
    assert "sk_test_123" not in repr(settings)
    with pytest.raises(InvalidSettings) as error:
        Settings.load({**env, "MARKETCORE_STRIPE_API_KEY": "pk_live_oops"})
    assert str(error.value).startswith("MARKETCORE_STRIPE_API_KEY")
    assert "pk_live_oops" not in str(error.value)


def test_cash_on_delivery_is_not_refunded_through_the_platform(s: Scenario) -> None:
    m = s.marketplace
    shop = s.shops[0]
    order = _checkout(s, method="cod").orders[0]
    m.orders.ship(shop.staff, shop.id, order.id, "SF", "SF1")
    payment = m.payments.collect_on_delivery(shop.staff, shop.id, order.id)
    with pytest.raises(PaymentNotRefundable):
        m.payments.refund(s.operator, payment.id, 100, "broken", order.id)
    assert m.orders.order(s.buyer, order.id).status is OrderStatus.SHIPPED
