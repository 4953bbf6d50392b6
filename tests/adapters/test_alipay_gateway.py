"""The Alipay gateway against a local Alipay that speaks its wire format (``FakeAlipay``).

Nothing here mocks the adapter: every call goes over HTTP to the fake, which verifies our RSA2
signature with the app's public key and signs its answers and notifications with its own key.
The signing vectors are those of shared/providers/README.md §2.6 (Appendix C's Alipay block,
copied byte for byte into ``alipay_vectors.json``, with the Appendix A keys they were made with).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from marketcore.adapters.gateways.alipay import AlipayConfig, AlipayGateway, AlipayMode, config_from
from marketcore.adapters.gateways.alipay.signing import (
    notification_content,
    private_key,
    request_content,
    sign,
    signed_query,
    top_level_members,
)
from marketcore.adapters.gateways.alipay.translation import fen, yuan
from marketcore.application.payments.ports import GatewayUnavailable, InvalidNotification
from marketcore.application.shared.ids import new_id
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
    RefundStatus,
)
from marketcore.domain.payments.provider import (
    NotificationReply,
    PaymentQuery,
    ProviderPayment,
    ProviderRefund,
    ProviderStatus,
    RawNotification,
)
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money
from marketcore.testing.fakes.alipay import (
    AlipayHarness,
    FakeAlipay,
    alipay_sign,
    closed_address,
    notify_body,
    throwaway_keys,
)
from marketcore.testing.payments import GatewayHarness, PaymentGatewayContract

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "alipay_vectors.json").read_text("utf-8"))
KEYS: dict[str, str] = VECTORS["keys"]
BEIJING = timezone(timedelta(hours=8))
VECTOR_TIME = datetime(2026, 1, 15, 10, 30, tzinfo=BEIJING)  # the vectors' timestamp
NOTIFY_URL = "https://shop.example/alipay/notify"
RETURN_URL = "https://shop.example/alipay/return"


@pytest.fixture
def fake() -> Iterator[FakeAlipay]:
    with FakeAlipay() as server:
        yield server


@pytest.fixture
def gateway(fake: FakeAlipay) -> AlipayGateway:
    return AlipayGateway(fake.config())


@pytest.fixture
def vector_fake() -> Iterator[FakeAlipay]:
    """A fake holding the README's key pairs, so its signatures are the vectors'."""
    with FakeAlipay(
        app_id=VECTORS["app_id"],
        app_private_key=KEYS["alipay_app_private_pkcs1"],
        alipay_private_key=KEYS["alipay_platform_private_pkcs1"],
    ) as server:
        yield server


class TestAlipayContract(PaymentGatewayContract):
    """Precreate (QR) mode, the default."""

    @pytest.fixture
    def harness(self, fake: FakeAlipay) -> GatewayHarness:
        return AlipayHarness(fake)


class TestAlipayPageContract(PaymentGatewayContract):
    """Page-pay mode: the buyer's browser opens the signed URL, the fake verifies it."""

    @pytest.fixture
    def harness(self, fake: FakeAlipay) -> GatewayHarness:
        return AlipayHarness(fake, AlipayMode.PAGE)

    def test_an_unreachable_provider_is_an_infrastructure_error(self, harness: GatewayHarness) -> None:
        """Page pay builds its signed URL without calling Alipay (the buyer's browser does), so an
        unreachable gateway shows on every call that reaches it: query and refund."""
        unreachable = harness.unreachable()
        request = a_request()
        started = unreachable.create(request)
        assert isinstance(started, PaymentStarted)
        assert started.next_action.kind is NextActionKind.REDIRECT
        with pytest.raises(GatewayUnavailable):
            unreachable.query(PaymentQuery(request.payment_id, None, request.amount))
        with pytest.raises(GatewayUnavailable):
            unreachable.refund(refund_of(request, 100))


def a_request(cents: int = 10_000, *, expires_at: datetime | None = None) -> PaymentRequest:
    payment_id = new_id()
    return PaymentRequest(
        payment_id, new_id(), Money(cents, Currency.CNY), f"checkout {payment_id}", expires_at
    )


def started(gateway: AlipayGateway, request: PaymentRequest) -> PaymentStarted:
    outcome = gateway.create(request)
    assert isinstance(outcome, PaymentStarted), outcome
    return outcome


def paid(fake: FakeAlipay, gateway: AlipayGateway, cents: int = 10_000) -> PaymentRequest:
    request = a_request(cents)
    started(gateway, request)
    fake.pay(request.payment_id)
    return request


def refund_of(request: PaymentRequest, cents: int, refund_id: str | None = None) -> RefundRequest:
    amount = Money(cents, request.amount.currency)
    return RefundRequest(refund_id or new_id(), request.payment_id, request.payment_id, amount, "test")


def query_of(gateway: AlipayGateway, request: PaymentRequest) -> ProviderPayment:
    return gateway.query(PaymentQuery(request.payment_id, request.payment_id, request.amount))


def vector_config(**overrides: Any) -> AlipayConfig:
    values: dict[str, Any] = {
        "app_id": VECTORS["app_id"],
        "app_private_key": KEYS["alipay_app_private_pkcs1"],
        "alipay_public_key": KEYS["alipay_platform_public"],
        "notify_url": NOTIFY_URL,
        "return_url": RETURN_URL,
        "gateway_url": closed_address() + "/gateway.do",
        "timeout_seconds": 2.0,
    }
    return AlipayConfig(**(values | overrides))


def vector_gateway(**overrides: Any) -> AlipayGateway:
    """A gateway holding the vectors' keys and clock; nothing listens at its gateway URL."""
    return AlipayGateway(vector_config(**overrides), clock=lambda: VECTOR_TIME)


def form(raw: RawNotification) -> dict[str, str]:
    return dict(parse_qsl(raw.body.decode(), keep_blank_values=True))


def reform(fields: dict[str, str]) -> RawNotification:
    """The same fields, form-encoded again without re-signing."""
    return RawNotification({}, urlencode(sorted(fields.items())).encode(), datetime.now(UTC))


