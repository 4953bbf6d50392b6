from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 11, 10, 0, tzinfo=UTC))


@pytest.fixture
def marketplace(clock: FrozenClock) -> Iterator[Marketplace]:
    m = create_marketplace("memory://", clock=clock)
    yield m
    m.close()
