"""Payment chaos on PostgreSQL, per real gateway, against its local fake provider.

200 checkouts: most paid, some captured at another amount, some left unpaid. Every notification
the provider sent is delivered 1 to 5 times, shuffled, from parallel threads, mixed with forgeries;
then operators race refunds and the refund notifications are delivered the same way. At the end
every checkout is paid exactly once or not at all, forgeries are refused, mismatches are flagged,
and our payments and refunds reconcile with the provider's books and the stock ledger.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from payment_drivers import DRIVERS, ProviderDriver

from marketcore import Marketplace, create_marketplace
from marketcore.application.ordering.checkout import CheckoutResult, ItemRequest
from marketcore.application.payments.ports import InvalidNotification
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.payments.payments import Payment, PaymentStatus, RefundExceedsCapture, RefundStatus
from marketcore.domain.payments.provider import RawNotification
from marketcore.domain.shared.actors import Actor
from marketcore.testing.scenarios import Scenario, a_marketplace_with

pytestmark = pytest.mark.postgres

CHECKOUTS = 200
BUYERS = 20
THREADS = 8


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest) -> Iterator[ProviderDriver]:
    with DRIVERS[request.param]() as provider:
        yield provider


@pytest.fixture
def market(fresh_postgres_url: str, driver: ProviderDriver) -> Iterator[Marketplace]:
    m = create_marketplace(
        fresh_postgres_url,
        payment_gateways=driver.code,
        gateway_options={driver.code: driver.options()},
        velocity_checkouts_per_hour=100_000,
        database_pool_size=THREADS + 4,
    )
    yield m
    m.close()


def parallel(jobs: list[Callable[[], object]]) -> list[object]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(lambda job: job(), jobs))


def test_notification_chaos_pays_each_checkout_exactly_once(
    market: Marketplace, driver: ProviderDriver
) -> None:
    m, rng = market, random.Random(20261201)
    s: Scenario = a_marketplace_with(m, shops=2, stock=100_000)
    buyers: list[tuple[Actor, str]] = parallel(  # type: ignore[assignment]
        [lambda n=n: s.new_buyer(f"chaos{n}") for n in range(BUYERS)]
    )
    fates = rng.choices(["paid", "overcharged", "unpaid"], weights=[75, 10, 15], k=CHECKOUTS)

    def place(n: int) -> tuple[CheckoutResult, Payment]:
        actor, address_id = buyers[n % BUYERS]
        items = [ItemRequest(s.shops[0].sku_ids[0], 1 + n % 3), ItemRequest(s.shops[1].sku_ids[1], 1)]
        result = m.checkout.checkout(actor, address_id, driver.code, items, idempotency_key=f"chaos-{n}")
        payment = m.payments.start(actor, result.checkout.id, driver.code, idempotency_key=f"pay-{n}")
        if fates[n] == "overcharged":
            driver.overcharge(payment.id, payment.amount.amount + 100)
        if fates[n] != "unpaid":
            driver.pay(payment)
        return result, payment

    placed: list[tuple[CheckoutResult, Payment]] = parallel([lambda n=n: place(n) for n in range(CHECKOUTS)])  # type: ignore[assignment]

    # Every notification 1-5 times, shuffled, with a forgery for every tenth payment.
    deliveries: list[tuple[RawNotification, bool]] = []
    for n, (_, payment) in enumerate(placed):
        for raw in driver.notifications(payment.id):
            deliveries += [(raw, True)] * rng.randint(1, 5)
        if n % 10 == 0 and fates[n] != "unpaid":
            deliveries.append((driver.forged(payment.id), False))
    rng.shuffle(deliveries)
    assert deliver_all(m, driver.code, deliveries) == sum(1 for _, genuine in deliveries if not genuine)

    for n, (result, payment) in enumerate(placed):
        payments = m.payments.checkout_payments(s.operator, result.checkout.id)
        assert [p.id for p in payments] == [payment.id], n
        (saved,) = payments
        statuses = {o.id: m.orders.order(s.operator, o.id).status for o in result.orders}
        if fates[n] == "paid":
            assert saved.status is PaymentStatus.SUCCEEDED and saved.review is None, (n, saved)
            assert set(statuses.values()) == {OrderStatus.AWAITING_SHIPMENT}, n
            assert driver.captured(payment.id) == saved.amount.amount
        else:
            assert saved.is_open, (n, saved)
            assert (saved.review is not None) == (fates[n] == "overcharged"), (n, saved)
            assert set(statuses.values()) == {OrderStatus.PENDING_PAYMENT}, n

    # Operators race three refunds of 40 % of an order's share for some paid checkouts: two fit.
    paid = [(r, p) for n, (r, p) in enumerate(placed) if fates[n] == "paid"][:30]

    def refund(payment: Payment, order_id: str, attempt: int) -> bool:
        share = payment.order_amounts[order_id]
        try:
            key = f"rf-{order_id}-{attempt}"
            m.payments.refund(s.operator, payment.id, share * 2 // 5, "chaos", order_id, key)
        except RefundExceedsCapture:
            return False
        return True

    jobs = [lambda p=p, o=r.orders[0].id, a=a: refund(p, o, a) for r, p in paid for a in range(3)]
    taken = parallel(jobs)  # type: ignore[arg-type]
    assert sum(1 for t in taken if t) == 2 * len(paid)
    refund_deliveries = [
        (raw, True) for _, p in paid for raw in driver.notifications(p.id) for _ in range(rng.randint(1, 3))
    ]
    rng.shuffle(refund_deliveries)
    assert deliver_all(m, driver.code, refund_deliveries) == 0

    for result, payment in paid:
        saved = m.payments.payment(s.operator, payment.id)
        order_id = result.orders[0].id
        assert [r.status for r in saved.refunds] == [RefundStatus.SUCCEEDED] * 2
        assert saved.refunded(order_id).amount == 2 * (saved.order_amounts[order_id] * 2 // 5)
        assert driver.refunded(payment.id) == saved.refunded().amount
        assert m.orders.order(s.operator, order_id).status is OrderStatus.AWAITING_SHIPMENT

    assert m.due_work.run_due_work().payments.settled == 0  # nothing was left for the worker
    assert m.ledger.check().ok


def deliver_all(m: Marketplace, gateway: str, deliveries: list[tuple[RawNotification, bool]]) -> int:
    """Deliver from parallel threads; returns how many were refused. A genuine one refused fails."""
    refused = 0
    lock = threading.Lock()

    def deliver(raw: RawNotification, genuine: bool) -> None:
        nonlocal refused
        try:
            reply = m.inbox.receive(gateway, raw.headers, raw.body)
        except InvalidNotification:
            assert not genuine, raw.body
            with lock:
                refused += 1
            return
        assert genuine, raw.body
        assert 200 <= reply.status < 300

    parallel([lambda r=r, g=g: deliver(r, g) for r, g in deliveries])
    return refused
