"""The Stripe gateway against a local Stripe that speaks its wire format (``FakeStripe``).

Nothing here mocks the adapter or the SDK: every call goes through ``StripeClient`` over HTTP to
the fake, and every webhook is verified by the SDK. The signing vectors are those of
shared/providers/README.md §1.7 (copied byte for byte into ``stripe_vectors.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from marketcore.adapters.gateways.stripe import StripeConfig, StripeGateway, config_from
from marketcore.application.payments.ports import GatewayUnavailable, InvalidNotification
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
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money
from marketcore.testing.fakes.stripe import FakeStripe, StripeHarness, closed_address, form_decode, sign
from marketcore.testing.payments import GatewayHarness, PaymentGatewayContract

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "stripe_vectors.json").read_text("utf-8"))
SIGNED_AT = VECTORS["t"]


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return StripeGateway(fake.config())


class TestStripeContract(PaymentGatewayContract):
    @pytest.fixture
    def harness(self, fake: FakeStripe) -> GatewayHarness:
        return StripeHarness(fake)


class TestStripeContractInEuros(PaymentGatewayContract):
    @pytest.fixture
    def harness(self, fake: FakeStripe) -> GatewayHarness:
        return StripeHarness(fake, Currency.EUR)


def a_request(cents: int = 10_000, currency: Currency = Currency.USD) -> PaymentRequest:
    payment_id = new_id()
    return PaymentRequest(payment_id, new_id(), Money(cents, currency), f"checkout {payment_id}")


def started(gateway: StripeGateway, request: PaymentRequest) -> PaymentStarted:
    outcome = gateway.create(request)
    assert isinstance(outcome, PaymentStarted), outcome
    return outcome


def paid(fake: FakeStripe, gateway: StripeGateway, cents: int = 10_000) -> tuple[PaymentRequest, str]:
    request = a_request(cents)
    reference = started(gateway, request).provider_reference
    assert fake.pay(reference)["status"] == "succeeded"
    return request, reference


def refund_of(request: PaymentRequest, reference: str | None, cents: int) -> RefundRequest:
    return RefundRequest(
        new_id(), request.payment_id, reference, Money(cents, request.amount.currency), "test"
    )


def vector_gateway(**overrides: Any) -> StripeGateway:
    """A gateway holding the vectors' secret; nothing listens at its API address."""
    values: dict[str, Any] = {"api_key": "sk_test_x", "webhook_secret": VECTORS["secret"]}
    values |= {"api_base": closed_address(), "max_network_retries": 0}
    return StripeGateway(StripeConfig(**(values | overrides)))


def received(seconds_after_signing: int) -> datetime:
    return datetime.fromtimestamp(SIGNED_AT + seconds_after_signing, UTC)


def vector(event_type: str) -> dict[str, str]:
    event: dict[str, str] = VECTORS["events"][event_type]
    return event


def signed(body: bytes, secret: str = VECTORS["secret"], at: int = SIGNED_AT) -> RawNotification:
    return RawNotification({"stripe-signature": sign(body, secret, at)}, body, received(1))


# -- the README's vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("event_type", sorted(VECTORS["events"]))
def test_our_signing_reproduces_the_vector_headers(event_type: str) -> None:
    event = vector(event_type)
    header = sign(event["payload"].encode(), VECTORS["secret"], SIGNED_AT)
    assert header == event["header"]
    assert header == f"t={SIGNED_AT},v1={event['v1']}"


@pytest.mark.parametrize("event_type", sorted(VECTORS["events"]))
def test_the_gateway_verifies_every_vector_and_keeps_its_event_id(event_type: str) -> None:
    event = vector(event_type)
    raw = RawNotification({"stripe-signature": event["header"]}, event["payload"].encode(), received(10))
    parsed = vector_gateway().parse_notification(raw)
    assert parsed.event_id == json.loads(event["payload"])["id"]
    # The vectors carry someone else's metadata (order_id), not our payment_id: genuine, not ours.
    assert parsed.changes == ()


