"""Checkout serves shops, products, its promotions query and the blacklist's ids from a
per-process cache (PostgreSQL and SQLite); a change made by another process (here: another marketplace on
the same database, with its own cache) must still decide the checkout: its commit finds the
cached version stale and the retry reads the new one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.application.ordering.checkout import ItemRequest, SkuUnavailable
from marketcore.domain.risk.rules import RiskBlocked
from marketcore.testing.scenarios import Scenario, a_marketplace_with


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def two_processes(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Marketplace, Marketplace]]:
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    ours = create_marketplace(url, velocity_checkouts_per_hour=1000)
    theirs = create_marketplace(url, velocity_checkouts_per_hour=1000)
    yield ours, theirs
    ours.close()
    theirs.close()


def _buy(market: Marketplace, world: Scenario, sku_id: str) -> int:
    placed = market.checkout.checkout(world.buyer, world.address_id, "sandbox", [ItemRequest(sku_id, 1)])
    return placed.checkout.amount_due.amount


def test_a_price_changed_elsewhere_is_charged(two_processes: tuple[Marketplace, Marketplace]) -> None:
    ours, theirs = two_processes
    world = a_marketplace_with(ours, shops=1, listed_skus=1, stock=100, price=10_000)
    shop = world.shops[0]
    sku_id = shop.sku_ids[0]
    before = _buy(ours, world, sku_id)
    assert _buy(ours, world, sku_id) == before  # served from the cache this time
    theirs.catalog.update_sku(shop.staff, shop.id, sku_id, price=7_000)
    assert _buy(ours, world, sku_id) == before - 3_000


def test_a_product_delisted_elsewhere_is_not_sold(two_processes: tuple[Marketplace, Marketplace]) -> None:
    ours, theirs = two_processes
    world = a_marketplace_with(ours, shops=1, listed_skus=1, stock=100)
    shop = world.shops[0]
    sku_id = shop.sku_ids[0]
    _buy(ours, world, sku_id)
    theirs.catalog.delist(shop.staff, shop.id, shop.product_ids[0])
    with pytest.raises(SkuUnavailable):
        _buy(ours, world, sku_id)
    with ours.container.uow()() as uow:  # and nothing was reserved for it
        level = uow.stock.get_many([sku_id])[sku_id]
    assert level.reserved == 1


def _discount(market: Marketplace, world: Scenario, sku_id: str) -> int:
    placed = market.checkout.checkout(world.buyer, world.address_id, "sandbox", [ItemRequest(sku_id, 2)])
    return sum(order.discount.amount for order in placed.orders)


def test_promotions_started_and_stopped_elsewhere_decide_the_next_checkout(
    two_processes: tuple[Marketplace, Marketplace],
) -> None:
    # Checkout serves its promotions query from the cache (promotions are collection_cached):
    # the collection version checked at commit must catch a promotion another process added.
    ours, theirs = two_processes
    world = a_marketplace_with(ours, shops=1, listed_skus=1, stock=100, price=10_000)
    shop = world.shops[0]
    sku_id = shop.sku_ids[0]
    assert _discount(ours, world, sku_id) == 0
    assert _discount(ours, world, sku_id) == 0  # served from the cache this time
    now = ours.container.clock().now()
    added = theirs.promotions.create_full_reduction(
        shop.staff, shop.id, "满减", [(15_000, 2_000)], now - timedelta(minutes=1), now + timedelta(days=1)
    )
    assert _discount(ours, world, sku_id) == 2_000
    assert _discount(ours, world, sku_id) == 2_000
    theirs.promotions.stop(shop.staff, shop.id, added.id)
    assert _discount(ours, world, sku_id) == 0


def test_a_buyer_blacklisted_elsewhere_is_blocked_at_once(
    two_processes: tuple[Marketplace, Marketplace],
) -> None:
    ours, theirs = two_processes
    world = a_marketplace_with(ours, shops=1, listed_skus=1, stock=100)
    sku_id = world.shops[0].sku_ids[0]
    _buy(ours, world, sku_id)
    _buy(ours, world, sku_id)  # the blacklist's ids now come from the cache
    theirs.risk.blacklist(world.operator, "user", str(world.buyer.user_id), "chargebacks")
    with pytest.raises(RiskBlocked):
        _buy(ours, world, sku_id)