# -- the README's vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["page_pay", "precreate", "query", "refund"])
def test_request_signing_reproduces_the_vectors(name: str) -> None:
    vector = VECTORS[name]
    assert request_content(vector["params"]) == vector["string_to_sign"]
    for pem in (KEYS["alipay_app_private_pkcs1"], KEYS["alipay_app_private_pkcs8"]):
        assert sign(vector["string_to_sign"], private_key(pem)) == vector["sign"]
    assert (
        signed_query(vector["params"], private_key(KEYS["alipay_app_private_pkcs1"]))
        == vector["query_string"]
    )


def test_the_page_pay_redirect_is_the_vector_url_byte_for_byte() -> None:
    gateway = vector_gateway(mode=AlipayMode.PAGE, gateway_url="https://openapi.alipay.com/gateway.do")
    request = PaymentRequest("ord_1001", "checkout-1", Money(8888, Currency.CNY), "Order ord_1001")
    assert gateway.create(request) == PaymentStarted(
        "ord_1001",
        NextAction(
            NextActionKind.REDIRECT,
            "https://openapi.alipay.com/gateway.do?" + VECTORS["page_pay"]["query_string"],
        ),
        PaymentStatus.REQUIRES_ACTION,
    )


def test_the_gateway_sends_the_vector_requests(vector_fake: FakeAlipay) -> None:
    gateway = vector_gateway(gateway_url=vector_fake.gateway_url)
    request = PaymentRequest("ord_1002", "checkout-2", Money(8888, Currency.CNY), "Order ord_1002")
    started(gateway, request)
    gateway.query(PaymentQuery("ord_1001", None, Money(8888, Currency.CNY)))
    refund = RefundRequest("ord_1001-rf-1", "ord_1001", None, Money(1000, Currency.CNY), "partial refund")
    assert gateway.refund(refund) == RefundDeclined("ACQ.TRADE_NOT_EXIST: 交易不存在")
    for seen, name in zip(vector_fake.requests, ["precreate", "query", "refund"], strict=True):
        assert seen.params == VECTORS[name]["params"] | {"sign": VECTORS[name]["sign"]}
        # The official SDK's transport: common parameters in the query, biz_content in the body.
        assert (seen.http_method, seen.path) == ("POST", "/gateway.do")
        assert seen.body == "biz_content=" + quote_plus(VECTORS[name]["params"]["biz_content"])
        assert "biz_content" not in seen.query and seen.query.endswith(
            "&sign=" + quote_plus(VECTORS[name]["sign"])
        )


def test_the_gateway_reads_the_vector_answers(vector_fake: FakeAlipay) -> None:
    gateway = vector_gateway(gateway_url=vector_fake.gateway_url)
    cny = Money(8888, Currency.CNY)
    vector_fake.answer_next(VECTORS["resp_precreate"]["raw"].encode())
    assert gateway.create(PaymentRequest("ord_1002", "c", cny, "Order ord_1002")) == PaymentStarted(
        "ord_1002",
        NextAction(NextActionKind.QR_CODE, "https://qr.alipay.com/bax08888888888888888"),
        PaymentStatus.REQUIRES_ACTION,
    )
    vector_fake.answer_next(VECTORS["resp_query"]["raw"].encode())
    assert gateway.query(PaymentQuery("ord_1001", None, cny)) == ProviderPayment(
        "ord_1001", ProviderStatus.SUCCEEDED, "2026011522001400000000000001", cny
    )
    vector_fake.answer_next(VECTORS["resp_query_notexist"]["raw"].encode())
    assert gateway.query(PaymentQuery("ord_9999", None, cny)) == ProviderPayment(
        "ord_9999", ProviderStatus.PENDING
    )
    vector_fake.answer_next(VECTORS["resp_refund"]["raw"].encode())
    refund = RefundRequest("ord_1001-rf-1", "ord_1001", None, Money(1000, Currency.CNY), "partial refund")
    assert gateway.refund(refund) == RefundAccepted("ord_1001-rf-1", RefundStatus.SUCCEEDED)


@pytest.mark.parametrize("name", ["resp_precreate", "resp_query", "resp_refund", "resp_query_notexist"])
def test_the_signed_substring_is_located_exactly_and_the_fake_signs_it_as_alipay(
    vector_fake: FakeAlipay, name: str
) -> None:
    vector = VECTORS[name]
    raw = vector["raw"]
    members = top_level_members(raw)
    (response,) = [member for member in members if member.endswith("_response")]
    assert raw[slice(*members[response])] == vector["signed_substring"]
    platform = private_key(KEYS["alipay_platform_private_pkcs1"])
    assert alipay_sign(vector["signed_substring"], platform) == vector["sign"]
    vector_fake.answer_next(json.loads(vector["signed_substring"]))
    method = response.removesuffix("_response").replace("_", ".")
    assert requests.get(f"{vector_fake.gateway_url}?method={method}", timeout=5).content == raw.encode()