def test_a_rotated_secret_header_verifies_when_any_v1_matches() -> None:
    body = vector("payment_intent.succeeded")["payload"].encode()
    raw = RawNotification({"stripe-signature": VECTORS["header_multi"]}, body, received(10))
    assert vector_gateway().parse_notification(raw).event_id == "evt_test_mc_0001"


def test_the_vector_with_our_ids_in_its_metadata_reports_our_payment() -> None:
    payment_id = new_id()
    body = vector("payment_intent.succeeded")["payload"].replace(
        '"metadata":{"order_id":"ord_1001"}', f'"metadata":{{"payment_id":"{payment_id}"}}'
    )
    parsed = vector_gateway().parse_notification(signed(body.encode()))
    assert parsed.changes == (
        ProviderPayment(payment_id, ProviderStatus.SUCCEEDED, "pi_test_mc_0001", Money(2000, Currency.USD)),
    )


def test_the_failed_payment_vector_with_our_ids_is_a_failure_with_the_decline_message() -> None:
    payment_id = new_id()
    body = vector("payment_intent.payment_failed")["payload"].replace(
        '"metadata":{"order_id":"ord_1002"}', f'"metadata":{{"payment_id":"{payment_id}"}}'
    )
    (change,) = vector_gateway().parse_notification(signed(body.encode())).changes
    assert change == ProviderPayment(
        payment_id,
        ProviderStatus.FAILED,
        "pi_test_mc_0002",
        Money(2000, Currency.USD),
        "Your card was declined.",
    )


def test_the_refund_vector_with_our_ids_names_our_refund() -> None:
    payment_id, refund_id = new_id(), new_id()
    body = vector("refund.updated")["payload"].replace(
        '"metadata":{"order_id":"ord_1001"}',
        f'"metadata":{{"payment_id":"{payment_id}","refund_id":"{refund_id}"}}',
    )
    (change,) = vector_gateway().parse_notification(signed(body.encode())).changes
    assert change == ProviderRefund(
        payment_id, refund_id, RefundStatus.SUCCEEDED, "re_test_mc_0001", Money(500, Currency.USD)
    )


# -- notifications: what is not genuine -------------------------------------------------------


def test_a_vector_checked_with_another_secret_is_rejected() -> None:
    event = vector("payment_intent.succeeded")
    raw = RawNotification({"stripe-signature": event["header"]}, event["payload"].encode(), received(10))
    with pytest.raises(InvalidNotification, match="Stripe-Signature"):
        vector_gateway(webhook_secret="whsec_wrong").parse_notification(raw)


def test_a_signature_older_than_the_tolerance_at_receipt_is_rejected() -> None:
    event = vector("payment_intent.succeeded")
    body = event["payload"].encode()
    gateway = vector_gateway(webhook_tolerance_seconds=300)
    on_the_edge = RawNotification({"stripe-signature": event["header"]}, body, received(300))
    assert gateway.parse_notification(on_the_edge).event_id == "evt_test_mc_0001"
    late = RawNotification({"stripe-signature": event["header"]}, body, received(301))
    with pytest.raises(InvalidNotification, match="tolerance"):
        gateway.parse_notification(late)


def test_the_tolerance_is_configurable() -> None:
    event = vector("payment_intent.succeeded")
    raw = RawNotification({"stripe-signature": event["header"]}, event["payload"].encode(), received(600))
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(raw)
    assert vector_gateway(webhook_tolerance_seconds=900).parse_notification(raw).event_id


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b'"amount":2000', b'"amount":20000'),
        lambda body: body.replace(b"evt_test_mc_0001", b"evt_test_mc_0009"),
        lambda body: body + b"\n",
        lambda body: b" " + body,
    ],
)
def test_a_body_changed_in_any_byte_is_rejected(tamper: Any) -> None:
    event = vector("payment_intent.succeeded")
    raw = RawNotification(
        {"stripe-signature": event["header"]}, tamper(event["payload"].encode()), received(1)
    )
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(raw)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"stripe-signature": ""},
        {"stripe-signature": "garbage"},
        {"stripe-signature": f"t={SIGNED_AT}"},
        {"stripe-signature": f"t=soon,v1={'0' * 64}"},
        {"stripe-signature": f"t={SIGNED_AT},v0={vector('payment_intent.succeeded')['v1']}"},
    ],
)
def test_a_missing_or_malformed_signature_header_is_rejected(headers: dict[str, str]) -> None:
    body = vector("payment_intent.succeeded")["payload"].encode()
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(RawNotification(headers, body, received(1)))


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b'{"object":"v2.core.event","id":"evt_1"}', b"[]"]
)
def test_a_genuinely_signed_body_that_is_not_an_event_is_rejected(body: bytes) -> None:
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(signed(body))


