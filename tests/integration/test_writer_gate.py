"""A process runs at most ``database_writers`` writing units of work at once on PostgreSQL; the
rest wait their turn, a writer may nest another inside its own, and checkouts beyond the gate
still all succeed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.sqlalchemy.engine import WriterGate, writer_gate
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.shared.actors import Actor
from marketcore.testing.scenarios import a_marketplace_with


def test_a_gate_lets_in_its_size_at_once_and_nests_within_a_thread() -> None:
    gate = WriterGate(2)
    inside, most = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal inside, most
        gate.acquire()
        gate.acquire()  # nested in the same thread: no second slot, no wait
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.02)
        with lock:
            inside -= 1
        gate.release()
        gate.release()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert most == 2


def test_a_leaving_writer_hands_its_slot_to_the_longest_waiter_not_to_a_newcomer() -> None:
    # With threading.Semaphore the writer that just left could take the slot straight back,
    # past the waiters: a waiter then starves, which is what sent HTTP p99 latency up.
    gate = WriterGate(1)
    order: list[str] = []
    gate.acquire()

    def waiter() -> None:
        gate.acquire()
        order.append("waiter")
        gate.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    deadline = time.monotonic() + 5
    while not gate._waiters and time.monotonic() < deadline:
        time.sleep(0.001)
    gate.release()
    gate.acquire()  # a newcomer, at once: it queues behind the waiter
    order.append("newcomer")
    gate.release()
    thread.join(timeout=10)
    assert order == ["waiter", "newcomer"]


@pytest.fixture
def market(fresh_postgres_url: str) -> Iterator[Marketplace]:
    m = create_marketplace(fresh_postgres_url, database_writers=1, velocity_checkouts_per_hour=1000)
    yield m
    m.close()


@pytest.mark.postgres
def test_writers_beyond_the_gate_wait_and_all_complete(market: Marketplace) -> None:
    assert writer_gate(market.container.engine()).size == 1
    scenario = a_marketplace_with(market, shops=1, listed_skus=1, stock=100)
    buyers = [scenario.new_buyer(f"gated{n}") for n in range(6)]
    sku_id = scenario.shops[0].sku_ids[0]
    placed: list[str] = []

    def buy(actor: Actor, address_id: str) -> None:
        for _ in range(3):
            result = market.checkout.checkout(actor, address_id, "sandbox", [ItemRequest(sku_id, 1)])
            placed.append(result.checkout.id)

    threads = [threading.Thread(target=buy, args=buyer) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(placed) == 18 and len(set(placed)) == 18
    with market.container.uow()() as outer:  # a writer nesting another writer: no self-deadlock
        with market.container.uow()() as inner:
            assert inner.users.get("nobody") is None
        assert outer.users.get("nobody") is None
