"""A flash sale of 30 units under 300 concurrent buyers on PostgreSQL, with real threads: exactly
30 orders, nobody over the per-buyer limit (some try twice at once, some ask for 2 with a limit of
1), the ledger balances, and the SKU's ordinary stock is untouched. Then unpaid orders time out
and the end of the window returns what is unsold, the ledger balancing at every step."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.adapters.passwords.argon2 import Argon2PasswordHasher
from marketcore.application.identity.services import IdentityService
from marketcore.application.ordering.checkout import CheckoutResult, ItemRequest
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.inventory.stock import StockLevel
from marketcore.domain.ordering.orders import OrderNotCancellable, OrderStatus
from marketcore.domain.promotions.flash_sales import (
    FlashSaleLimitReached,
    FlashSaleNotRunning,
    FlashSaleSoldOut,
)
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import ConcurrencyConflict
from marketcore.testing.scenarios import a_marketplace_with

pytestmark = pytest.mark.postgres

QUOTA = 30
BUYERS = 300
STOCK = 100


@pytest.fixture
def market(fresh_postgres_url: str) -> Iterator[tuple[Marketplace, FrozenClock]]:
    clock = FrozenClock(datetime(2026, 11, 11, tzinfo=UTC))
    # 300 threads share 12 connections, as requests share a server's pool; the rest wait for one.
    m = create_marketplace(
        fresh_postgres_url,
        clock=clock,
        velocity_checkouts_per_hour=100_000,
        database_pool_size=12,
        database_max_overflow=0,
    )
    yield m, clock
    m.close()


def level(m: Marketplace, sku_id: str) -> StockLevel:
    with m.container.uow()(read_only=True) as uow:
        return uow.stock.get_many([sku_id])[sku_id]


def register_buyers(m: Marketplace, clock: FrozenClock, prefix: str, count: int) -> list[tuple[Actor, str]]:
    """``count`` buyers with an address each, registered from 8 threads. Their passwords are
    hashed with argon2 at its lowest cost: set-up, not what is under test."""
    identity = IdentityService(
        m.container.uow(),
        clock,
        Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)),
    )

    def new_buyer(n: int) -> tuple[Actor, str]:
        email = f"{prefix}{n}@buyers.test"
        actor = m.actor_for(identity.register(email, "correct-horse-battery", f"{prefix}{n}").id)
        address = m.identity.add_address(
            actor, f"{prefix}{n}", "13900000000", "Zhejiang", "Hangzhou", "Xihu", "1 Rd"
        )
        return actor, address.id

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(new_buyer, range(count)))


def run_all(jobs: list[Callable[[], str]]) -> list[str]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(job: Callable[[], str]) -> None:
        barrier.wait()
        try:
            outcome = job()
        except (FlashSaleSoldOut, FlashSaleLimitReached) as error:
            outcome = error.code
        except BaseException as error:
            outcome = f"unexpected {type(error).__name__}: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return outcomes


def test_three_hundred_buyers_for_thirty_units_make_exactly_thirty_orders(
    market: tuple[Marketplace, FrozenClock],
) -> None:
    m, clock = market
    s = a_marketplace_with(m, shops=1, listed_skus=2, stock=STOCK, price=10_000)
    shop = s.shops[0]
    sku, other_sku = shop.sku_ids
    now = clock.now()
    sale = m.flash_sales.schedule(
        shop.staff,
        shop.id,
        sku,
        "双十一秒杀",
        price=1_000,
        quota=QUOTA,
        per_buyer_limit=1,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    buyers = register_buyers(m, clock, "flash", BUYERS)
    placed: list[CheckoutResult] = []
    placed_lock = threading.Lock()

    def attempt(actor: Actor, address_id: str, quantity: int) -> Callable[[], str]:
        def job() -> str:
            items = [ItemRequest(sku, quantity)]
            if quantity == 1 and len(placed) % 7 == 0:
                items.append(ItemRequest(other_sku, 1))  # some carts mix in an ordinary line
            result = m.checkout.checkout(actor, address_id, "sandbox", items)
            with placed_lock:
                placed.append(result)
            return "ok"

        return job

    jobs: list[Callable[[], str]] = []
    for n, (actor, address_id) in enumerate(buyers):
        if n % 10 == 0:
            jobs.append(attempt(actor, address_id, 2))  # over the limit of 1: always refused
        elif n % 10 == 1:
            jobs += [attempt(actor, address_id, 1), attempt(actor, address_id, 1)]  # twice at once
        else:
            jobs.append(attempt(actor, address_id, 1))
    outcomes = run_all(jobs)

    counted = Counter(outcomes)
    assert set(counted) <= {"ok", "flash_sale_sold_out", "flash_sale_limit_reached"}, counted
    assert counted["ok"] == QUOTA, counted
    flash_lines = [
        (result.checkout.buyer_id, line)
        for result in placed
        for order in result.orders
        for line in order.lines
        if line.sku_id == sku
    ]
    assert len(flash_lines) == QUOTA
    assert all(line.flash_sale_id == sale.id and line.quantity == 1 for _, line in flash_lines)
    per_buyer = Counter(buyer_id for buyer_id, _ in flash_lines)
    assert max(per_buyer.values()) == 1  # the limit held, even for buyers trying twice at once
    deadlines = {o.payment_deadline for r in placed for o in r.orders}
    assert deadlines == {now + timedelta(minutes=5)}

    after = level(m, sku)
    assert (after.on_hand, after.available) == (STOCK, STOCK - QUOTA)  # ordinary stock untouched
    report = m.ledger.check()
    assert report.ok, report.mismatches
    (view,) = m.flash_sales.current(PageRequest()).items
    assert (view.sold, view.remaining) == (QUOTA, 0)

    # Half the buyers pay; the others' orders close at the 5-minute deadline and give back.
    paid = placed[: QUOTA // 2]
    for result in paid:
        buyer = m.actor_for(result.checkout.buyer_id)
        payment = m.payments.start(buyer, result.checkout.id, "sandbox")
        m.payments.complete_sandbox(buyer, payment.id, succeeded=True)
    clock.advance(timedelta(minutes=6))
    assert m.due_work.run_due_work().closed_unpaid == len(placed) - len(paid)
    (view,) = m.flash_sales.current(PageRequest()).items
    assert (view.sold, view.remaining) == (QUOTA // 2, QUOTA - QUOTA // 2)
    after = level(m, sku)
    assert (after.on_hand, after.available) == (STOCK - QUOTA // 2, STOCK - QUOTA)
    report = m.ledger.check()
    assert report.ok, report.mismatches

    # The window ends: the unsold units go back to ordinary stock, once.
    clock.advance(timedelta(hours=1))
    assert m.due_work.run_due_work().flash_sales_ended == 1
    assert m.due_work.run_due_work().flash_sales_ended == 0
    after = level(m, sku)
    assert (after.on_hand, after.reserved) == (STOCK - QUOTA // 2, 0)
    report = m.ledger.check()
    assert report.ok, report.mismatches


@pytest.mark.parametrize("merchant_cancels", [False, True], ids=["sale-runs", "merchant-cancels"])
def test_returns_workers_cancels_and_new_buyers_racing_keep_quota_and_ledger_exact(
    market: tuple[Marketplace, FrozenClock], merchant_cancels: bool
) -> None:
    """Unpaid orders past their deadline are closed by three workers while their buyers cancel
    them, new buyers take the returned quota and (maybe) the merchant cancels the sale: whatever
    the interleaving, the sale's count equals the flash units in orders still open or paid, it
    never passes the quota, and the ledger balances."""
    m, clock = market
    s = a_marketplace_with(m, shops=1, listed_skus=1, stock=STOCK, price=10_000)
    shop = s.shops[0]
    sku = shop.sku_ids[0]
    quota = 20
    now = clock.now()
    sale = m.flash_sales.schedule(
        shop.staff,
        shop.id,
        sku,
        "秒杀",
        price=1_000,
        quota=quota,
        per_buyer_limit=1,
        starts_at=now,
        ends_at=now + timedelta(hours=1),
    )
    everyone = register_buyers(m, clock, "racer", 2 * quota)
    first, second = everyone[:quota], everyone[quota:]
    placed = [m.checkout.checkout(a, addr, "sandbox", [ItemRequest(sku, 1)]) for a, addr in first]
    for result in placed[:5]:
        buyer = m.actor_for(result.checkout.buyer_id)
        payment = m.payments.start(buyer, result.checkout.id, "sandbox")
        m.payments.complete_sandbox(buyer, payment.id, succeeded=True)
    clock.advance(timedelta(minutes=6))  # 15 unpaid orders are past their 5-minute deadline

    def worker() -> str:
        m.due_work.run_due_work()
        return "ok"

    def cancel(result: CheckoutResult) -> Callable[[], str]:
        def job() -> str:
            try:
                m.orders.cancel(m.actor_for(result.checkout.buyer_id), result.orders[0].id)
            except (OrderNotCancellable, ConcurrencyConflict):  # a worker closed it first
                return "already closed"
            return "ok"

        return job

    def newcomer(actor: Actor, address_id: str) -> Callable[[], str]:
        def job() -> str:
            try:
                m.checkout.checkout(actor, address_id, "sandbox", [ItemRequest(sku, 1)])
            except FlashSaleNotRunning:
                return "not running"
            return "ok"

        return job

    def stop_sale() -> str:
        m.flash_sales.cancel(shop.staff, shop.id, sale.id)
        return "ok"

    jobs: list[Callable[[], str]] = [worker, worker, worker]
    jobs += [cancel(r) for r in placed[5:15]]
    jobs += [newcomer(a, addr) for a, addr in second]
    if merchant_cancels:
        jobs.append(stop_sale)
    outcomes = Counter(run_all(jobs))
    assert set(outcomes) <= {"ok", "already closed", "not running", "flash_sale_sold_out"}, outcomes

    def flash_units_open_or_paid() -> int:
        with m.container.uow()(read_only=True) as uow:
            orders = uow.orders.for_shop(shop.id, None, PageRequest(limit=100)).items
            sold = uow.promotion_counters.quota_counts([sale.id])[sale.id].sold
        units = sum(
            line.quantity
            for o in orders
            if o.status is not OrderStatus.CLOSED
            for line in o.lines
            if line.flash_sale_id == sale.id
        )
        assert units == sold <= quota
        return units

    flash_units_open_or_paid()
    report = m.ledger.check()
    assert report.ok, report.mismatches
    clock.advance(timedelta(hours=1))
    m.due_work.run_due_work()
    paid = flash_units_open_or_paid()
    assert paid >= 5
    after = level(m, sku)  # every unpaid order has closed by now: only paid units left the shelf
    assert (after.on_hand, after.reserved) == (STOCK - paid, 0)
    report = m.ledger.check()
    assert report.ok, report.mismatches