def test_an_event_type_we_do_not_act_on_is_accepted_with_no_changes() -> None:
    body = json.dumps(
        {
            "id": "evt_customer_1",
            "object": "event",
            "type": "customer.created",
            "data": {"object": {"id": "cus_1", "object": "customer", "metadata": {"payment_id": new_id()}}},
        }
    ).encode()
    parsed = vector_gateway().parse_notification(signed(body))
    assert (parsed.event_id, parsed.changes) == ("evt_customer_1", ())


def test_an_event_about_our_payment_in_a_currency_we_do_not_sell_in_is_rejected() -> None:
    payment_id = new_id()
    body = (
        vector("payment_intent.succeeded")["payload"]
        .replace('"metadata":{"order_id":"ord_1001"}', f'"metadata":{{"payment_id":"{payment_id}"}}')
        .replace('"currency":"usd"', '"currency":"jpy"')
    )
    with pytest.raises(InvalidNotification, match="currency"):
        vector_gateway().parse_notification(signed(body.encode()))


def test_forged_notifications_from_the_fake_are_rejected(fake: FakeStripe, gateway: StripeGateway) -> None:
    request, _ = paid(fake, gateway)
    with pytest.raises(InvalidNotification):
        gateway.parse_notification(fake.forged_notification_for(request.payment_id))


def test_a_stale_delivery_from_the_fake_is_rejected(fake: FakeStripe, gateway: StripeGateway) -> None:
    request, _ = paid(fake, gateway)
    now = int(datetime.now(UTC).timestamp())
    with pytest.raises(InvalidNotification, match="tolerance"):
        gateway.parse_notification(fake.notification_for(request.payment_id, signed_at=now - 301))


# -- notifications from the fake: every payment and refund event ---------------------------


def test_each_payment_event_reports_the_payment_state(fake: FakeStripe, gateway: StripeGateway) -> None:
    declined, three_ds, cancelled = a_request(), a_request(), a_request()
    for request in (declined, three_ds, cancelled):
        started(gateway, request)
    fake.pay(fake.intent_for(declined.payment_id)["id"], "pm_card_visa_chargeDeclined")
    fake.pay(fake.intent_for(three_ds.payment_id)["id"], "pm_card_authenticationRequired")
    fake.cancel(fake.intent_for(cancelled.payment_id)["id"])

    def change(request: PaymentRequest, event_type: str) -> ProviderPayment:
        (seen,) = gateway.parse_notification(fake.notification_for(request.payment_id, event_type)).changes
        assert isinstance(seen, ProviderPayment) and seen.payment_id == request.payment_id
        return seen

    failed = change(declined, "payment_intent.payment_failed")
    assert (failed.status, failed.failure_reason) == (ProviderStatus.FAILED, "Your card was declined.")
    assert change(three_ds, "payment_intent.requires_action").status is ProviderStatus.REQUIRES_ACTION
    assert change(cancelled, "payment_intent.canceled").status is ProviderStatus.CANCELLED
    fake.authenticate(fake.intent_for(three_ds.payment_id)["id"])
    assert change(three_ds, "payment_intent.succeeded").status is ProviderStatus.SUCCEEDED


def test_payment_intent_created_is_not_acted_on(fake: FakeStripe, gateway: StripeGateway) -> None:
    request = a_request()
    started(gateway, request)
    parsed = gateway.parse_notification(fake.notification_for(request.payment_id, "payment_intent.created"))
    assert parsed.changes == ()


