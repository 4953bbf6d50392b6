"""Whatever reaches a webhook, a gateway either verifies it or refuses it with
``InvalidNotification`` (HTTP 400): no other error, so no 500, from any body or headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketcore.adapters.gateways.cod import CashOnDeliveryGateway
from marketcore.adapters.gateways.sandbox import SandboxGateway
from marketcore.application.payments.ports import InvalidNotification, PaymentGateway
from marketcore.domain.payments.provider import RawNotification
from marketcore.testing.fakes.alipay import AlipayHarness, FakeAlipay
from marketcore.testing.fakes.stripe import FakeStripe, StripeHarness
from marketcore.testing.fakes.wechatpay import FakeWeChatPay, WeChatPayHarness

HEADER_NAMES = st.sampled_from(
    [
        "stripe-signature",
        "sandbox-signature",
        "wechatpay-signature",
        "wechatpay-timestamp",
        "wechatpay-nonce",
        "wechatpay-serial",
        "content-type",
    ]
)
HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.just("t=1700000000,v1=" + "0" * 64),
    st.integers(0, 2**40).map(str),
    st.just("WECHATPAY2-SHA256-RSA2048"),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    st.binary(max_size=300),
    JSONISH.map(lambda v: repr(v).encode()),
    st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=6).map(
        lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()
    ),
)


@pytest.fixture(scope="module")
def gateways() -> Iterator[list[PaymentGateway]]:
    with FakeStripe() as stripe, FakeAlipay() as alipay, FakeWeChatPay() as wechat:
        yield [
            StripeHarness(stripe).gateway,
            AlipayHarness(alipay).gateway,
            WeChatPayHarness(wechat).gateway,
            SandboxGateway(b"fuzz"),
            CashOnDeliveryGateway(),
        ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=5), body=BODIES)
def test_any_notification_is_verified_or_refused(
    gateways: list[PaymentGateway], headers: dict[str, str], body: bytes
) -> None:
    raw = RawNotification(headers, body, datetime.now(UTC))
    for gateway in gateways:
        with pytest.raises(InvalidNotification):
            gateway.parse_notification(raw)
