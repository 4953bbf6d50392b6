"""Several workers side by side on PostgreSQL settle payments whose webhooks were lost and
process notifications left due, each item once: no payment is asked about twice, no order is
paid twice, no stock is committed twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.adapters.gateways.sandbox import SandboxGateway
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.application.ordering.due_work import DueWorkReport
from marketcore.application.payments.ports import PaymentGateway
from marketcore.bootstrap.gateways import register_gateway
from marketcore.domain.inventory.stock import MovementKind
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.payments.inbox import InboxMessage
from marketcore.domain.payments.payments import Payment, PaymentStatus
from marketcore.domain.payments.provider import PaymentQuery, ProviderPayment
from marketcore.testing.scenarios import a_marketplace_with

pytestmark = pytest.mark.postgres

WORKERS = 4
LOST_WEBHOOKS = 40
STORED_UNPROCESSED = 20


class CountedSandbox(SandboxGateway):
    """The sandbox, counting how often each payment is asked about."""

    code: ClassVar[str] = "counted"
    queries: ClassVar[Counter[str]] = Counter()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def query(self, query: PaymentQuery) -> ProviderPayment:
        with CountedSandbox.lock:
            CountedSandbox.queries[query.payment_id] += 1
        return super().query(query)


def _counted(options: object, secret_key: str) -> PaymentGateway:
    return CountedSandbox(b"counted")


register_gateway("counted", _counted)


@pytest.fixture
def market(fresh_postgres_url: str) -> Iterator[tuple[Marketplace, FrozenClock]]:
    CountedSandbox.queries.clear()
    clock = FrozenClock(datetime(2026, 11, 11, tzinfo=UTC))
    m = create_marketplace(
        fresh_postgres_url,
        clock=clock,
        payment_gateways="counted",
        velocity_checkouts_per_hour=100_000,
        database_pool_size=WORKERS + 2,
    )
    yield m, clock
    m.close()


def test_workers_side_by_side_settle_each_payment_once(market: tuple[Marketplace, FrozenClock]) -> None:
    m, clock = market
    s = a_marketplace_with(m, shops=2, stock=1_000)
    sandbox = m.container.gateways()["counted"]
    assert isinstance(sandbox, CountedSandbox)
    items = [ItemRequest(s.shops[0].sku_ids[0], 2), ItemRequest(s.shops[1].sku_ids[0], 1)]
    lost: list[Payment] = []
    stored: list[Payment] = []
    for n in range(LOST_WEBHOOKS + STORED_UNPROCESSED):
        result = m.checkout.checkout(s.buyer, s.address_id, "counted", items)
        payment = m.payments.start(s.buyer, result.checkout.id, "counted")
        raw = sandbox.settle(payment.id, payment.amount, succeeded=True)  # paid; the webhook never arrives
        if n < LOST_WEBHOOKS:
            lost.append(payment)
            continue
        # Stored by the inbox, but its processing died: due for the workers.
        message = InboxMessage.receive(
            "counted", f"sbx_evt_{payment.id}_succeeded", raw.headers, raw.body, clock.now()
        )
        with m.container.uow()() as uow:
            uow.inbox.add(message)
            uow.commit()
        stored.append(payment)

    clock.advance(timedelta(minutes=6))
    barrier = threading.Barrier(WORKERS)
    reports: list[DueWorkReport] = []

    def work() -> None:
        barrier.wait()
        reports.append(m.due_work.run_due_work())

    threads = [threading.Thread(target=work) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert len(reports) == WORKERS
    assert sum(r.notifications for r in reports) == STORED_UNPROCESSED
    assert max(CountedSandbox.queries.values()) == 1
    assert all(CountedSandbox.queries[p.id] == 1 for p in lost)
    for payment in lost + stored:
        saved = m.payments.payment(s.buyer, payment.id)
        assert saved.status is PaymentStatus.SUCCEEDED and saved.refunds == [], saved
        for order_id in saved.order_amounts:
            assert m.orders.order(s.buyer, order_id).status is OrderStatus.AWAITING_SHIPMENT
    commits: Counter[str] = Counter()
    with m.container.uow()() as uow:
        for sku_id in (s.shops[0].sku_ids[0], s.shops[1].sku_ids[0]):
            for move in uow.stock.movements(sku_id):
                if move.kind is MovementKind.COMMIT:
                    commits[move.reference] += 1
    assert len(commits) == 2 * (LOST_WEBHOOKS + STORED_UNPROCESSED) and set(commits.values()) == {1}
    assert m.ledger.check().ok
    assert sum(r.total for r in (m.due_work.run_due_work(),)) == 0
