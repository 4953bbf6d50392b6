"""The Stripe gateway against a local Stripe that speaks its wire format (``FakeStripe``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from marketcore.testing.fakes.stripe import FakeStripe, StripeHarness
from marketcore.testing.payments import GatewayHarness, PaymentGatewayContract


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    with FakeStripe() as server:
        yield server


class TestStripeContract(PaymentGatewayContract):
    @pytest.fixture
    def harness(self, fake: FakeStripe) -> GatewayHarness:
        return StripeHarness(fake)
