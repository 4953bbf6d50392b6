"""The WeChat Pay gateway against a local WeChat Pay that speaks API v3 (``FakeWeChatPay``).

Nothing here mocks the adapter: every call goes over HTTP to the fake, which checks our
``Authorization`` signature and signs its answers, and every callback is verified and decrypted
by the gateway. The vectors are those of shared/providers/README.md §3.6 with the keys of
Appendix A (copied byte for byte into ``wechatpay_vectors.json``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from marketcore.adapters.gateways.wechatpay import WeChatPayConfig, WeChatPayGateway, config_from
from marketcore.adapters.gateways.wechatpay.signing import (
    authorization,
    check_signed,
    decrypt,
    load_private_key,
    load_public_key,
    request_message,
    response_message,
)
from marketcore.adapters.gateways.wechatpay.translation import out_trade_no, payment_id_of
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
    Notification,
    PaymentQuery,
    ProviderPayment,
    ProviderRefund,
    ProviderStatus,
    RawNotification,
)
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money
from marketcore.testing.fakes.network import closed_address
from marketcore.testing.fakes.wechatpay import (
    FakeWeChatPay,
    WeChatApiError,
    WeChatPayHarness,
    encrypt_resource,
    generated_key,
)
from marketcore.testing.payments import GatewayHarness, PaymentGatewayContract

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "wechatpay_vectors.json").read_text("utf-8"))
KEYS: dict[str, str] = VECTORS["keys"]
TS = int(VECTORS["ts"])
CNY = Currency.CNY


def vector_fake() -> FakeWeChatPay:
    """A WeChat Pay holding the README's merchant, keys and ids (started only where served)."""
    return FakeWeChatPay(
        mchid=VECTORS["mchid"],
        appid=VECTORS["appid"],
        merchant_private_key=KEYS["wechat_merchant_private_pkcs8"],
        merchant_serial_no=VECTORS["merchant_serial_no"],
        platform_private_key=KEYS["wechat_platform_private_pkcs8"],
        platform_public_key_id=VECTORS["public_key_id"],
        apiv3_key=VECTORS["apiv3_key"],
        notify_url="https://shop.example/wxpay/notify",
    )


VECTOR_FAKE = vector_fake()


@pytest.fixture
def fake() -> Iterator[FakeWeChatPay]:
    with FakeWeChatPay() as server:
        yield server


@pytest.fixture
def gateway(fake: FakeWeChatPay) -> WeChatPayGateway:
    return WeChatPayGateway(fake.config())


class TestWeChatPayContract(PaymentGatewayContract):
    @pytest.fixture
    def harness(self, fake: FakeWeChatPay) -> GatewayHarness:
        return WeChatPayHarness(fake)


def a_request(fen: int = 10_000, **extra: Any) -> PaymentRequest:
    payment_id = new_id()
    return PaymentRequest(
        payment_id, new_id(), Money(fen, extra.pop("currency", CNY)), f"checkout {payment_id}", **extra
    )


def started(gateway: WeChatPayGateway, request: PaymentRequest) -> PaymentStarted:
    outcome = gateway.create(request)
    assert isinstance(outcome, PaymentStarted), outcome
    return outcome


def paid(fake: FakeWeChatPay, gateway: WeChatPayGateway, fen: int = 10_000) -> PaymentRequest:
    request = a_request(fen)
    code_url = started(gateway, request).next_action.value
    assert code_url is not None and fake.pay(code_url)["trade_state"] == "SUCCESS"
    return request


def refund_of(request: PaymentRequest, fen: int, reason: str = "test") -> RefundRequest:
    return RefundRequest(
        new_id(), request.payment_id, out_trade_no(request.payment_id), Money(fen, CNY), reason
    )


def vector_gateway(**overrides: Any) -> WeChatPayGateway:
    """A gateway holding the README's keys; nothing listens at its API address."""
    return WeChatPayGateway(VECTOR_FAKE.config(api_base=closed_address(), **overrides))


def vector_callback(name: str, seconds_after_signing: int = 1) -> RawNotification:
    vector = VECTORS[name]
    headers = {key.lower(): value for key, value in vector["headers"].items()}
    at = datetime.fromtimestamp(int(headers["wechatpay-timestamp"]) + seconds_after_signing, UTC)
    return RawNotification(headers, vector["body"].encode(), at)


def sealed_callback(
    event_type: str, resource: dict[str, Any], *, associated_data: str | None = None, **event: Any
) -> RawNotification:
    """A callback genuinely signed with the README's platform key, about ``resource``."""
    kind = "transaction" if event_type.startswith("TRANSACTION") else "refund"
    sealed = encrypt_resource(VECTORS["apiv3_key"], json.dumps(resource).encode(), associated_data or kind)
    body = {"id": "EV-1", "resource_type": "encrypt-resource", "event_type": event_type, "resource": sealed}
    return VECTOR_FAKE.deliver(json.dumps(body | event).encode())


def paid_resource(payment_id: str) -> dict[str, Any]:
    plaintext: dict[str, Any] = json.loads(VECTORS["notify_paid"]["plaintext"])
    return plaintext | {"out_trade_no": out_trade_no(payment_id)}


def refund_resource(payment_id: str, refund_id: str, status: str = "SUCCESS") -> dict[str, Any]:
    plaintext: dict[str, Any] = json.loads(VECTORS["notify_refund"]["plaintext"])
    return plaintext | {
        "out_trade_no": out_trade_no(payment_id),
        "out_refund_no": refund_id,
        "refund_status": status,
    }


