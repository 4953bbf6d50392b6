"""Twenty buyers race for the last five units through the real checkout use case."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.shared.actors import Actor
from marketcore.testing.scenarios import Scenario, a_marketplace_with

BUYERS = 20
UNITS = 5


@pytest.fixture(params=["postgresql", "sqlite"])
def marketplace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Marketplace]:
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'race.db'}"
    m = create_marketplace(url, velocity_checkouts_per_hour=1000)
    yield m
    m.close()


def race(scenario: Scenario, buyers: list[tuple[Actor, str]]) -> tuple[int, list[str]]:
    sku_id = scenario.shops[0].sku_ids[0]
    barrier = threading.Barrier(len(buyers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy(actor: Actor, address_id: str) -> None:
        barrier.wait()
        try:
            scenario.marketplace.checkout.checkout(actor, address_id, "sandbox", [ItemRequest(sku_id, 1)])
            outcome = "ok"
        except InsufficientStock as error:
            outcome = error.code
        except Exception as error:
            outcome = f"unexpected {type(error).__name__}: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=buy, args=buyer) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes.count("ok"), outcomes


def test_twenty_buyers_for_the_last_five_units_make_exactly_five_orders(marketplace: Marketplace) -> None:
    scenario = a_marketplace_with(marketplace, shops=1, listed_skus=1, stock=UNITS)
    buyers = [scenario.new_buyer(f"racer{n}") for n in range(BUYERS)]
    succeeded, outcomes = race(scenario, buyers)
    assert succeeded == UNITS, outcomes
    assert sorted(set(outcomes)) == ["insufficient_stock", "ok"]
    shop = scenario.shops[0]
    with marketplace.container.uow()() as uow:
        level = uow.stock.get_many([shop.sku_ids[0]])[shop.sku_ids[0]]
        movements = uow.stock.movements(shop.sku_ids[0])
    assert (level.on_hand, level.reserved) == (UNITS, UNITS)
    assert sum(m.on_hand_delta for m in movements) == level.on_hand
    assert sum(m.reserved_delta for m in movements) == level.reserved


def test_racing_retries_with_one_idempotency_key_place_one_checkout(marketplace: Marketplace) -> None:
    scenario = a_marketplace_with(marketplace, shops=1, listed_skus=1, stock=UNITS)
    sku_id = scenario.shops[0].sku_ids[0]
    retries = 8
    barrier = threading.Barrier(retries)
    checkout_ids: list[str] = []

    def retry() -> None:
        barrier.wait()
        result = marketplace.checkout.checkout(
            scenario.buyer, scenario.address_id, "sandbox", [ItemRequest(sku_id, 2)], idempotency_key="same"
        )
        checkout_ids.append(result.checkout.id)

    threads = [threading.Thread(target=retry) for _ in range(retries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(checkout_ids) == retries and len(set(checkout_ids)) == 1
    with marketplace.container.uow()() as uow:
        level = uow.stock.get_many([sku_id])[sku_id]
    assert level.reserved == 2
