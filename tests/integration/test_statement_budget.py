"""SQL statements per use case, counted on the engine, held to a budget so a regression fails CI.

Budgets are the counts measured when this test was written (see docs/performance.md); lower one
when an optimisation lands, and raise one only with a reason in the commit message.
Counted: every statement SQLAlchemy sends through a cursor (BEGIN IMMEDIATE and SAVEPOINTs
included; COMMIT/ROLLBACK go through the driver's connection and are not seen).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sql_statements import counting

from marketcore.application.ordering.checkout import ItemRequest
from marketcore.bootstrap import create_marketplace
from marketcore.domain.promotions.kinds import FixedAmountOff
from marketcore.domain.shared.money import Money
from marketcore.testing.coupons import give_coupon
from marketcore.testing.scenarios import Scenario, a_marketplace_with

BUDGETS: dict[str, dict[str, int]] = {
    # "... with coupons": a shop and a platform coupon add a locked read of them and their writes
    # (3 statements; none without coupons). "flash-sale checkout": the sale read locked, its two
    # counters, the quota moved from the sale's reservation (5 more; none without a sale's SKU).
    "sqlite": {
        "checkout": 11,
        "pay": 27,
        "ship": 5,
        "product detail": 4,
        "checkout with coupons": 14,
        "pay with coupons": 30,
        "flash-sale checkout": 16,
    },
    "postgresql": {
        "checkout": 4,
        "pay": 19,
        "ship": 3,
        "product detail": 3,
        "checkout with coupons": 7,
        "pay with coupons": 22,
        "flash-sale checkout": 9,
    },
}


def measure(url: str) -> dict[str, list[str]]:
    """Statements of each use case, on a warm marketplace (a first checkout already done)."""
    market = create_marketplace(url)
    try:
        world: Scenario = a_marketplace_with(
            market, shops=2, listed_skus=2, stock=100, full_reduction=(20_000, 3_000)
        )
        shop0, shop1 = world.shops
        items = [
            ItemRequest(shop0.sku_ids[0], 1),
            ItemRequest(shop0.sku_ids[1], 1),
            ItemRequest(shop1.sku_ids[0], 1),
        ]
        # A flash sale of another SKU of a product in the cart: the ordinary checkout must not pay for it.
        now = market.container.clock().now()
        market.flash_sales.schedule(
            shop1.staff,
            shop1.id,
            shop1.sku_ids[1],
            "秒杀",
            price=5_000,
            quota=10,
            per_buyer_limit=5,
            starts_at=now - timedelta(minutes=1),
            ends_at=now + timedelta(hours=1),
        )
        market.checkout.checkout(world.buyer, world.address_id, "sandbox", items, idempotency_key="warm-up")
        counted: dict[str, list[str]] = {}

        def count(name: str, call: Callable[[], Any]) -> Any:
            with counting(market) as statements:
                result = call()
            counted[name] = statements
            return result

        placed = count(
            "checkout",
            lambda: market.checkout.checkout(
                world.buyer, world.address_id, "sandbox", items, idempotency_key="k1"
            ),
        )
        assert len(placed.orders) == 2

        def pay() -> None:
            payment = market.payments.start(world.buyer, placed.checkout.id, "sandbox")
            market.payments.complete_sandbox(world.buyer, payment.id, succeeded=True)

        count("pay", pay)
        order = next(o for o in placed.orders if o.shop_id == shop0.id)
        count("ship", lambda: market.orders.ship(shop0.staff, shop0.id, order.id, "SF", "SF123456789"))
        count("product detail", lambda: market.catalog.product(world.buyer, shop0.product_ids[0]))

        # With a shop coupon and a platform coupon: loading them locked, and writing them.
        assert world.buyer.user_id is not None
        coupons = [
            give_coupon(market, world.buyer.user_id, shop0.id, FixedAmountOff(Money(500))).id,
            give_coupon(market, world.buyer.user_id, None, FixedAmountOff(Money(300))).id,
        ]
        with_coupons = count(
            "checkout with coupons",
            lambda: market.checkout.checkout(
                world.buyer, world.address_id, "sandbox", items, idempotency_key="k2", coupon_ids=coupons
            ),
        )
        assert sorted(with_coupons.checkout.coupon_ids) == sorted(coupons)

        def pay_with_coupons() -> None:
            payment = market.payments.start(world.buyer, with_coupons.checkout.id, "sandbox")
            market.payments.complete_sandbox(world.buyer, payment.id, succeeded=True)

        count("pay with coupons", pay_with_coupons)

        flash_items = [ItemRequest(shop0.sku_ids[0], 1), ItemRequest(shop1.sku_ids[1], 1)]
        flash = count(
            "flash-sale checkout",
            lambda: market.checkout.checkout(
                world.buyer, world.address_id, "sandbox", flash_items, idempotency_key="k3"
            ),
        )
        assert any(line.flash_sale_id for order in flash.orders for line in order.lines)
        return counted
    finally:
        market.close()


def check(backend: str, counted: dict[str, list[str]]) -> None:
    measured = {name: len(statements) for name, statements in counted.items()}
    over = {name: n for name, n in measured.items() if n > BUDGETS[backend][name]}
    detail = "\n".join(f"--- {name}:\n  " + "\n  ".join(counted[name]) for name in over)
    assert not over, (
        f"{backend}: statements over budget {over}; measured {measured}, budgets {BUDGETS[backend]}\n{detail}"
    )


def test_statement_budget_sqlite(tmp_path: Path) -> None:
    check("sqlite", measure(f"sqlite:///{tmp_path}/budget.db"))


@pytest.mark.postgres
def test_statement_budget_postgres(fresh_postgres_url: str) -> None:
    check("postgresql", measure(fresh_postgres_url))