def verifies_with_merchant_key(method: str, target: str, headers: dict[str, str], body: bytes) -> bool:
    """An independent check of our ``Authorization``, the way WeChat Pay does it."""
    values = dict(part.split("=", 1) for part in headers["authorization"].split(" ", 1)[1].split(","))
    values = {key: value.strip('"') for key, value in values.items()}
    message = f"{method}\n{target}\n{values['timestamp']}\n{values['nonce_str']}\n".encode() + body + b"\n"
    key = serialization.load_pem_public_key(KEYS["wechat_merchant_public"].encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(base64.b64decode(values["signature"]), message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


# -- the README's vectors ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["req_native", "req_query", "req_refund"])
def test_our_request_signing_reproduces_the_vectors(name: str) -> None:
    vector = VECTORS[name]
    body = vector["body"].encode()
    message = request_message(vector["method"], vector["path"], TS, VECTORS["nonce"], body)
    assert message == vector["message"].encode()
    header = authorization(
        method=vector["method"],
        url=vector["path"],
        body=body,
        mchid=VECTORS["mchid"],
        serial_no=VECTORS["merchant_serial_no"],
        key=load_private_key(KEYS["wechat_merchant_private_pkcs8"], "key"),
        timestamp=TS,
        nonce=VECTORS["nonce"],
    )
    assert header == vector["authorization"]
    pkcs1 = load_private_key(KEYS["wechat_merchant_private_pkcs1"], "key")
    assert header == authorization(
        method=vector["method"],
        url=vector["path"],
        body=body,
        mchid=VECTORS["mchid"],
        serial_no=VECTORS["merchant_serial_no"],
        key=pkcs1,
        timestamp=TS,
        nonce=VECTORS["nonce"],
    )


@pytest.mark.parametrize("name", ["resp_native", "resp_query", "resp_refund", "notify_paid", "notify_refund"])
def test_the_vector_answers_and_callbacks_verify_with_the_platform_key(name: str) -> None:
    vector = VECTORS[name]
    headers = {key.lower(): value for key, value in vector["headers"].items()}
    body = vector["body"].encode()
    assert (
        response_message(headers["wechatpay-timestamp"], headers["wechatpay-nonce"], body)
        == vector["message"].encode()
    )
    key, _ = load_public_key(KEYS["wechat_platform_public"], "key")
    now = int(headers["wechatpay-timestamp"])
    check_signed(headers, body, key=key, key_id=VECTORS["public_key_id"], now=now, tolerance=300)
    with pytest.raises(ValueError, match="does not match"):
        check_signed(headers, body + b" ", key=key, key_id=VECTORS["public_key_id"], now=now, tolerance=300)


@pytest.mark.parametrize("name", ["resp_native", "resp_query", "resp_refund", "notify_paid", "notify_refund"])
def test_the_fake_signs_exactly_as_the_vectors(name: str) -> None:
    vector = VECTORS[name]
    expected = {k: v for k, v in vector["headers"].items() if k.startswith("Wechatpay-")}
    signed = VECTOR_FAKE.sign_headers(
        vector["body"].encode(),
        timestamp=int(expected["Wechatpay-Timestamp"]),
        nonce=expected["Wechatpay-Nonce"],
    )
    assert signed == expected


@pytest.mark.parametrize("name", ["notify_paid", "notify_refund"])
def test_the_vector_resources_open_and_seal_byte_for_byte(name: str) -> None:
    vector = VECTORS[name]
    key = VECTORS["apiv3_key"]
    opened = decrypt(key.encode(), vector["resource_nonce"], vector["ciphertext"], vector["associated_data"])
    assert opened == vector["plaintext"].encode()
    sealed = encrypt_resource(key, opened, vector["associated_data"], vector["resource_nonce"])
    assert sealed["ciphertext"] == vector["ciphertext"]
    assert json.loads(vector["body"])["resource"] == sealed


def test_the_certificate_vector_verifies_under_its_serial() -> None:
    cert = VECTORS["cert_mode"]
    key, serial = load_public_key(cert["certificate_pem"], "key")
    assert serial == cert["serial_no"]
    headers = {k.lower(): v for k, v in cert["resp_native_headers"].items()}
    body = VECTORS["resp_native"]["body"].encode()
    assert (
        response_message(headers["wechatpay-timestamp"], headers["wechatpay-nonce"], body)
        == cert["resp_native_message"].encode()
    )
    check_signed(headers, body, key=key, key_id=serial.lower(), now=1700000004, tolerance=300)


def test_the_gateway_takes_the_vector_native_answer() -> None:
    with vector_fake() as server:
        gateway = WeChatPayGateway(server.config(), clock=lambda: 1700000001.0)
        vector = VECTORS["resp_native"]
        server.answer_next(vector["body"].encode(), headers=vector["headers"])
        outcome = gateway.create(a_request(8888))
        method, target, headers, body = server.requests[-1]
    assert outcome == PaymentStarted(
        outcome.provider_reference,
        NextAction(NextActionKind.QR_CODE, "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"),
        PaymentStatus.REQUIRES_ACTION,
    )
    assert (method, target) == ("POST", "/v3/pay/transactions/native")
    assert f'timestamp="{1700000001}"' in headers["authorization"]
    assert verifies_with_merchant_key(method, target, headers, body)


def test_the_gateway_takes_the_vector_answer_signed_in_certificate_mode() -> None:
    cert = VECTORS["cert_mode"]
    with vector_fake() as server:
        config = server.config(
            platform_public_key=cert["certificate_pem"], platform_public_key_id=cert["serial_no"]
        )
        server.answer_next(VECTORS["resp_native"]["body"].encode(), headers=cert["resp_native_headers"])
        outcome = WeChatPayGateway(config, clock=lambda: 1700000004.0).create(a_request(8888))
    assert isinstance(outcome, PaymentStarted)
    assert outcome.next_action.value == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"


def test_the_vector_query_answer_verifies_but_is_about_another_order() -> None:
    with vector_fake() as server:
        gateway = WeChatPayGateway(server.config(), clock=lambda: 1700000002.0)
        vector = VECTORS["resp_query"]
        server.answer_next(vector["body"].encode(), headers=vector["headers"])
        request = a_request(8888)
        with pytest.raises(GatewayUnavailable, match="'ord_1001'"):
            gateway.query(PaymentQuery(request.payment_id, None, request.amount))
        server.answer_next(vector["body"].encode() + b" ", headers=vector["headers"])
        with pytest.raises(GatewayUnavailable, match="does not match"):
            gateway.query(PaymentQuery(request.payment_id, None, request.amount))


@pytest.mark.parametrize(
    ("name", "event_id"), [("notify_paid", "EV-2026011510310001"), ("notify_refund", "EV-2026011511000002")]
)
def test_the_gateway_verifies_and_opens_the_vector_callbacks(name: str, event_id: str) -> None:
    parsed = vector_gateway().parse_notification(vector_callback(name))
    # The vectors' order number is ord_1001, not one of ours: genuine, but nothing of ours changed.
    assert parsed == Notification(event_id, ())


def test_the_vector_callback_about_our_order_reports_our_payment() -> None:
    payment_id = new_id()
    parsed = vector_gateway().parse_notification(
        sealed_callback("TRANSACTION.SUCCESS", paid_resource(payment_id))
    )
    assert parsed == Notification(
        "EV-1",
        (
            ProviderPayment(
                payment_id, ProviderStatus.SUCCEEDED, "4200000000202601150000000001", Money(8888, CNY)
            ),
        ),
    )


def test_the_vector_refund_callback_about_our_refund_names_it() -> None:
    payment_id, refund_id = new_id(), new_id()
    raw = sealed_callback("REFUND.SUCCESS", refund_resource(payment_id, refund_id))
    (change,) = vector_gateway().parse_notification(raw).changes
    assert change == ProviderRefund(
        payment_id, refund_id, RefundStatus.SUCCEEDED, "50000000382019052709732678859", Money(1000, CNY)
    )


@pytest.mark.parametrize(
    ("event_type", "failure"), [("REFUND.ABNORMAL", "ABNORMAL"), ("REFUND.CLOSED", "CLOSED")]
)
def test_abnormal_and_closed_refunds_are_failed_refunds(event_type: str, failure: str) -> None:
    payment_id, refund_id = new_id(), new_id()
    raw = sealed_callback(event_type, refund_resource(payment_id, refund_id, failure))
    (change,) = vector_gateway().parse_notification(raw).changes
    assert isinstance(change, ProviderRefund)
    assert (change.refund_id, change.status) == (refund_id, RefundStatus.FAILED)
    assert change.failure_reason is not None and change.failure_reason.startswith(failure)


def test_a_refund_made_in_the_merchant_platform_is_not_ours() -> None:
    resource = refund_resource(new_id(), new_id()) | {"out_refund_no": "50300000012026011500000001"}
    assert vector_gateway().parse_notification(sealed_callback("REFUND.SUCCESS", resource)).changes == ()


# -- callbacks: what is not genuine -----------------------------------------------------------


def test_a_callback_signed_more_than_300_seconds_from_its_receipt_is_rejected() -> None:
    gateway = vector_gateway()
    assert gateway.parse_notification(vector_callback("notify_paid", 300)).event_id == "EV-2026011510310001"
    assert gateway.parse_notification(vector_callback("notify_paid", -300)).event_id
    for seconds in (301, -301, 86_400):
        with pytest.raises(InvalidNotification, match="300 s"):
            gateway.parse_notification(vector_callback("notify_paid", seconds))


def test_the_timestamp_tolerance_is_configurable() -> None:
    late = vector_callback("notify_paid", 900)
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(late)
    assert vector_gateway(timestamp_tolerance_seconds=1_000).parse_notification(late).event_id


def test_a_callback_under_another_key_id_is_rejected() -> None:
    raw = vector_callback("notify_paid")
    headers = dict(raw.headers) | {"wechatpay-serial": "PUB_KEY_ID_0119000000012026011500000000000002"}
    with pytest.raises(InvalidNotification, match="not ours"):
        vector_gateway().parse_notification(RawNotification(headers, raw.body, raw.received_at))


def test_a_callback_signed_by_another_key_under_our_key_id_is_rejected() -> None:
    body = VECTORS["notify_paid"]["body"].encode()
    raw = VECTOR_FAKE.deliver(body, key=generated_key("forger"))
    with pytest.raises(InvalidNotification, match="does not match"):
        vector_gateway().parse_notification(raw)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body.replace(b"EV-2026", b"EV-2027"),
        lambda body: body.replace(b'"ciphertext":"2', b'"ciphertext":"3'),
        lambda body: body + b"\n",
        lambda body: b" " + body,
    ],
)
def test_a_callback_body_changed_in_any_byte_is_rejected(tamper: Any) -> None:
    raw = vector_callback("notify_paid")
    with pytest.raises(InvalidNotification, match="does not match"):
        vector_gateway().parse_notification(RawNotification(raw.headers, tamper(raw.body), raw.received_at))


