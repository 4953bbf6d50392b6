"""Several workers side by side never process the same due order twice."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.testing.scenarios import a_marketplace_with

ORDERS = 60
WORKERS = 4


@pytest.fixture(params=["postgresql", "sqlite"])
def market(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Marketplace, FrozenClock]]:
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'due.db'}"
    clock = FrozenClock(datetime(2026, 11, 11, tzinfo=UTC))
    m = create_marketplace(url, clock=clock, velocity_checkouts_per_hour=10_000)
    yield m, clock
    m.close()


def test_parallel_workers_close_each_expired_order_exactly_once(
    market: tuple[Marketplace, FrozenClock],
) -> None:
    m, clock = market
    s = a_marketplace_with(m, shops=2, listed_skus=3, stock=ORDERS)
    order_ids = []
    for n in range(ORDERS):
        skus = [s.shops[n % 2].sku_ids[n % 3], s.shops[(n + 1) % 2].sku_ids[(n + 1) % 3]]
        result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(sku, 1) for sku in skus])
        order_ids += [o.id for o in result.orders]
    clock.advance(timedelta(minutes=31))
    barrier = threading.Barrier(WORKERS)
    closed: list[int] = []

    def work() -> None:
        barrier.wait()
        closed.append(m.due_work.run_due_work().closed_unpaid)

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert sum(closed) == len(order_ids), closed
    for order_id in order_ids:
        order = m.orders.order(s.buyer, order_id)
        assert order.status is OrderStatus.CLOSED
        assert [t.to_status for t in order.history].count(OrderStatus.CLOSED) == 1
    report = m.ledger.check()
    assert report.ok, report.mismatches
