"""Build a marketplace in a given state in one call, so tests read as scenarios."""

from __future__ import annotations

from datetime import timedelta

import attrs

from marketcore.bootstrap.marketplace import Marketplace
from marketcore.domain.catalog.products import SalesAttribute, SkuDraft
from marketcore.domain.shared.actors import Actor

PASSWORD = "correct-horse-battery"


@attrs.frozen
class ShopFixture:
    id: str
    staff: Actor
    product_ids: tuple[str, ...]
    sku_ids: tuple[str, ...]


@attrs.frozen
class Scenario:
    marketplace: Marketplace
    operator: Actor
    category_id: str
    shops: tuple[ShopFixture, ...]
    buyer: Actor
    address_id: str

    def new_buyer(self, name: str) -> tuple[Actor, str]:
        """Another buyer with an address."""
        m = self.marketplace
        user = m.identity.register(f"{name}@buyers.test", PASSWORD, name)
        actor = m.actor_for(user.id)
        address = m.identity.add_address(actor, name, "13900000000", "Zhejiang", "Hangzhou", "Xihu", "1 Road")
        return actor, address.id


def a_marketplace_with(
    marketplace: Marketplace,
    *,
    shops: int = 2,
    listed_skus: int = 2,
    stock: int = 10,
    price: int = 10_000,
    full_reduction: tuple[int, int] | None = None,
) -> Scenario:
    """``shops`` open shops, each with one listed product of ``listed_skus`` SKUs of ``stock``
    units at ``price`` fen (the n-th SKU costs ``price + n * 100``), and optionally a 满减
    ``(threshold, discount)`` in every shop; plus an operator and a buyer with an address."""
    m = marketplace
    operator = m.identity.create_operator("operator@ops.test", PASSWORD)
    op = m.actor_for(operator.id)
    category = m.catalog.create_category(op, "Everything", None, 500)
    now = m.container.clock().now()
    built: list[ShopFixture] = []
    for index in range(shops):
        merchant = m.identity.register(f"merchant{index}@shops.test", PASSWORD, f"Merchant {index}")
        staff = m.actor_for(merchant.id)
        application = m.shops.apply(staff, f"Shop {index}", "", "Legal Co", f"LIC{index}", "13800000000")
        shop = m.shops.approve(op, application.id)
        values = tuple(f"v{n}" for n in range(listed_skus))
        view = m.catalog.create_product(
            staff,
            shop.id,
            f"Product {index}",
            category.id,
            None,
            "",
            [],
            {},
            [SalesAttribute("variant", values)],
            [
                (SkuDraft(code=f"S{index}-{n}", attributes={"variant": v}, price=price + n * 100), stock)
                for n, v in enumerate(values)
            ],
        )
        m.catalog.submit(staff, shop.id, view.product.id)
        m.catalog.approve(op, view.product.id)
        m.catalog.list_for_sale(staff, shop.id, view.product.id)
        if full_reduction is not None:
            m.promotions.create_full_reduction(
                staff, shop.id, "满减", [full_reduction], now - timedelta(days=1), now + timedelta(days=30)
            )
        built.append(ShopFixture(shop.id, staff, (view.product.id,), tuple(s.id for s in view.product.skus)))
    scenario = Scenario(m, op, category.id, tuple(built), Actor(None), "")
    buyer, address_id = scenario.new_buyer("buyer")
    return attrs.evolve(scenario, buyer=buyer, address_id=address_id)
