"""One coupon, many concurrent checkouts: exactly one locks it. Two orders of one checkout closing
at once still return its platform coupon. Real threads, on PostgreSQL and SQLite."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.application.ordering.checkout import CheckoutResult, ItemRequest
from marketcore.domain.promotions.coupons import CouponNotUsable
from marketcore.domain.promotions.kinds import FixedAmountOff
from marketcore.domain.shared.money import Money
from marketcore.testing.coupons import coupon_state, give_coupon
from marketcore.testing.scenarios import a_marketplace_with

RACERS = 8


@pytest.fixture(params=["postgresql", "sqlite"])
def marketplace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Marketplace]:
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'coupon-race.db'}"
    m = create_marketplace(url, velocity_checkouts_per_hour=1000)
    yield m
    m.close()


def run_together(calls: list[Callable[[], object]]) -> list[object]:
    """Start every call at once on its own thread; each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_one_coupon_used_by_concurrent_checkouts_is_locked_by_exactly_one(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, listed_skus=1, stock=100)
    assert s.buyer.user_id is not None
    coupon = give_coupon(marketplace, s.buyer.user_id, s.shops[0].id, FixedAmountOff(Money(500)))
    sku_id = s.shops[0].sku_ids[0]

    def checkout(n: int) -> Callable[[], CheckoutResult]:
        return lambda: marketplace.checkout.checkout(
            s.buyer, s.address_id, "sandbox", [ItemRequest(sku_id, 1)], f"racer-{n}", coupon_ids=[coupon.id]
        )

    results = run_together([checkout(n) for n in range(RACERS)])
    won = [r for r in results if isinstance(r, CheckoutResult)]
    lost = [r for r in results if not isinstance(r, CheckoutResult)]
    assert len(won) == 1, results
    assert all(isinstance(r, CouponNotUsable) for r in lost), lost
    assert coupon_state(marketplace, coupon.id) == ("locked", won[0].checkout.id)
    assert won[0].checkout.amount_due == Money(10000 - 500)
    with marketplace.container.uow()() as uow:
        level = uow.stock.get_many([sku_id])[sku_id]
    assert level.reserved == 1  # the losers reserved nothing


def test_two_orders_closing_at_once_return_the_platform_coupon(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2, listed_skus=1, stock=100)
    assert s.buyer.user_id is not None
    platform = give_coupon(marketplace, s.buyer.user_id, None, FixedAmountOff(Money(1000)))
    for attempt in range(3):  # the interleaving varies: try it a few times
        items = [ItemRequest(shop.sku_ids[0], 1) for shop in s.shops]
        placed = marketplace.checkout.checkout(
            s.buyer, s.address_id, "sandbox", items, coupon_ids=[platform.id]
        )
        assert coupon_state(marketplace, platform.id) == ("locked", placed.checkout.id)

        def cancel(order_id: str) -> Callable[[], object]:
            return lambda: marketplace.orders.cancel(s.buyer, order_id)

        results = run_together([cancel(o.id) for o in placed.orders])
        assert not [r for r in results if isinstance(r, Exception)], (attempt, results)
        assert coupon_state(marketplace, platform.id) == ("available", None), attempt
