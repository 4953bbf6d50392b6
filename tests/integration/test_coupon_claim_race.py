"""Buyers race to claim coupons through the real use case, on PostgreSQL and SQLite, in threads:
the budget and the per-buyer limit hold exactly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.application.promotions.coupons import CouponTemplateDraft
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.shared.actors import Actor, Role
from marketcore.domain.shared.errors import MarketcoreError
from marketcore.testing.scenarios import Scenario, a_marketplace_with


@pytest.fixture(params=["postgresql", "sqlite"])
def marketplace(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Marketplace]:
    if request.param == "postgresql":
        url = request.getfixturevalue("fresh_postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'claims.db'}"
    m = create_marketplace(url)
    yield m
    m.close()


def _template(scenario: Scenario, budget: int, per_buyer_limit: int) -> str:
    m, shop = scenario.marketplace, scenario.shops[0]
    now = m.container.clock().now()
    draft = CouponTemplateDraft(
        name="¥5 off",
        kind="fixed_amount",
        params={"value": 500, "threshold": 5000},
        claim_from=now - timedelta(hours=1),
        claim_until=now + timedelta(days=1),
        budget=budget,
        per_buyer_limit=per_buyer_limit,
        valid_days=7,
    )
    return m.coupons.create_template(shop.staff, shop.id, draft).template.id


def _race(m: Marketplace, template_id: str, actors: list[Actor]) -> list[str]:
    barrier = threading.Barrier(len(actors))
    outcomes: list[str] = []
    lock = threading.Lock()

    def claim(actor: Actor) -> None:
        barrier.wait()
        try:
            m.coupons.claim(actor, template_id)
            outcome = "ok"
        except MarketcoreError as error:
            outcome = error.code
        except Exception as error:  # a crash is reported, not hidden
            outcome = f"unexpected {type(error).__name__}: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _buyer(n: int) -> Actor:
    return Actor(f"racer-{n}", frozenset({Role.BUYER}))


def test_a_hundred_buyers_for_a_budget_of_twenty_get_exactly_twenty(marketplace: Marketplace) -> None:
    scenario = a_marketplace_with(marketplace, shops=1)
    template_id = _template(scenario, budget=20, per_buyer_limit=1)
    outcomes = _race(marketplace, template_id, [_buyer(n) for n in range(100)])
    assert outcomes.count("ok") == 20, outcomes
    assert sorted(set(outcomes)) == ["coupon_budget_exhausted", "ok"]
    shop = scenario.shops[0]
    assert marketplace.coupons.template(shop.staff, shop.id, template_id).issued == 20
    held = sum(len(marketplace.coupons.my_coupons(_buyer(n), None, PageRequest()).items) for n in range(100))
    assert held == 20


def test_one_buyer_claiming_in_twenty_threads_gets_their_limit_of_two(marketplace: Marketplace) -> None:
    scenario = a_marketplace_with(marketplace, shops=1)
    template_id = _template(scenario, budget=100, per_buyer_limit=2)
    outcomes = _race(marketplace, template_id, [_buyer(0)] * 20)
    assert outcomes.count("ok") == 2, outcomes
    assert sorted(set(outcomes)) == ["coupon_claim_limit_reached", "ok"]
    assert len(marketplace.coupons.my_coupons(_buyer(0), None, PageRequest()).items) == 2
    shop = scenario.shops[0]
    assert marketplace.coupons.template(shop.staff, shop.id, template_id).issued == 2
