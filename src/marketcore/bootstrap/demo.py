"""Seed data for the demo marketplace: an operator, two open shops, listed products, a 满减
promotion and a buyer with an address. Everything goes through the use cases, as a user would."""

from __future__ import annotations

from datetime import timedelta

import attrs

from marketcore.bootstrap.marketplace import Marketplace
from marketcore.domain.catalog.products import SalesAttribute, SkuDraft

PASSWORD = "marketcore-demo"


@attrs.frozen
class DemoAccounts:
    operator_email: str
    merchant_emails: tuple[str, str]
    buyer_email: str
    password: str
    shop_ids: tuple[str, str]
    product_ids: tuple[str, ...]
    sku_ids: tuple[str, ...]  # the first SKU of each product
    address_id: str


_PRODUCTS: dict[int, list[tuple[str, str, list[tuple[str, tuple[str, ...]]], int, int]]] = {
    0: [
        (
            "Phones",
            "Mi Phone 14",
            [("colour", ("black", "white")), ("storage", ("128GB", "256GB"))],
            399900,
            20,
        ),
        ("Headphones", "Wireless Earbuds Pro", [("colour", ("white",))], 59900, 50),
        ("Phones", "Budget Phone A3", [("colour", ("blue", "green"))], 99900, 3),
    ],
    1: [
        ("Tea", "West Lake Longjing Tea 250g", [("grade", ("premium", "first"))], 16800, 40),
        ("Tea", "Anji White Tea 100g", [("grade", ("premium",))], 12800, 30),
        ("Headphones", "Over-ear Studio Headphones", [("colour", ("black", "silver"))], 129900, 10),
    ],
}


def seed(marketplace: Marketplace) -> DemoAccounts:
    m = marketplace
    operator = m.identity.create_operator("operator@demo.marketcore", PASSWORD, "Operator")
    op = m.actor_for(operator.id)
    electronics = m.catalog.create_category(op, "Electronics", None, 500)
    groceries = m.catalog.create_category(op, "Groceries", None, 300)
    leaves = {
        "Phones": m.catalog.create_category(op, "Phones", electronics.id, 500),
        "Headphones": m.catalog.create_category(op, "Headphones", electronics.id, 600),
        "Tea": m.catalog.create_category(op, "Tea", groceries.id, 300),
    }
    shop_ids: list[str] = []
    merchant_emails: list[str] = []
    product_ids: list[str] = []
    sku_ids: list[str] = []
    now = m.container.clock().now()
    for index, (shop_name, fee) in enumerate((("Digital Garden", 0), ("Hangzhou Tea House", 800))):
        email = f"merchant{index + 1}@demo.marketcore"
        merchant = m.identity.register(email, PASSWORD, f"Merchant {index + 1}")
        staff = m.actor_for(merchant.id)
        application = m.shops.apply(
            staff,
            shop_name,
            f"{shop_name}: a demo shop",
            f"{shop_name} Ltd",
            f"91330100MA{index:08d}",
            "13800000000",
        )
        shop = m.shops.approve(op, application.id)
        m.shops.update_settings(staff, shop.id, shipping_fee=fee)
        for category, title, specs, base_price, stock in _PRODUCTS[index]:
            sales = [SalesAttribute(name, values) for name, values in specs]
            combos: list[dict[str, str]] = [{}]
            for name, values in specs:
                combos = [{**c, name: v} for c in combos for v in values]
            skus = [
                (
                    SkuDraft(
                        code=f"S{index + 1}P{len(product_ids) + 1}-{n + 1}",
                        attributes=combo,
                        price=base_price + 10000 * n,
                        market_price=base_price + 10000 * n + 20000,
                        weight_grams=300,
                    ),
                    stock,
                )
                for n, combo in enumerate(combos)
            ]
            view = m.catalog.create_product(
                staff,
                shop.id,
                title,
                leaves[category].id,
                None,
                f"{title}, sold by {shop_name}.",
                [f"https://img.demo.marketcore/{index}/{len(product_ids)}.jpg"],
                {"origin": "China"},
                sales,
                skus,
            )
            m.catalog.submit(staff, shop.id, view.product.id)
            m.catalog.approve(op, view.product.id)
            m.catalog.list_for_sale(staff, shop.id, view.product.id)
            product_ids.append(view.product.id)
            sku_ids.append(view.product.skus[0].id)
        m.promotions.create_full_reduction(
            staff,
            shop.id,
            "满200减20, 满500减60",
            [(20000, 2000), (50000, 6000)],
            now - timedelta(days=1),
            now + timedelta(days=365),
        )
        shop_ids.append(shop.id)
        merchant_emails.append(email)
    buyer = m.identity.register("buyer@demo.marketcore", PASSWORD, "Demo Buyer")
    address = m.identity.add_address(
        m.actor_for(buyer.id),
        "Li Lei",
        "13900000000",
        "Zhejiang",
        "Hangzhou",
        "Xihu",
        "1 Longjing Road",
        "310000",
    )
    return DemoAccounts(
        operator_email=operator.email,
        merchant_emails=(merchant_emails[0], merchant_emails[1]),
        buyer_email=buyer.email,
        password=PASSWORD,
        shop_ids=(shop_ids[0], shop_ids[1]),
        product_ids=tuple(product_ids),
        sku_ids=tuple(sku_ids),
        address_id=address.id,
    )
