"""Several relays side by side on PostgreSQL: ``FOR UPDATE SKIP LOCKED`` gives each its own rows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.messaging.memory import InMemoryEventPublisher
from marketcore.application.shared.ports import OutboxMessage
from marketcore.application.shared.relay import OutboxRelay

pytestmark = pytest.mark.postgres

FillOutbox = Callable[[Marketplace, int], list[str]]  # the ``fill_outbox`` fixture (tests/conftest.py)


@pytest.fixture
def market(fresh_postgres_url: str) -> Iterator[Marketplace]:
    m = create_marketplace(fresh_postgres_url)
    yield m
    m.close()


class HoldsTheClaim:
    """Publishes, then waits at a barrier: both relays are inside ``publish`` at the same time,
    each holding its claimed rows locked. Without SKIP LOCKED the second would block on the first
    one's rows and the barrier would time out."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier
        self.messages: list[OutboxMessage] = []

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        self.messages.extend(messages)
        self.barrier.wait(timeout=10)

    def close(self) -> None:
        pass


def test_two_relays_claim_disjoint_batches_at_the_same_time(
    market: Marketplace, fill_outbox: FillOutbox
) -> None:
    fill_outbox(market, 30)
    barrier = threading.Barrier(2)
    publishers = [HoldsTheClaim(barrier), HoldsTheClaim(barrier)]
    relays = [
        OutboxRelay(market.container.uow(), p, market.container.clock(), batch_size=10) for p in publishers
    ]
    errors: list[BaseException] = []

    def run(relay: OutboxRelay) -> None:
        try:
            relay.relay_once()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    first, second = ({m.position for m in p.messages} for p in publishers)
    assert len(first) == len(second) == 10
    assert first.isdisjoint(second)
    with market.container.uow()() as uow:
        rows = uow.outbox.messages(limit=1000)
        assert uow.outbox.count_unpublished() == 10
    assert first | second == {r.position for r in rows[:20]}  # the oldest twenty, in two batches


def test_many_relays_draining_together_publish_every_row_exactly_once(
    market: Marketplace, fill_outbox: FillOutbox
) -> None:
    fill_outbox(market, 400)
    publishers = [InMemoryEventPublisher() for _ in range(4)]
    relays = [
        OutboxRelay(market.container.uow(), p, market.container.clock(), batch_size=7) for p in publishers
    ]
    threads = [threading.Thread(target=relay.relay_all) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    published = [m.event_id for p in publishers for m in p.messages]
    assert len(published) == len(set(published)) == 400
    assert all(len(p.messages) > 0 for p in publishers)  # they really did share the work
    for publisher in publishers:  # each relay's own stream is in position order
        positions = [m.position for m in publisher.messages]
        assert positions == sorted(positions)
    with market.container.uow()() as uow:
        assert uow.outbox.count_unpublished() == 0