def test_a_resealed_callback_whose_ciphertext_was_changed_is_rejected() -> None:
    """Signed by WeChat Pay's key, yet the resource does not open: not trusted either."""
    event = json.loads(VECTORS["notify_paid"]["body"])
    ciphertext = bytearray(base64.b64decode(event["resource"]["ciphertext"]))
    ciphertext[10] ^= 1
    event["resource"]["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    with pytest.raises(InvalidNotification, match="does not decrypt"):
        vector_gateway().parse_notification(VECTOR_FAKE.deliver(json.dumps(event).encode()))


@pytest.mark.parametrize("associated_data", ["refund", "", "transaction "])
def test_a_resource_read_with_other_associated_data_is_rejected(associated_data: str) -> None:
    event = json.loads(VECTORS["notify_paid"]["body"])
    event["resource"]["associated_data"] = associated_data
    with pytest.raises(InvalidNotification, match="does not decrypt"):
        vector_gateway().parse_notification(VECTOR_FAKE.deliver(json.dumps(event).encode()))


def test_a_resource_sealed_with_another_apiv3_key_is_rejected() -> None:
    with pytest.raises(InvalidNotification, match="does not decrypt"):
        vector_gateway(apiv3_key="AnotherApiV3Key00000000000000000").parse_notification(
            vector_callback("notify_paid")
        )


@pytest.mark.parametrize(
    "body", [b"not json", b"\xff\xfe", b"[]", b'{"event_type":"TRANSACTION.SUCCESS"}', b"{}"]
)
def test_a_signed_body_that_is_not_a_callback_is_rejected(body: bytes) -> None:
    with pytest.raises(InvalidNotification, match="not a WeChat Pay callback"):
        vector_gateway().parse_notification(VECTOR_FAKE.deliver(body))


@pytest.mark.parametrize(
    "resource",
    [
        None,
        {"algorithm": "AEAD_AES_256_GCM"},
        {"algorithm": "AEAD_SM4_GCM", "ciphertext": "AA==", "nonce": "abcdefabcdef", "associated_data": ""},
        {"algorithm": "AEAD_AES_256_GCM", "ciphertext": "not base64!", "nonce": "abcdefabcdef"},
    ],
)
def test_a_payment_callback_without_a_readable_resource_is_rejected(resource: Any) -> None:
    body = {
        "id": "EV-2",
        "resource_type": "encrypt-resource",
        "event_type": "TRANSACTION.SUCCESS",
        "resource": resource,
    }
    with pytest.raises(InvalidNotification, match="EV-2"):
        vector_gateway().parse_notification(VECTOR_FAKE.deliver(json.dumps(body).encode()))


def test_an_event_type_we_do_not_act_on_is_accepted_unopened() -> None:
    body = {"id": "EV-3", "event_type": "MCHTRANSFER.BILL.FINISHED", "resource": {"ciphertext": "?"}}
    parsed = vector_gateway().parse_notification(VECTOR_FAKE.deliver(json.dumps(body).encode()))
    assert parsed == Notification("EV-3", ())


@pytest.mark.parametrize(
    ("event_type", "resource"),
    [
        ("TRANSACTION.SUCCESS", {"trade_state": "NOTPAY"}),
        ("REFUND.SUCCESS", {"refund_status": "ABNORMAL"}),
        ("TRANSACTION.SUCCESS", {"mchid": "1900000002"}),
        ("TRANSACTION.SUCCESS", {"amount": {"total": 8888, "currency": "USD"}}),
        ("TRANSACTION.SUCCESS", {"amount": {"total": "8888", "currency": "CNY"}}),
        ("TRANSACTION.SUCCESS", {"trade_state": "SUCCESS!"}),
    ],
)
def test_a_decrypted_resource_about_our_payment_that_cannot_be_ours_is_rejected(
    event_type: str, resource: dict[str, Any]
) -> None:
    payment_id = new_id()
    whole = (
        paid_resource(payment_id)
        if event_type.startswith("TRANSACTION")
        else refund_resource(payment_id, new_id())
    )
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(sealed_callback(event_type, whole | resource))


@pytest.mark.parametrize(
    "change",
    [
        {
            "wechatpay-signature": "WECHATPAY/SIGNTEST/"
            + VECTORS["notify_paid"]["headers"]["Wechatpay-Signature"]
        },
        {"wechatpay-signature-type": "WECHATPAY2-SM2-WITH-SM3"},
        {"wechatpay-timestamp": "soon"},
        {"wechatpay-signature": "%%%"},
    ],
)
def test_probes_and_malformed_signature_headers_are_rejected(change: dict[str, str]) -> None:
    raw = vector_callback("notify_paid")
    with pytest.raises(InvalidNotification):
        vector_gateway().parse_notification(
            RawNotification(dict(raw.headers) | change, raw.body, raw.received_at)
        )


@pytest.mark.parametrize(
    "missing", ["wechatpay-signature", "wechatpay-timestamp", "wechatpay-nonce", "wechatpay-serial"]
)
def test_a_callback_missing_a_signature_header_is_rejected(missing: str) -> None:
    raw = vector_callback("notify_paid")
    headers = {name: value for name, value in raw.headers.items() if name != missing}
    with pytest.raises(InvalidNotification, match="unsigned"):
        vector_gateway().parse_notification(RawNotification(headers, raw.body, raw.received_at))


def test_header_names_are_matched_in_any_case() -> None:
    raw = vector_callback("notify_paid")
    headers = dict(VECTORS["notify_paid"]["headers"])  # as WeChat Pay writes them
    assert vector_gateway().parse_notification(RawNotification(headers, raw.body, raw.received_at)).event_id


# -- callbacks from the fake ------------------------------------------------------------------


def test_redeliveries_keep_the_id_and_each_new_callback_has_its_own(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway)
    first = gateway.parse_notification(fake.notification_for(request.payment_id))
    again = fake.notification_for(request.payment_id)
    assert gateway.parse_notification(again).event_id == first.event_id
    assert (
        again.headers["wechatpay-nonce"]
        != fake.notification_for(request.payment_id).headers["wechatpay-nonce"]
    )
    assert isinstance(gateway.refund(refund_of(request, 100)), RefundAccepted)
    refunded = gateway.parse_notification(fake.notification_for(request.payment_id, "REFUND.SUCCESS"))
    assert refunded.event_id != first.event_id


def test_forged_and_stale_callbacks_from_the_fake_are_rejected(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway)
    with pytest.raises(InvalidNotification, match="does not match"):
        gateway.parse_notification(fake.forged_notification_for(request.payment_id))
    now = int(datetime.now(UTC).timestamp())
    with pytest.raises(InvalidNotification, match="300 s"):
        gateway.parse_notification(fake.notification_for(request.payment_id, signed_at=now - 301))
    stored = fake.notification_for(request.payment_id, received_at=datetime.now(UTC) + timedelta(minutes=6))
    with pytest.raises(InvalidNotification, match="300 s"):
        gateway.parse_notification(stored)


def test_the_payment_callback_reports_what_wechat_pay_charged(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = a_request(10_000)
    fake.charge_instead(request.payment_id, 9_000)
    fake.pay(str(started(gateway, request).next_action.value))
    (change,) = gateway.parse_notification(fake.notification_for(request.payment_id)).changes
    assert change == ProviderPayment(
        request.payment_id,
        ProviderStatus.SUCCEEDED,
        fake.order_for(request.payment_id)["transaction_id"],
        Money(9_000, CNY),
    )
    seen = gateway.query(PaymentQuery(request.payment_id, None, request.amount))
    assert (seen.status, seen.amount) == (ProviderStatus.SUCCEEDED, Money(9_000, CNY))


def test_refunds_settled_later_notify_success_abnormal_and_closed(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    fake.settle_refunds_later = True
    request = paid(fake, gateway, 10_000)
    good, odd, shut = refund_of(request, 3_000), refund_of(request, 2_000), refund_of(request, 5_000)
    for refund in (good, odd, shut):
        accepted = gateway.refund(refund)
        assert isinstance(accepted, RefundAccepted) and accepted.status is RefundStatus.PENDING

    def change(refund: RefundRequest, status: str) -> ProviderRefund:
        fake.settle_refund(refund.refund_id, status)
        (seen,) = gateway.parse_notification(fake.notification_for(request.payment_id)).changes
        assert isinstance(seen, ProviderRefund) and seen.refund_id == refund.refund_id
        return seen

    assert change(good, "SUCCESS").status is RefundStatus.SUCCEEDED
    assert change(odd, "ABNORMAL").status is RefundStatus.FAILED
    assert change(shut, "CLOSED").status is RefundStatus.FAILED
    # A closed refund's money is refundable again; an abnormal one's is still held at WeChat Pay.
    assert isinstance(gateway.refund(refund_of(request, 5_000)), RefundAccepted)
    assert isinstance(gateway.refund(refund_of(request, 1)), RefundDeclined)


# -- create, query, refund on the wire --------------------------------------------------------


def test_create_sends_a_signed_native_order_numbered_after_our_payment(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = a_request(12_345)
    outcome = started(gateway, request)
    method, target, headers, body = fake.requests[-1]
    assert (method, target) == ("POST", "/v3/pay/transactions/native")
    assert headers["authorization"].startswith(f'WECHATPAY2-SHA256-RSA2048 mchid="{fake.mchid}",nonce_str="')
    assert f'serial_no="{fake.merchant_serial_no}"' in headers["authorization"]
    assert headers["content-type"] == "application/json" and headers["accept"] == "application/json"
    assert headers["user-agent"] and headers["wechatpay-serial"] == fake.platform_public_key_id
    assert json.loads(body) == {
        "appid": fake.appid,
        "mchid": fake.mchid,
        "description": f"checkout {request.payment_id}",
        "out_trade_no": request.payment_id.replace("-", ""),
        "notify_url": fake.notify_url,
        "amount": {"total": 12_345, "currency": "CNY"},
    }
    order = fake.orders[request.payment_id.replace("-", "")]
    assert outcome == PaymentStarted(
        order.out_trade_no, NextAction(NextActionKind.QR_CODE, order.code_url), PaymentStatus.REQUIRES_ACTION
    )


def test_the_order_number_is_the_uuid_without_dashes_and_maps_back() -> None:
    payment_id = new_id()
    number = out_trade_no(payment_id)
    assert len(number) == 32 and number == uuid.UUID(payment_id).hex
    assert payment_id_of(number) == payment_id
    for other in ("ord_1001", number.upper(), number[:-1], 42):
        assert payment_id_of(other) is None


@pytest.mark.parametrize("payment_id", ["ord_1001", str(uuid.uuid4()).upper(), uuid.uuid4().hex])
def test_a_payment_id_that_is_not_a_canonical_uuid_is_refused(
    gateway: WeChatPayGateway, payment_id: str
) -> None:
    request = PaymentRequest(payment_id, new_id(), Money(100, CNY), "x")
    with pytest.raises(InvalidInput) as caught:
        gateway.create(request)
    assert caught.value.field == "payment_id"


def test_the_deadline_is_sent_at_beijing_time_and_closes_the_order(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    deadline = datetime(2099, 1, 15, 2, 30, 15, 999_999, tzinfo=UTC)
    started(gateway, a_request(expires_at=deadline))
    assert json.loads(fake.requests[-1][3])["time_expire"] == "2099-01-15T10:30:15+08:00"
    soon = datetime.now(UTC) + timedelta(seconds=1)
    request = a_request(expires_at=soon)
    code_url = str(started(gateway, request).next_action.value)
    fake.orders[out_trade_no(request.payment_id)].expires_at = datetime.now(UTC)  # the deadline passes
    seen = gateway.query(PaymentQuery(request.payment_id, None, request.amount))
    assert (seen.status, seen.failure_reason) == (ProviderStatus.CANCELLED, "CLOSED: 订单已关闭")
    with pytest.raises(ValueError, match="CLOSED"):
        fake.pay(code_url)


def test_a_deadline_without_a_time_zone_is_refused(gateway: WeChatPayGateway) -> None:
    with pytest.raises(InvalidInput) as caught:
        gateway.create(a_request(expires_at=datetime(2099, 1, 1)))
    assert caught.value.field == "expires_at"


def test_a_passed_deadline_is_wechats_refusal(gateway: WeChatPayGateway) -> None:
    outcome = gateway.create(a_request(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert isinstance(outcome, PaymentDeclined) and outcome.reason.startswith("PARAM_ERROR:")
    assert outcome.reason.endswith("(/time_expire)")


def test_a_long_description_is_cut_to_127_bytes_between_characters(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    payment_id = new_id()
    started(gateway, PaymentRequest(payment_id, new_id(), Money(100, CNY), "商品" * 40))
    description = json.loads(fake.requests[-1][3])["description"]
    assert description == "商品" * 21 and len(description.encode()) == 126
    started(gateway, PaymentRequest(new_id(), new_id(), Money(100, CNY), "   "))
    assert json.loads(fake.requests[-1][3])["description"].startswith("payment ")


def test_create_retried_after_a_lost_answer_gets_the_same_code(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = a_request()
    fake.stall_next(1.0)
    with pytest.raises(GatewayUnavailable, match="could not be reached"):
        WeChatPayGateway(fake.config(timeout_seconds=0.3)).create(request)  # WeChat made it; no answer came
    again = started(gateway, request)
    assert list(fake.orders) == [again.provider_reference]
    assert again.next_action.value == fake.orders[again.provider_reference].code_url


def test_create_for_an_order_already_paid_leaves_nothing_for_the_buyer(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway)
    again = gateway.create(request)
    assert again == PaymentStarted(
        out_trade_no(request.payment_id), NextAction(NextActionKind.NONE), PaymentStatus.PENDING
    )


def test_the_same_payment_with_another_amount_is_declined_not_charged_twice(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = a_request(10_000)
    started(gateway, request)
    changed = PaymentRequest(request.payment_id, request.checkout_id, Money(20_000, CNY), request.description)
    assert gateway.create(changed) == PaymentDeclined("INVALID_REQUEST: 201 商户订单号重复")
    assert len(fake.orders) == 1


def test_create_for_a_closed_order_is_declined(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    request = a_request()
    started(gateway, request)
    fake.close_order(request.payment_id)
    assert gateway.create(request) == PaymentDeclined("ORDER_CLOSED: 订单已关闭")


@pytest.mark.parametrize("currency", [Currency.USD, Currency.EUR])
def test_other_currencies_are_declined_without_calling_wechat(
    fake: FakeWeChatPay, gateway: WeChatPayGateway, currency: Currency
) -> None:
    outcome = gateway.create(a_request(currency=currency))
    assert isinstance(outcome, PaymentDeclined) and "CNY only" in outcome.reason
    request = a_request()
    refund = RefundRequest(new_id(), request.payment_id, None, Money(100, currency), "x")
    assert isinstance(gateway.refund(refund), RefundDeclined)
    assert fake.requests == []


def test_a_zero_amount_is_wechats_parameter_refusal(gateway: WeChatPayGateway) -> None:
    outcome = gateway.create(a_request(0))
    assert isinstance(outcome, PaymentDeclined)
    assert outcome.reason.startswith("PARAM_ERROR:") and outcome.reason.endswith("(/amount/total)")


def test_query_asks_by_our_order_number_and_merchant(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    request = a_request()
    started(gateway, request)
    seen = gateway.query(PaymentQuery(request.payment_id, "anything", request.amount))
    method, target, headers, body = fake.requests[-1]
    assert (method, body) == ("GET", b"")
    assert (
        target == f"/v3/pay/transactions/out-trade-no/{out_trade_no(request.payment_id)}?mchid={fake.mchid}"
    )
    assert "content-type" not in headers
    assert seen == ProviderPayment(
        request.payment_id, ProviderStatus.PENDING, out_trade_no(request.payment_id), request.amount
    )


def test_query_maps_every_trade_state(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    def state(outcome: str | None) -> ProviderPayment:
        request = a_request()
        code_url = str(started(gateway, request).next_action.value)
        if outcome == "CLOSED":
            fake.close_order(request.payment_id)
        elif outcome is not None:
            fake.pay(code_url, outcome=outcome)
        return gateway.query(PaymentQuery(request.payment_id, None, request.amount))

    assert state(None).status is ProviderStatus.PENDING
    assert state("USERPAYING").status is ProviderStatus.PROCESSING
    failed = state("PAYERROR")
    assert (failed.status, failed.failure_reason) == (
        ProviderStatus.FAILED,
        "PAYERROR: 支付失败，请重新下单支付",
    )
    assert state("CLOSED").status is ProviderStatus.CANCELLED
    succeeded = state("SUCCESS")
    assert succeeded.status is ProviderStatus.SUCCEEDED and str(succeeded.provider_reference).startswith(
        "42000"
    )
    request = paid(fake, gateway)
    assert isinstance(gateway.refund(refund_of(request, 10_000)), RefundAccepted)
    refunded = gateway.query(PaymentQuery(request.payment_id, None, request.amount))
    assert fake.order_for(request.payment_id)["trade_state"] == "REFUND"
    assert (refunded.status, refunded.amount) == (ProviderStatus.SUCCEEDED, request.amount)


def test_a_payment_wechat_never_saw_is_pending_and_cannot_be_refunded(gateway: WeChatPayGateway) -> None:
    request = a_request()
    assert gateway.query(PaymentQuery(request.payment_id, None, request.amount)) == ProviderPayment(
        request.payment_id, ProviderStatus.PENDING
    )
    declined = gateway.refund(refund_of(request, 100))
    assert isinstance(declined, RefundDeclined) and "no order" in declined.reason


def test_an_unpaid_payment_cannot_be_refunded(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    request = a_request()
    started(gateway, request)
    declined = gateway.refund(refund_of(request, 100))
    assert isinstance(declined, RefundDeclined) and "not paid" in declined.reason
    assert [r[0] for r in fake.requests] == ["POST", "GET"]  # no refund was asked for


def test_refund_sends_our_refund_number_with_the_order_total(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway, 8_888)
    refund = refund_of(request, 1_000, "partial refund")
    accepted = gateway.refund(refund)
    wire = fake.refunds[refund.refund_id]
    assert accepted == RefundAccepted(wire.refund_id, RefundStatus.PENDING)  # WeChat answers PROCESSING
    (query, sent) = fake.requests[-2:]
    assert query[0] == "GET"
    method, target, _, body = sent
    assert (method, target) == ("POST", "/v3/refund/domestic/refunds")
    assert json.loads(body) == {
        "out_trade_no": out_trade_no(request.payment_id),
        "out_refund_no": refund.refund_id,
        "notify_url": fake.notify_url,
        "amount": {"refund": 1_000, "total": 8_888, "currency": "CNY"},
        "reason": "partial refund",
    }


def test_a_refund_retried_with_its_id_answers_the_same_refund_once(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway, 10_000)
    refund = refund_of(request, 6_000)
    first, again = gateway.refund(refund), gateway.refund(refund)
    assert isinstance(first, RefundAccepted) and isinstance(again, RefundAccepted)
    assert (again.provider_reference, again.status) == (first.provider_reference, RefundStatus.SUCCEEDED)
    assert len(fake.refunds) == 1
    other = RefundRequest(refund.refund_id, request.payment_id, None, Money(5_000, CNY), "changed")
    assert gateway.refund(other) == RefundDeclined(
        "INVALID_REQUEST: 订单金额或退款金额与之前请求不一致，请核实后再试"
    )


def test_refunds_beyond_the_capture_are_declined_with_wechats_message(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway, 10_000)
    assert isinstance(gateway.refund(refund_of(request, 8_000)), RefundAccepted)
    assert gateway.refund(refund_of(request, 3_000)) == RefundDeclined(
        "INVALID_REQUEST: 申请退款金额超过订单可退金额"
    )
    assert isinstance(gateway.refund(refund_of(request, 2_000)), RefundAccepted)
    assert gateway.refund(refund_of(request, 1)) == RefundDeclined("INVALID_REQUEST: 订单已全额退款")


def test_a_refund_without_a_reason_sends_none(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    request = paid(fake, gateway)
    assert isinstance(gateway.refund(refund_of(request, 100, " ")), RefundAccepted)
    assert "reason" not in json.loads(fake.requests[-1][3])


def test_a_refund_the_merchant_balance_cannot_cover_is_declined(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = paid(fake, gateway)
    fake.fail_next(status=403, code="NOT_ENOUGH", after=1)  # the order query goes through first
    assert gateway.refund(refund_of(request, 100)) == RefundDeclined(
        "NOT_ENOUGH: 基本账户余额不足，请充值后重新发起"
    )


@pytest.mark.parametrize("status", ["ABNORMAL", "CLOSED"])
def test_a_refund_answered_abnormal_or_closed_is_declined(
    fake: FakeWeChatPay, gateway: WeChatPayGateway, status: str
) -> None:
    request = paid(fake, gateway)
    refund = refund_of(request, 100)
    answer = {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": refund.refund_id,
        "out_trade_no": out_trade_no(request.payment_id),
        "status": status,
        "amount": {"refund": 100, "total": 10_000, "currency": "CNY"},
    }
    fake.answer_next(answer, after=1)
    declined = gateway.refund(refund)
    assert isinstance(declined, RefundDeclined) and declined.reason.startswith(status)


def test_answers_about_another_order_or_refund_or_amount_are_unavailable(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    mine, theirs = paid(fake, gateway), paid(fake, gateway)
    fake.answer_next(fake.order_for(theirs.payment_id))
    with pytest.raises(GatewayUnavailable, match="not " + out_trade_no(mine.payment_id)):
        gateway.query(PaymentQuery(mine.payment_id, None, mine.amount))
    fake.answer_next(fake.order_for(mine.payment_id) | {"mchid": "1900000002"})
    with pytest.raises(GatewayUnavailable, match="merchant"):
        gateway.query(PaymentQuery(mine.payment_id, None, mine.amount))
    refund = refund_of(mine, 100)
    answer = {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": refund.refund_id,
        "out_trade_no": out_trade_no(mine.payment_id),
        "status": "SUCCESS",
        "amount": {"refund": 100, "total": 10_000, "currency": "CNY"},
    }
    fake.answer_next(answer | {"out_refund_no": new_id()}, after=1)
    with pytest.raises(GatewayUnavailable, match="not this refund"):
        gateway.refund(refund)
    fake.answer_next(answer | {"out_trade_no": out_trade_no(theirs.payment_id)}, after=1)
    with pytest.raises(GatewayUnavailable, match="not this refund"):
        gateway.refund(refund)
    fake.answer_next(answer | {"amount": {"refund": 999, "total": 10_000, "currency": "CNY"}}, after=1)
    with pytest.raises(GatewayUnavailable, match=r"refunded 9\.99 CNY"):
        gateway.refund(refund)
    fake.answer_next(answer | {"status": "DONE"}, after=1)
    with pytest.raises(GatewayUnavailable, match="DONE"):
        gateway.refund(refund)
    fake.answer_next({"code_url": "https://evil.example/pay"})
    with pytest.raises(GatewayUnavailable, match="code_url"):
        gateway.create(a_request())
    assert fake.refunds == {}


# -- infrastructure failures are errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, None), (502, None), (503, None), (429, None), (400, "SYSTEM_ERROR"), (403, "BANK_ERROR")],
)
def test_server_errors_rate_limits_and_system_errors_are_unavailable(
    fake: FakeWeChatPay, gateway: WeChatPayGateway, status: int, code: str | None
) -> None:
    request = paid(fake, gateway)
    for call in (
        lambda: gateway.create(a_request()),
        lambda: gateway.query(PaymentQuery(request.payment_id, None, request.amount)),
        lambda: gateway.refund(refund_of(request, 100)),
    ):
        fake.fail_next(status=status, code=code)
        with pytest.raises(GatewayUnavailable):
            call()
    fake.fail_next(status=status, code=code, after=1)
    with pytest.raises(GatewayUnavailable):
        gateway.refund(refund_of(request, 100))  # the refund itself, after its query


def test_a_wrong_merchant_key_is_unavailable_with_wechats_sign_error(fake: FakeWeChatPay) -> None:
    other = generated_key("other merchant")
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    gateway = WeChatPayGateway(fake.config(merchant_private_key=pem.decode()))
    with pytest.raises(GatewayUnavailable, match="HTTP 401 SIGN_ERROR"):
        gateway.create(a_request())
    assert fake.orders == {}


def test_a_timeout_is_unavailable(fake: FakeWeChatPay) -> None:
    gateway = WeChatPayGateway(fake.config(timeout_seconds=0.2))
    fake.stall_next(1.0)
    with pytest.raises(GatewayUnavailable, match="ReadTimeout"):
        gateway.query(PaymentQuery(new_id(), None, Money(100, CNY)))


def test_connection_refused_is_unavailable_for_every_call() -> None:
    gateway = vector_gateway()
    request = a_request()
    with pytest.raises(GatewayUnavailable, match="ConnectionError"):
        gateway.create(request)
    with pytest.raises(GatewayUnavailable):
        gateway.query(PaymentQuery(request.payment_id, None, request.amount))
    with pytest.raises(GatewayUnavailable):
        gateway.refund(refund_of(request, 100))


def test_an_answer_that_is_not_signed_json_is_unavailable(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    fake.garble_next()
    with pytest.raises(GatewayUnavailable, match="unsigned"):
        gateway.create(a_request())
    fake.answer_next(b"<html>ok</html>")  # signed, but not JSON
    with pytest.raises(GatewayUnavailable, match="not a JSON object"):
        gateway.create(a_request())


def test_unsigned_forged_stale_or_foreign_answers_are_unavailable(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    code = {"code_url": "weixin://wxpay/bizpayurl?pr=fake00000"}
    fake.answer_next(code, signed=False)
    with pytest.raises(GatewayUnavailable, match="unsigned"):
        gateway.create(a_request())
    fake.forge_next()
    with pytest.raises(GatewayUnavailable, match="does not match"):
        gateway.create(a_request())
    body = json.dumps(code).encode()
    stale = fake.sign_headers(body, timestamp=int(datetime.now(UTC).timestamp()) - 301)
    fake.answer_next(body, headers=stale)
    with pytest.raises(GatewayUnavailable, match="300 s"):
        gateway.create(a_request())
    foreign = fake.sign_headers(body, serial="PUB_KEY_ID_0119000000000000000000000000000009")
    fake.answer_next(body, headers=foreign)
    with pytest.raises(GatewayUnavailable, match="not ours"):
        gateway.create(a_request())


def test_an_unsigned_business_refusal_is_not_trusted(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    fake.answer_next({"code": "ORDER_CLOSED", "message": "订单已关闭"}, 400, signed=False)
    with pytest.raises(GatewayUnavailable, match="unsigned"):
        gateway.create(a_request())
    fake.answer_next({"message": "no code"}, 400)
    with pytest.raises(GatewayUnavailable):
        gateway.create(a_request())


def test_a_redirect_is_unavailable(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    fake.answer_next(b"", 302, headers={"Location": "https://evil.example/"})
    with pytest.raises(GatewayUnavailable, match="HTTP 302"):
        gateway.create(a_request())


# -- the fake holds to WeChat Pay's rules ----------------------------------------------------


def test_the_fake_refuses_unsigned_badly_signed_and_stale_requests(fake: FakeWeChatPay) -> None:
    url = f"{fake.url}/v3/pay/transactions/native"
    body = b'{"mchid":"1900000001"}'
    anonymous = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "SIGN_ERROR")
    key = load_private_key(fake.config().merchant_private_key, "key")
    now = int(datetime.now(UTC).timestamp())

    def signed(target: str, at: int, payload: bytes, serial: str = fake.merchant_serial_no) -> dict[str, str]:
        header = authorization(
            method="POST",
            url=target,
            body=payload,
            mchid=fake.mchid,
            serial_no=serial,
            key=key,
            timestamp=at,
            nonce="N1",
        )
        return {"Authorization": header, "Content-Type": "application/json"}

    path = "/v3/pay/transactions/native"
    tampered = requests.post(url, data=body + b" ", headers=signed(path, now, body), timeout=5)
    assert tampered.status_code == 401 and tampered.json()["detail"]["detail"]["issue"] == "sign not match"
    stale = requests.post(url, data=body, headers=signed(path, now - 301, body), timeout=5)
    assert stale.status_code == 401 and "5分钟" in stale.json()["message"]
    wrong_serial = requests.post(
        url, data=body, headers=signed(path, now, body, "ABCDEF0123456789"), timeout=5
    )
    assert wrong_serial.status_code == 401
    incomplete = requests.post(url, data=body, headers=signed(path, now, body), timeout=5)
    assert (incomplete.status_code, incomplete.json()["code"]) == (400, "PARAM_ERROR")  # signed right
    platform, _ = load_public_key(fake.config().platform_public_key, "key")
    for answer in (anonymous, tampered, incomplete):  # errors are signed too
        headers = {k.lower(): v for k, v in answer.headers.items()}
        check_signed(
            headers, answer.content, key=platform, key_id=fake.platform_public_key_id, now=now, tolerance=5
        )


def test_the_fake_replays_an_order_only_for_the_same_body(
    fake: FakeWeChatPay, gateway: WeChatPayGateway
) -> None:
    request = a_request()
    first = started(gateway, request)
    assert started(gateway, request).next_action == first.next_action
    assert len(fake.orders) == 1
    again = PaymentRequest(request.payment_id, request.checkout_id, request.amount, "another description")
    declined = gateway.create(again)
    assert isinstance(declined, PaymentDeclined) and declined.reason.startswith("INVALID_REQUEST")


def test_the_fake_closes_only_unpaid_orders(fake: FakeWeChatPay, gateway: WeChatPayGateway) -> None:
    request = paid(fake, gateway)
    with pytest.raises(WeChatApiError, match="订单已支付"):
        fake.close_order(request.payment_id)


# -- configuration ------------------------------------------------------------------------------


def options(**changes: str) -> dict[str, str]:
    return {
        "mchid": VECTORS["mchid"],
        "appid": VECTORS["appid"],
        "merchant_private_key": KEYS["wechat_merchant_private_pkcs8"],
        "merchant_serial_no": VECTORS["merchant_serial_no"].lower(),
        "apiv3_key": VECTORS["apiv3_key"],
        "platform_public_key": KEYS["wechat_platform_public"],
        "platform_public_key_id": VECTORS["public_key_id"],
        "notify_url": "https://shop.example/wxpay/notify",
    } | changes


def test_config_from_reads_the_keys_and_defaults_the_rest() -> None:
    config = config_from(options())
    assert config == WeChatPayConfig(
        mchid="1900000001",
        appid="wx0000000000000001",
        merchant_private_key=KEYS["wechat_merchant_private_pkcs8"],
        merchant_serial_no=VECTORS["merchant_serial_no"],
        apiv3_key=VECTORS["apiv3_key"],
        platform_public_key=KEYS["wechat_platform_public"],
        platform_public_key_id=VECTORS["public_key_id"],
        notify_url="https://shop.example/wxpay/notify",
        api_base="https://api.mch.weixin.qq.com",
        timestamp_tolerance_seconds=300,
        timeout_seconds=10.0,
    )
    tuned = config_from(
        options(api_base="http://127.0.0.1:9/", timestamp_tolerance_seconds="60", timeout_seconds="2.5")
    )
    assert (tuned.api_base, tuned.timestamp_tolerance_seconds, tuned.timeout_seconds) == (
        "http://127.0.0.1:9",
        60,
        2.5,
    )
    WeChatPayGateway(config)  # and the gateway takes it


def test_config_from_takes_pems_with_escaped_newlines_and_pkcs1_keys() -> None:
    flat = KEYS["wechat_merchant_private_pkcs1"].replace("\n", "\\n")
    config = config_from(
        options(
            merchant_private_key=flat, platform_public_key=KEYS["wechat_platform_public"].replace("\n", "\\n")
        )
    )
    assert config.merchant_private_key == KEYS["wechat_merchant_private_pkcs1"]
    assert config.platform_public_key == KEYS["wechat_platform_public"]


def test_config_from_takes_a_platform_certificate_and_its_serial() -> None:
    cert = VECTORS["cert_mode"]
    config = config_from(options(platform_public_key=cert["certificate_pem"], platform_public_key_id=""))
    assert config.platform_public_key_id == cert["serial_no"]
    assert config_from(
        options(platform_public_key=cert["certificate_pem"], platform_public_key_id=cert["serial_no"].lower())
    )
    with pytest.raises(InvalidInput) as caught:
        config_from(
            options(platform_public_key=cert["certificate_pem"], platform_public_key_id="PUB_KEY_ID_1")
        )
    assert caught.value.field == "wechatpay_platform_public_key_id"


WEAK_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("mchid", ""),
        ("mchid", "19000000a1"),
        ("appid", ""),
        ("appid", "wx 1"),
        ("merchant_private_key", ""),
        ("merchant_private_key", "not a pem"),
        ("merchant_private_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        ("merchant_private_key", KEYS["wechat_merchant_public"]),
        (
            "merchant_private_key",
            WEAK_KEY.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
        ),
        ("merchant_serial_no", ""),
        ("merchant_serial_no", "not-hex"),
        ("apiv3_key", ""),
        ("apiv3_key", "short-secret-key"),
        ("apiv3_key", "MarketcoreApiV3KeyExample012345 "),
        ("apiv3_key", "MarketcoreApiV3KeyExample01234５"),
        ("platform_public_key", ""),
        ("platform_public_key", KEYS["wechat_platform_private_pkcs8"]),
        (
            "platform_public_key",
            WEAK_KEY.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        ),
        ("platform_public_key_id", ""),
        ("platform_public_key_id", "PUB_KEY-1"),
        ("notify_url", ""),
        ("notify_url", "http://shop.example/notify"),
        ("notify_url", "https://shop.example/notify?order=1"),
        ("api_base", "ftp://api.mch.weixin.qq.com"),
        ("api_base", "https://api.mch.weixin.qq.com/v3"),
        ("timestamp_tolerance_seconds", "0"),
        ("timestamp_tolerance_seconds", "five"),
        ("timeout_seconds", "0"),
        ("timeout_seconds", "nan"),
    ],
)
def test_config_from_names_the_bad_setting(key: str, value: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        config_from(options(**{key: value}))
    assert caught.value.field == f"wechatpay_{key}"
    if key in ("merchant_private_key", "apiv3_key") and value:
        assert value.strip() not in str(caught.value)  # secrets are never echoed


def test_secrets_stay_out_of_reprs() -> None:
    config = config_from(options(apiv3_key="SECRETSECRETSECRETSECRETSECRET12"))
    private_body = KEYS["wechat_merchant_private_pkcs8"].splitlines()[1]
    for text in (repr(config), repr(WeChatPayGateway(config))):
        assert "SECRETSECRET" not in text and private_body not in text and "PRIVATE" not in text
        assert VECTORS["mchid"] in text  # the ids are kept: they say which account is meant


def test_the_gateway_refuses_a_config_built_by_hand_with_a_bad_key() -> None:
    config = config_from(options())
    with pytest.raises(InvalidInput) as caught:
        WeChatPayGateway(attrs.evolve(config, apiv3_key="short"))
    assert caught.value.field == "wechatpay_apiv3_key"