def test_the_notify_vector_verifies_and_names_the_trade() -> None:
    vector = VECTORS["notify"]
    assert notification_content(vector["params"]) == vector["string_to_sign"]
    raw = RawNotification(
        {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        vector["form_body"].encode(),
        datetime.now(UTC),
    )
    parsed = vector_gateway().parse_notification(raw)
    assert parsed.event_id == "2026011500222103101004881402384200"
    assert parsed.changes == (
        ProviderPayment(
            "ord_1001", ProviderStatus.SUCCEEDED, "2026011522001400000000000001", Money(8888, Currency.CNY)
        ),
    )


def test_the_fake_writes_the_notify_vector_body_byte_for_byte() -> None:
    vector = VECTORS["notify"]
    platform = private_key(KEYS["alipay_platform_private_pkcs1"])
    assert notify_body(vector["params"], platform) == vector["form_body"].encode()


def test_member_spans_follow_the_json_grammar_not_brace_counting() -> None:
    raw = '{ "a_response" : {"msg":"} {\\"x\\"","n":[1,{"k":"}"}]} , "sign":"s=="}'
    members = top_level_members(raw)
    assert raw[slice(*members["a_response"])] == '{"msg":"} {\\"x\\"","n":[1,{"k":"}"}]}'
    assert raw[slice(*members["sign"])] == '"s=="'
    for broken in ['{"a":1,"a":2}', "[]", '{"a":1} x', '{"a" 1}', "", '{"a":1,}']:
        with pytest.raises(ValueError):
            top_level_members(broken)


def test_yuan_strings_convert_exactly() -> None:
    assert [yuan(Money(cents, Currency.CNY)) for cents in (1, 10, 100, 8888, 10_000_000_000)] == [
        "0.01",
        "0.10",
        "1.00",
        "88.88",
        "100000000.00",
    ]
    assert [fen(text).amount for text in ("0.01", "88.8", "88", "100000000.00")] == [
        1,
        8880,
        8800,
        10_000_000_000,
    ]
    for bad in ("1.001", "-1.00", "1,00", "01.00", " 1.00", "1e3", "", 100, None):
        with pytest.raises(ValueError):
            fen(bad)
    with pytest.raises(ValueError, match="CNY"):
        yuan(Money(100, Currency.USD))


# -- notifications ----------------------------------------------------------------------------


def test_the_acknowledgement_is_exactly_success() -> None:
    assert AlipayGateway.acknowledgement == NotificationReply(200, b"success", "text/plain")


def test_a_payment_notification_carries_every_field_and_reads_as_paid(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway, 4_321)
    raw = fake.notification_for(request.payment_id)
    fields = form(raw)
    assert fields.keys() >= {
        "notify_time", "notify_type", "notify_id", "app_id", "auth_app_id", "charset", "version",
        "sign_type", "sign", "trade_no", "out_trade_no", "buyer_id", "buyer_logon_id", "seller_id",
        "seller_email", "trade_status", "total_amount", "receipt_amount", "invoice_amount",
        "buyer_pay_amount", "point_amount", "subject", "gmt_create", "gmt_payment", "fund_bill_list",
    }  # fmt: skip
    assert (fields["trade_status"], fields["total_amount"], fields["out_trade_no"]) == (
        "TRADE_SUCCESS",
        "43.21",
        request.payment_id,
    )
    parsed = gateway.parse_notification(raw)
    assert parsed.event_id == fields["notify_id"]
    assert parsed.changes == (
        ProviderPayment(request.payment_id, ProviderStatus.SUCCEEDED, fields["trade_no"], request.amount),
    )


def test_each_notification_has_its_own_notify_id_and_redeliveries_keep_theirs(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway)
    payment = fake.notification_for(request.payment_id)
    assert fake.notification_for(request.payment_id).body == payment.body
    assert isinstance(gateway.refund(refund_of(request, 1_000)), RefundAccepted)
    refund = fake.notification_for(request.payment_id)
    ids = {gateway.parse_notification(raw).event_id for raw in (payment, refund)}
    assert len(ids) == 2


def test_a_partial_refund_notification_names_our_refund(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway, 10_000)
    first, second = refund_of(request, 2_500), refund_of(request, 1_500)
    for refund in (first, second):
        assert isinstance(gateway.refund(refund), RefundAccepted)
    raw = fake.notification_for(request.payment_id)
    fields = form(raw)
    assert (fields["trade_status"], fields["out_biz_no"], fields["refund_fee"]) == (
        "TRADE_SUCCESS",
        second.refund_id,
        "40.00",  # cumulative: why the refund's own amount is not reported
    )
    assert fields["gmt_refund"]
    assert gateway.parse_notification(raw).changes == (
        ProviderPayment(request.payment_id, ProviderStatus.SUCCEEDED, fields["trade_no"], request.amount),
        ProviderRefund(request.payment_id, second.refund_id, RefundStatus.SUCCEEDED, second.refund_id),
    )


def test_a_full_refund_closes_the_trade_and_the_payment_stays_captured(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway, 10_000)
    refund = refund_of(request, 10_000)
    assert isinstance(gateway.refund(refund), RefundAccepted)
    raw = fake.notification_for(request.payment_id, "TRADE_CLOSED")
    assert form(raw)["gmt_close"]
    payment, refunded = gateway.parse_notification(raw).changes
    assert isinstance(payment, ProviderPayment) and payment.status is ProviderStatus.SUCCEEDED
    assert isinstance(refunded, ProviderRefund) and refunded.refund_id == refund.refund_id
    assert query_of(gateway, request).status is ProviderStatus.SUCCEEDED


def test_a_trade_closed_unpaid_is_cancelled(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = a_request()
    started(gateway, request)
    fake.scan(request.payment_id)
    fake.close_trade(request.payment_id)
    (change,) = gateway.parse_notification(fake.notification_for(request.payment_id)).changes
    assert change == ProviderPayment(
        request.payment_id,
        ProviderStatus.CANCELLED,
        change.provider_reference,
        request.amount,
        "TRADE_CLOSED",
    )
    assert query_of(gateway, request).status is ProviderStatus.CANCELLED


def test_a_finished_trade_is_still_paid(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway)
    fake.finish(request.payment_id)
    (change,) = gateway.parse_notification(
        fake.notification_for(request.payment_id, "TRADE_FINISHED")
    ).changes
    assert isinstance(change, ProviderPayment) and change.status is ProviderStatus.SUCCEEDED
    assert query_of(gateway, request).status is ProviderStatus.SUCCEEDED


def test_a_waiting_trade_notification_reads_as_pending(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    """Alipay sends WAIT_BUYER_PAY only when the app subscribes to it; it changes nothing."""
    request = paid(fake, gateway)
    fields = fake.notification_params(request.payment_id) | {"trade_status": "WAIT_BUYER_PAY"}
    (change,) = gateway.parse_notification(fake.deliver(fields)).changes
    assert isinstance(change, ProviderPayment) and change.status is ProviderStatus.PENDING


def test_a_notification_for_another_app_is_rejected_though_genuine(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway)
    fields = fake.notification_params(request.payment_id) | {"app_id": "2021000000009999"}
    with pytest.raises(InvalidNotification, match="not ours"):
        gateway.parse_notification(fake.deliver(fields))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_amount", "0.01"),
        ("trade_status", "TRADE_CLOSED"),
        ("out_trade_no", "someone-else"),
        ("subject", ""),
    ],
)
def test_a_notification_with_a_field_changed_is_rejected(
    fake: FakeAlipay, gateway: AlipayGateway, field: str, value: str
) -> None:
    request = paid(fake, gateway)
    fields = form(fake.notification_for(request.payment_id)) | {field: value}
    with pytest.raises(InvalidNotification, match="does not verify"):
        gateway.parse_notification(reform(fields))


def test_a_notification_with_a_field_added_is_rejected(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway)
    fields = form(fake.notification_for(request.payment_id)) | {"refund_fee": "1.00"}
    with pytest.raises(InvalidNotification):
        gateway.parse_notification(reform(fields))


def test_a_notification_without_sign_or_with_another_sign_type_is_rejected(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway)
    fields = form(fake.notification_for(request.payment_id))
    with pytest.raises(InvalidNotification, match="without a sign"):
        gateway.parse_notification(reform({k: v for k, v in fields.items() if k != "sign"}))
    with pytest.raises(InvalidNotification, match="without a sign"):
        gateway.parse_notification(reform(fields | {"sign": ""}))
    with pytest.raises(InvalidNotification, match="RSA2"):
        gateway.parse_notification(reform(fields | {"sign_type": "RSA"}))
    with pytest.raises(InvalidNotification):
        gateway.parse_notification(reform(fields | {"sign": "not base64!"}))


@pytest.mark.parametrize(
    "body",
    [b"app_id=\xff\xfe&sign=abc", b"subject=%FF%FE&sign=abc", b"not a form", b"", b'{"notify_id":"1"}'],
)
def test_a_body_that_is_not_a_utf8_form_is_rejected(gateway: AlipayGateway, body: bytes) -> None:
    with pytest.raises(InvalidNotification):
        gateway.parse_notification(RawNotification({}, body, datetime.now(UTC)))


def test_a_field_given_twice_is_rejected(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway)
    raw = fake.notification_for(request.payment_id)
    doubled = RawNotification(raw.headers, raw.body + b"&total_amount=0.01", raw.received_at)
    with pytest.raises(InvalidNotification, match="twice"):
        gateway.parse_notification(doubled)


def test_an_unknown_trade_status_is_rejected_though_genuine(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway)
    fields = fake.notification_params(request.payment_id) | {"trade_status": "TRADE_PENDING"}
    with pytest.raises(InvalidNotification, match="unknown trade_status"):
        gateway.parse_notification(fake.deliver(fields))


def test_a_genuine_notification_without_a_notify_id_or_a_readable_amount_is_rejected(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway)
    fields = fake.notification_params(request.payment_id)
    with pytest.raises(InvalidNotification, match="notify_id"):
        gateway.parse_notification(fake.deliver({k: v for k, v in fields.items() if k != "notify_id"}))
    with pytest.raises(InvalidNotification, match="yuan"):
        gateway.parse_notification(fake.deliver(fields | {"total_amount": "12.345"}))


def test_a_notification_of_another_kind_is_accepted_with_no_changes(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway)
    fields = fake.notification_params(request.payment_id) | {"notify_type": "trade_settle_sync"}
    parsed = gateway.parse_notification(fake.deliver(fields))
    assert (parsed.event_id, parsed.changes) == (fields["notify_id"], ())


def test_a_notification_signed_by_another_alipay_key_is_rejected(fake: FakeAlipay) -> None:
    _, _, forger = throwaway_keys()
    stranger = forger.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    gateway = AlipayGateway(fake.config(alipay_public_key=stranger.decode()))
    request = a_request()
    fake.answer_next({"code": "10000", "msg": "Success", "out_trade_no": request.payment_id, "qr_code": "x"})
    with pytest.raises(GatewayUnavailable, match="does not verify"):
        gateway.create(request)
    trusted = AlipayGateway(fake.config())
    real = paid(fake, trusted)
    with pytest.raises(InvalidNotification):
        gateway.parse_notification(fake.notification_for(real.payment_id))


# -- create, query, refund on the wire --------------------------------------------------------


def test_create_precreates_a_qr_trade_keyed_by_our_payment(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = a_request(12_345)
    outcome = started(gateway, request)
    trade = fake.trades[request.payment_id]
    assert outcome == PaymentStarted(
        request.payment_id, NextAction(NextActionKind.QR_CODE, trade.qr_code), PaymentStatus.REQUIRES_ACTION
    )
    (seen,) = fake.requests
    assert seen.params["method"] == "alipay.trade.precreate"
    assert json.loads(seen.params["biz_content"]) == {
        "out_trade_no": request.payment_id,
        "total_amount": "123.45",
        "subject": request.description,
    }
    assert seen.params["notify_url"] == NOTIFY_URL and "return_url" not in seen.params
    sent_at = datetime.strptime(seen.params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    assert abs((sent_at - datetime.now(UTC)).total_seconds()) < 60  # Beijing time, whatever our zone


def test_create_passes_the_deadline_on(fake: FakeAlipay) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    precreate = AlipayGateway(fake.config(), clock=lambda: now)
    started(precreate, a_request(expires_at=now + timedelta(minutes=90, seconds=59)))
    started(precreate, a_request(expires_at=now + timedelta(days=40)))
    started(precreate, a_request(expires_at=now + timedelta(seconds=20)))
    sent = [json.loads(seen.params["biz_content"])["timeout_express"] for seen in fake.requests]
    assert sent == ["90m", "21600m", "1m"]  # whole minutes left, within Alipay's 1m..15d
    page = AlipayGateway(fake.config(mode=AlipayMode.PAGE), clock=lambda: now)
    redirect = started(page, a_request(expires_at=now + timedelta(hours=2)))
    query = dict(parse_qsl(urlsplit(redirect.next_action.value or "").query))
    assert json.loads(query["biz_content"])["time_expire"] == "2026-03-01 22:00:00"  # Beijing


def test_a_deadline_already_passed_is_declined_without_a_call(fake: FakeAlipay) -> None:
    now = datetime.now(UTC)
    for mode in AlipayMode:
        gateway = AlipayGateway(fake.config(mode=mode), clock=lambda: now)
        assert gateway.create(a_request(expires_at=now)) == PaymentDeclined("the payment deadline has passed")
    assert fake.requests == []


def test_an_expired_qr_can_no_longer_be_paid(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = a_request(expires_at=datetime.now(UTC) + timedelta(minutes=1))
    started(gateway, request)
    fake.trades[request.payment_id].deadline = datetime.now(UTC)  # a minute later
    with pytest.raises(ValueError, match="GONE"):
        fake.pay(request.payment_id)
    assert query_of(gateway, request).status is ProviderStatus.PENDING  # Alipay never saw a trade
    declined = gateway.create(request)
    assert isinstance(declined, PaymentDeclined) and declined.reason.startswith("ACQ.TRADE_HAS_CLOSE:")


def test_page_mode_sends_the_buyer_to_a_signed_cashier_url(fake: FakeAlipay) -> None:
    gateway = AlipayGateway(fake.config(mode=AlipayMode.PAGE))
    request = a_request(8_888)
    outcome = started(gateway, request)
    assert (
        outcome.next_action.kind is NextActionKind.REDIRECT
        and outcome.status is PaymentStatus.REQUIRES_ACTION
    )
    assert fake.requests == []  # nothing was called: the browser makes the trade
    url = outcome.next_action.value or ""
    params = dict(parse_qsl(urlsplit(url).query))
    assert url.startswith(fake.gateway_url + "?")
    assert (params["method"], params["notify_url"], params["return_url"]) == (
        "alipay.trade.page.pay",
        NOTIFY_URL,
        RETURN_URL,
    )
    assert json.loads(params["biz_content"])["product_code"] == "FAST_INSTANT_TRADE_PAY"
    cashier = requests.get(url, timeout=5)
    assert cashier.status_code == 200 and "¥88.88" in cashier.text
    tampered = url.replace("88.88", "0.01")
    assert "isv.invalid-signature" in requests.get(tampered, timeout=5).text
    assert fake.trades[request.payment_id].total == 8_888


def test_page_mode_refuses_amounts_alipay_cannot_take(fake: FakeAlipay) -> None:
    gateway = AlipayGateway(fake.config(mode=AlipayMode.PAGE))
    outcome = gateway.create(a_request(10_000_000_001))
    assert isinstance(outcome, PaymentDeclined) and outcome.reason.startswith("ACQ.TOTAL_FEE_EXCEED:")


def test_only_yuan_are_charged(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    payment_id = new_id()
    request = PaymentRequest(payment_id, new_id(), Money(1_000, Currency.USD), "dollars")
    assert gateway.create(request) == PaymentDeclined("Alipay charges in CNY, not USD")
    refund = RefundRequest(new_id(), payment_id, None, Money(100, Currency.EUR), "euros")
    assert gateway.refund(refund) == RefundDeclined("Alipay charges in CNY, not EUR")
    assert fake.requests == []


def test_create_with_the_same_payment_and_other_content_is_declined(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = a_request(10_000)
    first = started(gateway, request)
    assert started(gateway, request) == first  # the same QR again
    changed = PaymentRequest(
        request.payment_id, request.checkout_id, Money(20_000, Currency.CNY), request.description
    )
    assert gateway.create(changed) == PaymentDeclined("ACQ.CONTEXT_INCONSISTENT: 交易信息被篡改")
    assert len(fake.trades) == 1


def test_create_for_a_trade_already_paid_leaves_nothing_for_the_buyer(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway)
    trade_no = fake.trades[request.payment_id].trade_no
    assert gateway.create(request) == PaymentStarted(
        trade_no or "", NextAction(NextActionKind.NONE), PaymentStatus.PENDING
    )


def test_alipay_refusing_the_amount_is_a_decline(gateway: AlipayGateway) -> None:
    assert gateway.create(a_request(10_000_000_001)) == PaymentDeclined(
        "ACQ.TOTAL_FEE_EXCEED: 订单金额超过限额"
    )


def test_query_follows_the_trade_through_its_states(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = a_request(10_000)
    started(gateway, request)
    assert query_of(gateway, request) == ProviderPayment(
        request.payment_id, ProviderStatus.PENDING
    )  # unscanned
    fake.scan(request.payment_id)
    trade_no = fake.trades[request.payment_id].trade_no
    assert query_of(gateway, request) == ProviderPayment(
        request.payment_id, ProviderStatus.PENDING, trade_no, request.amount
    )
    fake.pay(request.payment_id)
    assert query_of(gateway, request) == ProviderPayment(
        request.payment_id, ProviderStatus.SUCCEEDED, trade_no, request.amount
    )
    assert gateway.query(PaymentQuery(new_id(), None, request.amount)).status is ProviderStatus.PENDING


def test_query_reports_what_alipay_charged_when_it_differs(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = a_request(10_000)
    fake.charge_instead(request.payment_id, 9_000)
    started(gateway, request)
    fake.pay(request.payment_id)
    assert query_of(gateway, request).amount == Money(9_000, Currency.CNY)
    (change,) = gateway.parse_notification(fake.notification_for(request.payment_id)).changes
    assert isinstance(change, ProviderPayment) and change.amount == Money(9_000, Currency.CNY)


def test_refund_is_keyed_by_our_refund_id(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway, 10_000)
    refund = refund_of(request, 1_000)
    assert gateway.refund(refund) == RefundAccepted(refund.refund_id, RefundStatus.SUCCEEDED)
    seen = fake.requests[-1]
    assert seen.params["method"] == "alipay.trade.refund"
    assert json.loads(seen.params["biz_content"]) == {
        "refund_amount": "10.00",
        "out_request_no": refund.refund_id,
        "refund_reason": "test",
        "out_trade_no": request.payment_id,
    }
    assert fake.trades[request.payment_id].refunded == 1_000


def test_a_retried_refund_is_confirmed_by_number_not_taken_again(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway, 10_000)
    refund = refund_of(request, 6_000)
    fake.stall_next(1.0)
    slow = AlipayGateway(fake.config(timeout_seconds=0.3))
    with pytest.raises(GatewayUnavailable):
        slow.refund(refund)  # Alipay refunded; the answer never arrived
    assert gateway.refund(refund) == RefundAccepted(refund.refund_id, RefundStatus.SUCCEEDED)
    methods = [seen.params["method"] for seen in fake.requests[-2:]]
    assert methods == ["alipay.trade.refund", "alipay.trade.fastpay.refund.query"]  # fund_change N
    assert fake.trades[request.payment_id].refunded == 6_000


def test_a_refund_id_reused_for_another_amount_is_declined(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway, 10_000)
    refund = refund_of(request, 1_000)
    gateway.refund(refund)
    other = RefundRequest(refund.refund_id, request.payment_id, None, Money(2_000, Currency.CNY), "again")
    declined = gateway.refund(other)
    assert isinstance(declined, RefundDeclined) and declined.reason.startswith(
        "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL:"
    )


def test_refunds_are_capped_at_what_is_unrefunded(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway, 10_000)
    assert isinstance(gateway.refund(refund_of(request, 8_000)), RefundAccepted)
    assert gateway.refund(refund_of(request, 3_000)) == RefundDeclined(
        "ACQ.REASON_TRADE_REFUND_FEE_ERR: 退款金额无效"
    )
    assert isinstance(gateway.refund(refund_of(request, 2_000)), RefundAccepted)
    assert gateway.refund(refund_of(request, 1)) == RefundDeclined("ACQ.TRADE_HAS_CLOSE: 交易已经关闭")


def test_unpaid_and_finished_trades_cannot_be_refunded(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    unscanned = a_request()
    started(gateway, unscanned)
    assert gateway.refund(refund_of(unscanned, 100)) == RefundDeclined("ACQ.TRADE_NOT_EXIST: 交易不存在")
    fake.scan(unscanned.payment_id)
    assert gateway.refund(refund_of(unscanned, 100)) == RefundDeclined(
        "ACQ.TRADE_STATUS_ERROR: 交易状态不合法"
    )
    finished = paid(fake, gateway)
    fake.finish(finished.payment_id)
    assert gateway.refund(refund_of(finished, 100)) == RefundDeclined("ACQ.TRADE_HAS_FINISHED: 交易已完结")


# -- infrastructure failures and answers we do not trust -------------------------------------


def each_call(fake: FakeAlipay, gateway: AlipayGateway) -> list[Any]:
    """The three calls against a paid trade, each still to be made."""
    request = paid(fake, gateway)
    return [
        lambda: gateway.create(a_request()),
        lambda: query_of(gateway, request),
        lambda: gateway.refund(refund_of(request, 100)),
    ]


@pytest.mark.parametrize("status", [500, 502, 503, 404])
def test_http_errors_are_unavailable(fake: FakeAlipay, gateway: AlipayGateway, status: int) -> None:
    for call in each_call(fake, gateway):
        fake.fail_next(status=status)
        with pytest.raises(GatewayUnavailable, match=f"HTTP {status}"):
            call()


@pytest.mark.parametrize(
    ("code", "sub_code"), [("20000", None), ("40004", "ACQ.SYSTEM_ERROR"), ("40004", "aop.ACQ.SYSTEM_ERROR")]
)
def test_service_unavailable_and_system_errors_are_unavailable(
    fake: FakeAlipay, gateway: AlipayGateway, code: str, sub_code: str | None
) -> None:
    for call in each_call(fake, gateway):
        fake.fail_next(code=code, sub_code=sub_code)
        with pytest.raises(GatewayUnavailable, match=code):
            call()


def test_a_timeout_is_unavailable(fake: FakeAlipay) -> None:
    gateway = AlipayGateway(fake.config(timeout_seconds=0.2))
    fake.stall_next(1.0)
    with pytest.raises(GatewayUnavailable, match="could not be reached"):
        gateway.query(PaymentQuery(new_id(), None, Money(100, Currency.CNY)))


def test_connection_refused_is_unavailable_for_every_call() -> None:
    gateway = vector_gateway()
    request = a_request()
    for call in (
        lambda: gateway.create(request),
        lambda: query_of(gateway, request),
        lambda: gateway.refund(refund_of(request, 100)),
    ):
        with pytest.raises(GatewayUnavailable, match="could not be reached"):
            call()


def test_an_answer_that_is_not_json_is_unavailable(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    for call in each_call(fake, gateway):
        fake.garble_next()
        with pytest.raises(GatewayUnavailable, match="not a JSON object"):
            call()


def test_an_unsigned_or_missigned_answer_is_unavailable_and_a_retry_finds_the_trade(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = a_request()
    fake.drop_signature_next()
    with pytest.raises(GatewayUnavailable, match=r"not signed \(unverified: 10000\)"):
        gateway.create(request)
    fake.sign_wrongly_next()
    with pytest.raises(GatewayUnavailable, match="does not verify"):
        gateway.create(request)
    again = started(gateway, request)
    assert list(fake.trades) == [request.payment_id]
    assert again.next_action.value == fake.trades[request.payment_id].qr_code


@pytest.mark.parametrize(
    "raw",
    [
        b'{"alipay_trade_query_response":{"code":"10000"}}',
        b'{"alipay_trade_query_response":{"code":"10000"},"sign":123}',
        b'{"alipay_trade_query_response":{"code":"10000"},"sign":"AAAA"}',
        b'{"alipay_trade_query_response":{"code":"10000"},"sign":"x","sign":"y"}',
        b'{"another_response":{"code":"10000"},"sign":"AAAA"}',
        b'"just a string"',
        b"\xff\xfe{}",
    ],
)
def test_answers_without_a_verifiable_response_object_are_unavailable(
    fake: FakeAlipay, gateway: AlipayGateway, raw: bytes
) -> None:
    fake.answer_next(raw)
    with pytest.raises(GatewayUnavailable):
        gateway.query(PaymentQuery(new_id(), None, Money(100, Currency.CNY)))


def test_genuine_answers_about_another_trade_are_unavailable(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    mine, theirs = paid(fake, gateway), paid(fake, gateway)
    fake.answer_next({"code": "10000", "msg": "Success", "out_trade_no": theirs.payment_id, "qr_code": "q"})
    with pytest.raises(GatewayUnavailable, match="answered about trade"):
        gateway.create(a_request())
    other_query = {"code": "10000", "out_trade_no": theirs.payment_id, "trade_status": "TRADE_SUCCESS"}
    fake.answer_next(other_query | {"total_amount": "100.00"})
    with pytest.raises(GatewayUnavailable, match="answered about trade"):
        query_of(gateway, mine)
    fake.answer_next({"code": "40004", "sub_code": "ACQ.TRADE_NOT_EXIST", "out_trade_no": theirs.payment_id})
    with pytest.raises(GatewayUnavailable, match="answered about trade"):
        query_of(gateway, mine)
    fake.answer_next(
        {"code": "10000", "out_trade_no": theirs.payment_id, "fund_change": "Y", "refund_fee": "1.00"}
    )
    with pytest.raises(GatewayUnavailable, match="answered about trade"):
        gateway.refund(refund_of(mine, 100))


def test_genuine_answers_with_another_amount_are_unavailable(
    fake: FakeAlipay, gateway: AlipayGateway
) -> None:
    request = paid(fake, gateway, 10_000)
    refund = refund_of(request, 5_000)
    answer = {"code": "10000", "out_trade_no": request.payment_id, "fund_change": "Y"}
    fake.answer_next(answer | {"refund_fee": "10.00"})
    with pytest.raises(GatewayUnavailable, match="below this refund"):
        gateway.refund(refund)
    fake.answer_next(answer | {"fund_change": "N", "refund_fee": "50.00"})
    fake.answer_next(
        {"code": "10000", "out_trade_no": request.payment_id, "out_request_no": refund.refund_id}
        | {"refund_amount": "10.00", "refund_status": "REFUND_SUCCESS"}
    )
    with pytest.raises(GatewayUnavailable, match=r"is for 10\.00 CNY, not 50\.00 CNY"):
        gateway.refund(refund)
    fake.answer_next(answer | {"fund_change": "N", "refund_fee": "50.00"})
    fake.answer_next({"code": "10000", "msg": "Success"})  # no such refund at Alipay
    with pytest.raises(GatewayUnavailable, match="has no refund"):
        gateway.refund(refund)
    fake.answer_next({"code": "40004", "sub_code": "ACQ.TRADE_HAS_SUCCESS"})
    fake.answer_next(
        {"code": "10000", "out_trade_no": request.payment_id, "trade_status": "TRADE_SUCCESS"}
        | {"total_amount": "1.00"}
    )
    with pytest.raises(GatewayUnavailable, match=r"for 1\.00 CNY"):
        gateway.create(request)
    fresh = a_request()
    fake.answer_next({"code": "10000", "out_trade_no": fresh.payment_id, "qr_code": ""})
    with pytest.raises(GatewayUnavailable, match="without a qr_code"):
        gateway.create(fresh)


def test_an_unknown_trade_status_in_a_query_is_unavailable(fake: FakeAlipay, gateway: AlipayGateway) -> None:
    request = paid(fake, gateway)
    fake.answer_next({"code": "10000", "out_trade_no": request.payment_id, "trade_status": "NEW"})
    with pytest.raises(GatewayUnavailable, match="unknown trade_status"):
        query_of(gateway, request)


def test_a_wrong_app_key_or_app_id_is_unavailable_with_alipays_reason(fake: FakeAlipay) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = stranger.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    with pytest.raises(GatewayUnavailable, match=r"40002 isv\.invalid-signature") as caught:
        AlipayGateway(fake.config(app_private_key=pem)).create(a_request())
    assert "PRIVATE KEY" not in str(caught.value)
    with pytest.raises(GatewayUnavailable, match=r"40002 isv\.invalid-app-id"):
        AlipayGateway(fake.config(app_id="2021000000009999")).create(a_request())
    assert fake.trades == {}


# -- the fake holds to Alipay's rules ---------------------------------------------------------


def test_the_fake_accepts_the_get_transport_and_refuses_a_bad_signature(vector_fake: FakeAlipay) -> None:
    query_string = VECTORS["query"]["query_string"]  # fzlee's wire form: everything in the query
    answer = requests.get(f"{vector_fake.gateway_url}?{query_string}", timeout=5)
    response = answer.json()["alipay_trade_query_response"]
    assert (response["sub_code"], response["out_trade_no"]) == ("ACQ.TRADE_NOT_EXIST", "ord_1001")
    bad = requests.get(f"{vector_fake.gateway_url}?{query_string.replace('ord_1001', 'ord_1002')}", timeout=5)
    members = top_level_members(bad.text)
    response = json.loads(bad.text[slice(*members["alipay_trade_query_response"])])
    assert (response["code"], response["sub_code"]) == ("40002", "isv.invalid-signature")
    assert "sign" in members  # refusals are signed too


def test_the_fake_merges_query_and_form_and_refuses_conflicts(vector_fake: FakeAlipay) -> None:
    params = dict(VECTORS["query"]["params"]) | {"sign": VECTORS["query"]["sign"]}
    biz = params.pop("biz_content")
    url = f"{vector_fake.gateway_url}?{urlencode(params)}"
    merged = requests.post(url, data={"biz_content": biz}, timeout=5).json()["alipay_trade_query_response"]
    assert merged["sub_code"] == "ACQ.TRADE_NOT_EXIST"  # verified over the union
    conflicting = requests.post(url, data={"biz_content": biz, "app_id": "2021000000000002"}, timeout=5)
    assert conflicting.json()["alipay_trade_query_response"]["sub_code"] == "isv.invalid-parameter"
    unsigned = {k: v for k, v in params.items() if k != "sign"}
    missing = requests.post(
        f"{vector_fake.gateway_url}?{urlencode(unsigned)}", data={"biz_content": biz}, timeout=5
    )
    assert missing.json()["alipay_trade_query_response"]["sub_code"] == "isv.missing-signature"


def test_the_fake_signs_notifications_with_alipays_key_only(vector_fake: FakeAlipay) -> None:
    gateway = vector_gateway(gateway_url=vector_fake.gateway_url)
    request = PaymentRequest("ord_7", "c", Money(500, Currency.CNY), "Order ord_7")
    started(gateway, request)
    vector_fake.pay("ord_7")
    fields = form(vector_fake.notification_for("ord_7"))
    platform = private_key(KEYS["alipay_platform_private_pkcs1"])
    assert fields["sign"] == alipay_sign(notification_content(fields), platform)
    forged = form(vector_fake.forged_notification_for("ord_7"))
    assert forged["sign"] != alipay_sign(notification_content(forged), platform)


# -- configuration ----------------------------------------------------------------------------


def options(**overrides: str) -> dict[str, str]:
    return {
        "app_id": VECTORS["app_id"],
        "app_private_key": KEYS["alipay_app_private_pkcs1"],
        "alipay_public_key": KEYS["alipay_platform_public"],
        "notify_url": NOTIFY_URL,
    } | overrides


def test_config_from_reads_the_settings_and_defaults_the_rest() -> None:
    config = config_from(options())
    assert config == AlipayConfig(
        VECTORS["app_id"],
        KEYS["alipay_app_private_pkcs1"].strip(),
        KEYS["alipay_platform_public"].strip(),
        NOTIFY_URL,
        None,
        AlipayMode.PRECREATE,
        "https://openapi.alipay.com/gateway.do",
        30.0,
    )
    tuned = config_from(
        options(
            mode="PAGE",
            return_url=RETURN_URL,
            gateway_url="https://openapi-sandbox.dl.alipaydev.com/gateway.do",
            timeout_seconds="2.5",
        )
    )
    assert (tuned.mode, tuned.return_url, tuned.timeout_seconds) == (AlipayMode.PAGE, RETURN_URL, 2.5)


def _bare(pem: str) -> str:
    """The base64 body without its armour, as Alipay's key tool and console show keys."""
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


def test_keys_may_be_pem_bare_base64_or_a_file(tmp_path: Path) -> None:
    key_file = tmp_path / "app_private_key.pem"
    key_file.write_text(KEYS["alipay_app_private_pkcs8"])
    for app_key in (KEYS["alipay_app_private_pkcs8"], _bare(KEYS["alipay_app_private_pkcs1"]), str(key_file)):
        for alipay_key in (KEYS["alipay_platform_public"], _bare(KEYS["alipay_platform_public"])):
            config = config_from(options(app_private_key=app_key, alipay_public_key=alipay_key))
            gateway = AlipayGateway(config, clock=lambda: VECTOR_TIME)
            raw = RawNotification({}, VECTORS["notify"]["form_body"].encode(), datetime.now(UTC))
            assert gateway.parse_notification(raw).event_id  # the Alipay key works
            assert sign("x", private_key(config.app_private_key)) == sign(
                "x", private_key(KEYS["alipay_app_private_pkcs1"])
            )


def _pem(key: rsa.RSAPrivateKey, password: bytes | None = None) -> str:
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


SHORT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.mark.parametrize(
    ("key", "value", "detail"),
    [
        ("app_id", "", "required"),
        ("app_id", "2021-0000", "16-digit"),
        ("app_private_key", "", "required"),
        ("app_private_key", "MIIsecretbutbroken", "private key"),
        ("app_private_key", "/no/such/key.pem", "readable key file"),
        ("app_private_key", KEYS["alipay_app_public"], "private key"),
        ("app_private_key", _pem(SHORT_KEY), "1024-bit"),
        ("app_private_key", _pem(throwaway_keys()[0], b"hunter2"), "encrypted"),
        ("alipay_public_key", "", "required"),
        (
            "alipay_public_key",
            "-----BEGIN PUBLIC KEY-----\nsecretbutbroken\n-----END PUBLIC KEY-----",
            "public key",
        ),
        ("alipay_public_key", KEYS["alipay_app_public"], "app's own public key"),
        ("notify_url", "", "required"),
        ("notify_url", "ftp://shop.example/notify", "http(s)"),
        ("notify_url", "https://shop.example/notify?token=1", "without query"),
        ("return_url", "shop.example/return", "http(s)"),
        ("mode", "qr", "precreate"),
        ("gateway_url", "openapi.alipay.com", "http(s)"),
        ("timeout_seconds", "0", "seconds"),
        ("timeout_seconds", "nan", "seconds"),
    ],
)
def test_config_from_names_the_bad_setting_without_echoing_keys(key: str, value: str, detail: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        config_from(options(**{key: value}))
    assert caught.value.field == f"alipay_{key}"
    assert detail in str(caught.value)
    if key.endswith("_key") and value:
        assert value.strip() not in str(caught.value) and "secret" not in str(caught.value)


def test_page_mode_needs_a_return_url() -> None:
    with pytest.raises(InvalidInput) as caught:
        config_from(options(mode="page"))
    assert caught.value.field == "alipay_return_url"


def test_keys_stay_out_of_reprs() -> None:
    config = config_from(options())
    for text in (repr(config), repr(AlipayGateway(config))):
        assert (
            "PRIVATE" not in text
            and "PUBLIC" not in text
            and _bare(KEYS["alipay_platform_public"])[:40] not in text
        )
        assert VECTORS["app_id"] in text