def test_pending_refunds_notify_when_created_settled_and_failed(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    fake.settle_refunds_later = True
    request, reference = paid(fake, gateway)
    good, bad = refund_of(request, reference, 3_000), refund_of(request, reference, 2_000)
    accepted = [gateway.refund(good), gateway.refund(bad)]
    assert all(isinstance(a, RefundAccepted) and a.status is RefundStatus.PENDING for a in accepted)

    def refund_change(event_type: str) -> ProviderRefund:
        (seen,) = gateway.parse_notification(fake.notification_for(request.payment_id, event_type)).changes
        assert isinstance(seen, ProviderRefund)
        return seen

    assert refund_change("refund.created").status is RefundStatus.PENDING
    fake.settle_refund(accepted[0].provider_reference)  # type: ignore[union-attr]
    settled = refund_change("refund.updated")
    assert (settled.refund_id, settled.status, settled.amount) == (
        good.refund_id,
        RefundStatus.SUCCEEDED,
        Money(3_000, Currency.USD),
    )
    fake.settle_refund(accepted[1].provider_reference, succeeded=False)  # type: ignore[union-attr]
    failed = refund_change("refund.failed")
    assert (failed.refund_id, failed.status, failed.failure_reason) == (
        bad.refund_id,
        RefundStatus.FAILED,
        "lost_or_stolen_card",
    )
    # The failed refund's money is refundable again.
    assert isinstance(gateway.refund(refund_of(request, reference, 7_000)), RefundAccepted)


def test_charge_refunded_names_our_refunds_only_when_it_lists_them(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request, reference = paid(fake, gateway)
    refund = refund_of(request, reference, 2_500)
    accepted = gateway.refund(refund)
    assert isinstance(accepted, RefundAccepted)
    bare = gateway.parse_notification(fake.notification_for(request.payment_id, "charge.refunded"))
    assert bare.changes == ()  # API versions since 2022-11-15 leave the refunds list out
    event = fake.events_for(request.payment_id)[-2]
    assert event["type"] == "charge.refunded"
    event["data"]["object"]["refunds"] = {
        "object": "list",
        "data": [fake.refunds[accepted.provider_reference]],
    }
    expanded = gateway.parse_notification(fake.deliver(json.dumps(event).encode()))
    assert [(c.refund_id, c.status) for c in expanded.changes if isinstance(c, ProviderRefund)] == [
        (refund.refund_id, RefundStatus.SUCCEEDED)
    ]
    assert len(expanded.changes) == 1


# -- create, query, refund on the wire --------------------------------------------------------


def test_create_sends_a_form_encoded_payment_intent_keyed_by_our_payment(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request = a_request(12_345, Currency.EUR)
    outcome = started(gateway, request)
    method, path, headers, body = fake.requests[-1]
    assert (method, path) == ("POST", "/v1/payment_intents")
    assert headers["authorization"] == f"Bearer {fake.api_key}"
    assert headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert headers["idempotency-key"] == f"pi-create:{request.payment_id}"
    assert "metadata[payment_id]=" in body  # brackets unescaped, as the SDK sends them
    params = form_decode(body)
    assert params["amount"] == "12345" and params["currency"] == "eur"
    assert params["automatic_payment_methods"] == {"enabled": "true"}
    assert params["metadata"] == {"payment_id": request.payment_id, "checkout_id": request.checkout_id}
    intent = fake.intents[outcome.provider_reference]
    assert outcome.next_action.kind is NextActionKind.CLIENT_SECRET
    assert outcome.next_action.value == intent["client_secret"]
    assert outcome.status is PaymentStatus.REQUIRES_ACTION


def test_create_retried_after_a_lost_answer_replays_the_same_payment_intent(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request = a_request()
    fake.stall_next(1.0)
    slow = StripeGateway(fake.config(timeout_seconds=0.3))
    with pytest.raises(GatewayUnavailable):
        slow.create(request)  # Stripe created it; the answer never arrived
    again = started(gateway, request)
    assert list(fake.intents) == [again.provider_reference]


def test_the_sdk_retries_a_5xx_with_the_same_idempotency_key(fake: FakeStripe) -> None:
    gateway = StripeGateway(fake.config(max_network_retries=1))
    request = a_request()
    fake.fail_next(1, status=503)
    started(gateway, request)
    keys = [headers["idempotency-key"] for _, _, headers, _ in fake.requests]
    assert keys == [f"pi-create:{request.payment_id}"] * 2


def test_refund_is_keyed_by_our_refund_and_carries_our_ids(fake: FakeStripe, gateway: StripeGateway) -> None:
    request, reference = paid(fake, gateway)
    refund = refund_of(request, reference, 1_000)
    accepted = gateway.refund(refund)
    assert accepted == RefundAccepted(fake.refunds[accepted.provider_reference]["id"], RefundStatus.SUCCEEDED)  # type: ignore[union-attr]
    _, path, headers, body = fake.requests[-1]
    assert path == "/v1/refunds" and headers["idempotency-key"] == f"refund:{refund.refund_id}"
    params = form_decode(body)
    assert params["payment_intent"] == reference and params["amount"] == "1000"
    assert params["metadata"] == {
        "refund_id": refund.refund_id,
        "payment_id": request.payment_id,
        "reason": "test",
    }


def test_query_and_refund_find_the_payment_intent_by_our_id_without_a_reference(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request, reference = paid(fake, gateway)
    seen = gateway.query(PaymentQuery(request.payment_id, None, request.amount))
    assert (seen.status, seen.provider_reference, seen.amount) == (
        ProviderStatus.SUCCEEDED,
        reference,
        request.amount,
    )
    accepted = gateway.refund(refund_of(request, None, 500))
    assert isinstance(accepted, RefundAccepted)
    assert fake.refunds[accepted.provider_reference]["payment_intent"] == reference


def test_a_payment_stripe_never_saw_is_pending_and_cannot_be_refunded(gateway: StripeGateway) -> None:
    request = a_request()
    assert gateway.query(PaymentQuery(request.payment_id, None, request.amount)) == ProviderPayment(
        request.payment_id, ProviderStatus.PENDING
    )
    declined = gateway.refund(refund_of(request, None, 500))
    assert isinstance(declined, RefundDeclined) and "no PaymentIntent" in declined.reason


def test_query_reports_declines_cancellations_and_3ds(fake: FakeStripe, gateway: StripeGateway) -> None:
    def state(payment_method: str | None) -> ProviderPayment:
        request = a_request()
        reference = started(gateway, request).provider_reference
        if payment_method is None:
            fake.cancel(reference)
        else:
            fake.pay(reference, payment_method)
        return gateway.query(PaymentQuery(request.payment_id, reference, request.amount))

    failed = state("pm_card_chargeDeclinedInsufficientFunds")
    assert (failed.status, failed.failure_reason) == (
        ProviderStatus.FAILED,
        "Your card has insufficient funds.",
    )
    assert state("pm_card_authenticationRequired").status is ProviderStatus.REQUIRES_ACTION
    cancelled = state(None)
    assert (cancelled.status, cancelled.failure_reason) == (ProviderStatus.CANCELLED, "abandoned")


def test_an_authorised_but_uncaptured_payment_is_still_processing(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    payment_id = new_id()
    answer = requests.post(
        f"{fake.url}/v1/payment_intents",
        data={
            "amount": "5000",
            "currency": "usd",
            "capture_method": "manual",
            "metadata[payment_id]": payment_id,
        },
        headers={"Authorization": f"Bearer {fake.api_key}"},
        timeout=5,
    )
    reference = answer.json()["id"]
    assert fake.pay(reference)["status"] == "requires_capture"
    seen = gateway.query(PaymentQuery(payment_id, reference, Money(5000, Currency.USD)))
    assert (seen.status, seen.amount) == (ProviderStatus.PROCESSING, Money(5000, Currency.USD))
    event = gateway.parse_notification(fake.notification_for(payment_id))
    assert event.changes == ()  # amount_capturable_updated is not acted on


def test_query_reports_what_stripe_captured_when_it_differs(fake: FakeStripe, gateway: StripeGateway) -> None:
    request = a_request(10_000)
    fake.charge_instead(request.payment_id, 9_000)
    reference = started(gateway, request).provider_reference
    fake.pay(reference)
    seen = gateway.query(PaymentQuery(request.payment_id, reference, request.amount))
    assert (seen.status, seen.amount) == (ProviderStatus.SUCCEEDED, Money(9_000, Currency.USD))
    (change,) = gateway.parse_notification(fake.notification_for(request.payment_id)).changes
    assert isinstance(change, ProviderPayment) and change.amount == Money(9_000, Currency.USD)


def test_query_refuses_a_payment_intent_of_another_payment(fake: FakeStripe, gateway: StripeGateway) -> None:
    mine, theirs = a_request(), a_request()
    started(gateway, mine)
    other = started(gateway, theirs).provider_reference
    with pytest.raises(GatewayUnavailable, match="is not payment"):
        gateway.query(PaymentQuery(mine.payment_id, other, mine.amount))


@pytest.mark.parametrize("currency", list(Currency))
def test_every_currency_we_sell_in_round_trips(
    fake: FakeStripe, gateway: StripeGateway, currency: Currency
) -> None:
    request = a_request(10_000, currency)
    reference = started(gateway, request).provider_reference
    assert fake.intents[reference]["currency"] == currency.lower()
    fake.pay(reference)
    seen = gateway.query(PaymentQuery(request.payment_id, reference, request.amount))
    assert seen.amount == Money(10_000, currency)
    assert isinstance(gateway.refund(refund_of(request, reference, 10_000)), RefundAccepted)


def test_a_payment_intent_in_a_currency_we_do_not_sell_in_is_unusable(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    payment_id = new_id()
    answer = requests.post(
        f"{fake.url}/v1/payment_intents",
        data={"amount": "5000", "currency": "jpy", "metadata[payment_id]": payment_id},
        headers={"Authorization": f"Bearer {fake.api_key}"},
        timeout=5,
    )
    reference = answer.json()["id"]
    with pytest.raises(GatewayUnavailable, match="currency"):
        gateway.query(PaymentQuery(payment_id, reference, Money(5000, Currency.USD)))


# -- business refusals are values -------------------------------------------------------------


@pytest.mark.parametrize(
    ("cents", "reason"),
    [
        (1, "amount_too_small: Amount must be at least $0.50 usd"),
        (100_000_000, "amount_too_large: Amount must be no more than $999,999.99"),
    ],
)
def test_stripe_refusing_the_amount_is_a_decline(gateway: StripeGateway, cents: int, reason: str) -> None:
    assert gateway.create(a_request(cents)) == PaymentDeclined(reason)


def test_a_card_error_is_a_decline(fake: FakeStripe, gateway: StripeGateway) -> None:
    fake.fail_next(1, status=402)
    outcome = gateway.create(a_request())
    assert outcome == PaymentDeclined("card_declined/generic_decline: Your card was declined.")
    request, reference = paid(fake, gateway)
    fake.fail_next(1, status=402)
    assert isinstance(gateway.refund(refund_of(request, reference, 100)), RefundDeclined)


def test_the_same_payment_id_with_another_amount_is_declined_not_charged_twice(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request = a_request(10_000)
    started(gateway, request)
    changed = PaymentRequest(request.payment_id, request.checkout_id, Money(20_000, Currency.USD), "changed")
    outcome = gateway.create(changed)
    assert isinstance(outcome, PaymentDeclined) and "same parameters" in outcome.reason
    assert len(fake.intents) == 1


def test_a_refund_beyond_the_capture_is_declined_with_stripes_message(
    fake: FakeStripe, gateway: StripeGateway
) -> None:
    request, reference = paid(fake, gateway, 10_000)
    assert isinstance(gateway.refund(refund_of(request, reference, 8_000)), RefundAccepted)
    too_much = gateway.refund(refund_of(request, reference, 3_000))
    assert too_much == RefundDeclined(
        "Refund amount ($30.00) is greater than unrefunded amount on charge ($20.00)"
    )
    assert isinstance(gateway.refund(refund_of(request, reference, 2_000)), RefundAccepted)
    done = gateway.refund(refund_of(request, reference, 1))
    assert isinstance(done, RefundDeclined) and done.reason.startswith("charge_already_refunded:")


def test_an_unpaid_payment_cannot_be_refunded(gateway: StripeGateway) -> None:
    request = a_request()
    reference = started(gateway, request).provider_reference
    declined = gateway.refund(refund_of(request, reference, 100))
    assert isinstance(declined, RefundDeclined) and "does not have a successful charge" in declined.reason


# -- infrastructure failures are errors ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_rate_limits_are_unavailable(
    fake: FakeStripe, gateway: StripeGateway, status: int
) -> None:
    request, reference = paid(fake, gateway)
    fake.fail_next(3, status=status)
    with pytest.raises(GatewayUnavailable):
        gateway.create(a_request())
    with pytest.raises(GatewayUnavailable):
        gateway.query(PaymentQuery(request.payment_id, reference, request.amount))
    with pytest.raises(GatewayUnavailable):
        gateway.refund(refund_of(request, reference, 100))


def test_a_timeout_is_unavailable(fake: FakeStripe) -> None:
    gateway = StripeGateway(fake.config(timeout_seconds=0.2))
    fake.stall_next(1.0)
    with pytest.raises(GatewayUnavailable):
        gateway.query(PaymentQuery(new_id(), "pi_anything", Money(100, Currency.USD)))


def test_connection_refused_is_unavailable_for_every_call() -> None:
    gateway = vector_gateway()
    request = a_request()
    with pytest.raises(GatewayUnavailable):
        gateway.query(PaymentQuery(request.payment_id, "pi_1", request.amount))
    with pytest.raises(GatewayUnavailable):
        gateway.refund(refund_of(request, "pi_1", 100))


def test_an_answer_that_is_not_stripe_json_is_unavailable(fake: FakeStripe, gateway: StripeGateway) -> None:
    fake.garble_next()
    with pytest.raises(GatewayUnavailable):
        gateway.create(a_request())


def test_an_answer_about_another_object_is_unavailable(fake: FakeStripe, gateway: StripeGateway) -> None:
    request, reference = paid(fake, gateway)
    someone_else = fake.intent_for(paid(fake, gateway)[0].payment_id)
    fake.answer_next(someone_else)
    with pytest.raises(GatewayUnavailable, match="not this payment"):
        gateway.create(request)
    fake.answer_next(someone_else | {"metadata": {"payment_id": request.payment_id}, "amount": 1})
    with pytest.raises(GatewayUnavailable, match="PaymentIntent for"):
        gateway.create(request)
    refund = refund_of(request, reference, 100)
    fake.answer_next({"id": "re_1", "object": "refund", "amount": 100, "currency": "usd", "metadata": {}})
    with pytest.raises(GatewayUnavailable, match="not this refund"):
        gateway.refund(refund)
    fake.answer_next(
        {"id": "re_1", "object": "refund", "amount": 999, "currency": "usd", "status": "succeeded"}
        | {"metadata": {"refund_id": refund.refund_id}}
    )
    with pytest.raises(GatewayUnavailable, match="refunded 999"):
        gateway.refund(refund)


def test_a_wrong_api_key_is_unavailable_and_never_echoed(fake: FakeStripe) -> None:
    secret = "sk_test_wrong_0123456789abcdefSECRET"
    gateway = StripeGateway(fake.config(api_key=secret))
    with pytest.raises(GatewayUnavailable) as caught:
        gateway.create(a_request())
    assert secret not in str(caught.value) and "Invalid API Key" in str(caught.value)


# -- the fake holds to Stripe's rules -----------------------------------------------------------


def test_the_fake_refuses_requests_without_a_valid_secret_key(fake: FakeStripe) -> None:
    url = f"{fake.url}/v1/payment_intents"
    data = {"amount": "1000", "currency": "usd"}
    anonymous = requests.post(url, data=data, timeout=5)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in anonymous.json()["error"]["message"]
    wrong = requests.post(url, data=data, headers={"Authorization": "Bearer sk_test_nope_000000"}, timeout=5)
    assert wrong.status_code == 401 and "Invalid API Key provided" in wrong.json()["error"]["message"]
    public = requests.post(url, data=data | {"key": fake.publishable_key}, timeout=5)
    assert public.status_code == 401 and "publishable API key" in public.json()["error"]["message"]
    as_json = requests.post(url, json=data, headers={"Authorization": f"Bearer {fake.api_key}"}, timeout=5)
    assert as_json.status_code == 400


def test_the_fake_replays_an_idempotent_request_byte_for_byte(fake: FakeStripe) -> None:
    url = f"{fake.url}/v1/payment_intents"
    headers = {"Authorization": f"Bearer {fake.api_key}", "Idempotency-Key": "k-1"}
    first = requests.post(url, data={"amount": "1000", "currency": "usd"}, headers=headers, timeout=5)
    again = requests.post(url, data={"currency": "usd", "amount": "1000"}, headers=headers, timeout=5)
    assert (again.status_code, again.content) == (200, first.content)
    assert again.headers["Idempotent-Replayed"] == "true"
    other = requests.post(url, data={"amount": "2000", "currency": "usd"}, headers=headers, timeout=5)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


def test_the_buyer_confirms_with_the_client_secret_only(fake: FakeStripe, gateway: StripeGateway) -> None:
    request = a_request()
    reference = started(gateway, request).provider_reference
    answer = requests.post(
        f"{fake.url}/v1/payment_intents/{reference}/confirm",
        data={
            "key": fake.publishable_key,
            "client_secret": "pi_x_secret_guess",
            "payment_method": "pm_card_visa",
        },
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "client_secret"
    assert fake.intents[reference]["status"] == "requires_payment_method"


def test_form_decoding_matches_the_sdk_encoding() -> None:
    assert form_decode("a=1&m[k]=v&l[0]=x&l[1]=y&n[e]=true&s[]=p&s[]=q") == {
        "a": "1",
        "m": {"k": "v"},
        "l": ["x", "y"],
        "n": {"e": "true"},
        "s": ["p", "q"],
    }


# -- configuration ------------------------------------------------------------------------------


def test_config_from_reads_the_keys_and_defaults_the_rest() -> None:
    config = config_from({"api_key": "sk_live_abc", "webhook_secret": "whsec_abc", "api_base": "http://x:1/"})
    assert config == StripeConfig("sk_live_abc", "whsec_abc", "http://x:1", 300, 30.0, 2)
    tuned = config_from(
        {
            "api_key": "rk_test_abc",
            "webhook_secret": "whsec_abc",
            "webhook_tolerance_seconds": "60",
            "timeout_seconds": "2.5",
            "max_network_retries": "0",
        }
    )
    assert (tuned.api_base, tuned.webhook_tolerance_seconds, tuned.timeout_seconds) == (
        "https://api.stripe.com",
        60,
        2.5,
    )
    assert tuned.max_network_retries == 0


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("api_key", ""),
        ("api_key", "pk_test_abc"),
        ("api_key", "hunter2-key"),
        ("webhook_secret", ""),
        ("webhook_secret", "abc"),
        ("api_base", "ftp://api.stripe.com"),
        ("api_base", "https://api.stripe.com/v1"),
        ("webhook_tolerance_seconds", "0"),
        ("webhook_tolerance_seconds", "five"),
        ("timeout_seconds", "0"),
        ("timeout_seconds", "nan"),
        ("max_network_retries", "-1"),
    ],
)
def test_config_from_names_the_bad_setting(key: str, value: str) -> None:
    options = {"api_key": "sk_test_abc", "webhook_secret": "whsec_abc", key: value}
    with pytest.raises(InvalidInput) as caught:
        config_from(options)
    assert caught.value.field == f"stripe_{key}"
    if key in ("api_key", "webhook_secret") and value:
        assert value not in str(caught.value)  # secrets are never echoed


def test_secrets_stay_out_of_reprs() -> None:
    config = config_from({"api_key": "sk_live_SECRET1", "webhook_secret": "whsec_SECRET2"})
    for text in (repr(config), repr(StripeGateway(config))):
        assert "SECRET1" not in text and "SECRET2" not in text
