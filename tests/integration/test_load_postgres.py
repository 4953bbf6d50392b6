"""Correctness under load on PostgreSQL with real threads: a storm of mixed order traffic, and a
hot SKU. Whatever the interleaving, the stock ledger must reconcile and nothing is oversold."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.inventory.stock import InsufficientStock, MovementKind
from marketcore.domain.ordering.orders import OrderNotCancellable, OrderStatus
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import Conflict
from marketcore.testing.scenarios import Scenario, a_marketplace_with

pytestmark = pytest.mark.postgres

CLIENTS = 32
ROUNDS = 6


@pytest.fixture
def market(fresh_postgres_url: str) -> Iterator[tuple[Marketplace, FrozenClock]]:
    clock = FrozenClock(datetime(2026, 11, 11, tzinfo=UTC))
    m = create_marketplace(
        fresh_postgres_url, clock=clock, velocity_checkouts_per_hour=100_000, database_pool_size=40
    )
    yield m, clock
    m.close()


def buyers(s: Scenario, count: int) -> list[tuple[Actor, str]]:
    with ThreadPoolExecutor(8) as pool:  # argon2 hashing dominates set-up; it releases the GIL
        return list(pool.map(lambda n: s.new_buyer(f"load{n}"), range(count)))


def run_all(jobs: list[Callable[[], None]]) -> None:
    barrier = threading.Barrier(len(jobs))
    failures: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:  # surfaced below, with the thread's own traceback
            failures.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    if failures:
        raise failures[0]


def test_storm_of_checkouts_cancels_payments_and_expiries_keeps_the_ledger_exact(
    market: tuple[Marketplace, FrozenClock],
) -> None:
    m, clock = market
    s = a_marketplace_with(m, shops=2, listed_skus=10, stock=6)
    skus = [sku for shop in s.shops for sku in shop.sku_ids]
    clients = buyers(s, CLIENTS)
    stop = threading.Event()

    def client(seed: int, actor: Actor, address_id: str) -> None:
        rng = random.Random(seed)
        for _ in range(ROUNDS):
            items = [ItemRequest(sku, rng.randint(1, 2)) for sku in rng.sample(skus, rng.randint(1, 3))]
            try:
                result = m.checkout.checkout(
                    actor, address_id, rng.choice(["sandbox", "sandbox", "cod"]), items
                )
            except InsufficientStock:
                continue
            choice = rng.random()
            try:
                if result.checkout.payment_method == "cod" or choice < 0.3:
                    for order in result.orders:
                        m.orders.cancel(actor, order.id)
                elif choice < 0.8:
                    payment = m.payments.start(actor, result.checkout.id, "sandbox")
                    m.payments.complete_sandbox(actor, payment.id, succeeded=True)
                # else: left unpaid, to expire
            except (OrderNotCancellable, Conflict):
                pass  # the timer closed it first: a legitimate race, the ledger must still hold

    def timer() -> None:
        while not stop.is_set():
            clock.advance(timedelta(minutes=7))
            m.due_work.run_due_work()
            stop.wait(0.05)

    ticker = threading.Thread(target=timer)
    ticker.start()
    try:
        run_all([lambda n=n, b=b: client(n, *b) for n, b in enumerate(clients)])
    finally:
        stop.set()
        ticker.join()
    clock.advance(timedelta(hours=1))
    m.due_work.run_due_work()

    report = m.ledger.check()
    assert report.ok, report.mismatches
    with m.container.uow()() as uow:
        levels = uow.stock.get_many(skus)
        movements = {sku: uow.stock.movements(sku) for sku in skus}
    assert all(level.on_hand >= 0 and level.reserved == 0 for level in levels.values()), levels
    taken_per_order: dict[tuple[str, str], int] = {}
    for sku, moves in movements.items():
        for move in moves:
            if move.kind in (MovementKind.COMMIT, MovementKind.DEDUCT):
                key = (move.reference, sku)
                taken_per_order[key] = taken_per_order.get(key, 0) - move.on_hand_delta
    paid = 0
    for actor, _ in clients:
        for order in m.orders.buyer_orders(actor, None, PageRequest(limit=100)).items:
            taken = {sku: taken_per_order.get((f"order:{order.id}", sku), 0) for sku in skus}
            if order.is_paid:
                paid += 1
                wanted: dict[str, int] = {}
                for line in order.lines:
                    wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
                assert {k: v for k, v in taken.items() if v} == wanted, order.id
            else:
                assert order.status is OrderStatus.CLOSED
                assert not any(taken.values()), order.id
    assert paid > 0


def test_two_hundred_buyers_for_fifty_units_make_exactly_fifty_orders(
    market: tuple[Marketplace, FrozenClock],
) -> None:
    m, _ = market
    s = a_marketplace_with(m, shops=1, listed_skus=1, stock=50)
    sku = s.shops[0].sku_ids[0]
    outcomes: list[str] = []

    def buy(actor: Actor, address_id: str) -> None:
        try:
            m.checkout.checkout(actor, address_id, "sandbox", [ItemRequest(sku, 1)])
            outcomes.append("ok")
        except InsufficientStock:
            outcomes.append("insufficient_stock")

    run_all([lambda b=b: buy(*b) for b in buyers(s, 200)])
    assert outcomes.count("ok") == 50
    assert outcomes.count("insufficient_stock") == 150
    with m.container.uow()() as uow:
        level = uow.stock.get_many([sku])[sku]
    assert (level.on_hand, level.reserved) == (50, 50)
    assert m.ledger.check().ok
