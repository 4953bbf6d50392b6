"""The whole marketplace lifecycle over HTTP, from shop onboarding to a product review."""

from __future__ import annotations

from typing import Any

from marketcore.bootstrap import Marketplace

from .conftest import Api, World, address_body, product_body, promotion_body


def test_full_lifecycle(api: Api, marketplace: Marketplace) -> None:
    assert api.client.get("/health").json() == {"status": "ok"}
    assert api.client.get("/ready").status_code == 200

    # Operator and two merchants, each applying for a shop.
    marketplace.identity.create_operator("op@example.cn", "password1")
    operator = api.login("op@example.cn")
    assert "operator" in operator.ok("GET", "/me")["roles"]
    merchants = [api.register(f"m{i}@example.cn", f"Merchant {i}") for i in range(2)]
    applications = [
        m.ok(
            "POST",
            "/shop-applications",
            201,
            json={
                "shop_name": f"Shop {i}",
                "description": "phones and more",
                "legal_name": f"Shop {i} Ltd",
                "license_no": f"91330000{i}",
                "contact_phone": "13800000000",
            },
        )
        for i, m in enumerate(merchants)
    ]
    assert applications[0]["status"] == "pending_review"
    assert (
        merchants[0].ok("GET", f"/shop-applications/{applications[0]['id']}")["id"] == applications[0]["id"]
    )
    queue = operator.ok("GET", "/admin/shop-applications", params={"status": "pending_review"})
    assert {a["id"] for a in queue["items"]} == {a["id"] for a in applications}
    shop_ids = [
        operator.ok("POST", f"/admin/shop-applications/{a['id']}/approve")["shop_id"] for a in applications
    ]
    for merchant, shop_id in zip(merchants, shop_ids, strict=True):
        me = merchant.ok("GET", "/me")
        assert [s["shop_id"] for s in me["shops"]] == [shop_id]
        assert me["shops"][0]["role"] == "owner"
        assert api.ok("GET", f"/shops/{shop_id}")["status"] == "open"
    merchants[1].ok("PATCH", f"/merchant/shops/{shop_ids[1]}", json={"shipping_fee": 800})

    # Catalog: a category, a product per shop, review and listing.
    category = operator.ok(
        "POST", "/admin/categories", 201, json={"name": "Phones", "commission_rate_bps": 500}
    )
    assert [c["id"] for c in api.ok("GET", "/categories")["items"]] == [category["id"]]
    products = []
    for i, (merchant, shop_id) in enumerate(zip(merchants, shop_ids, strict=True)):
        product = merchant.ok(
            "POST", f"/merchant/shops/{shop_id}/products", 201, json=product_body(category["id"], i)
        )
        assert product["status"] == "draft"
        assert [s["available"] for s in product["skus"]] == [10, 10]
        assert api.get(f"/products/{product['id']}").status_code == 404  # draft: not public
        merchant.ok("POST", f"/merchant/shops/{shop_id}/products/{product['id']}/submit")
        products.append(product)
    pending = operator.ok("GET", "/admin/products", params={"status": "pending_review"})
    assert {p["id"] for p in pending["items"]} == {p["id"] for p in products}
    for merchant, shop_id, product in zip(merchants, shop_ids, products, strict=True):
        operator.ok("POST", f"/admin/products/{product['id']}/approve")
        listed = merchant.ok("POST", f"/merchant/shops/{shop_id}/products/{product['id']}/list")
        assert listed["listed"] is True

    public = api.ok("GET", "/products", params={"category_id": category["id"], "sort": "price_asc"})
    assert {p["id"] for p in public["items"]} == {p["id"] for p in products}
    assert all(p["min_price"] == 10000 and p["currency"] == "CNY" for p in public["items"])
    detail = api.ok("GET", f"/products/{products[0]['id']}")
    assert [(s["code"], s["price"], s["available"]) for s in detail["skus"]] == [
        ("R", 10000, 10),
        ("B", 12000, 10),
    ]
    assert detail["skus"][0]["on_hand"] is None  # stock internals are for the shop only

    # Shop 0 runs a 满减: spend 200 yuan, get 30 off.
    promotion = merchants[0].ok(
        "POST", f"/merchant/shops/{shop_ids[0]}/promotions", 201, json=promotion_body()
    )
    assert promotion["tiers"] == [{"threshold": 20000, "discount": 3000}]
    assert [
        p["id"] for p in merchants[0].ok("GET", f"/merchant/shops/{shop_ids[0]}/promotions")["items"]
    ] == [promotion["id"]]

    # The buyer fills the cart from both shops.
    buyer = api.register("buyer@example.cn", "Buyer Wang")
    address = buyer.ok("POST", "/me/addresses", 201, json=address_body())
    assert [a["id"] for a in buyer.ok("GET", "/me/addresses")["items"]] == [address["id"]]
    skus = [[s["id"] for s in p["skus"]] for p in products]
    buyer.ok("POST", "/cart/items", json={"sku_id": skus[0][0], "quantity": 1})
    buyer.ok("POST", "/cart/items", json={"sku_id": skus[0][1], "quantity": 1})
    buyer.ok("POST", "/cart/items", json={"sku_id": skus[1][0], "quantity": 2})
    cart = buyer.ok("GET", "/cart")
    assert [s["shop_id"] for s in cart["shops"]] == shop_ids
    assert [s["selected_subtotal"] for s in cart["shops"]] == [22000, 20000]
    assert cart["selected_subtotal"] == 42000 and cart["currency"] == "CNY"

    preview = buyer.ok("POST", "/checkout/preview", json={"address_id": address["id"]})
    first, second = preview["shops"]
    assert (first["subtotal"], first["discount"], first["shipping"], first["total"]) == (
        22000,
        3000,
        0,
        19000,
    )
    assert [(a["promotion_id"], a["amount"], a["funder"]) for a in first["applied"]] == [
        (promotion["id"], 3000, "shop")
    ]
    assert sum(a["amount"] for line in first["lines"] for a in line["allocations"]) == 3000
    assert sum(line["discount"] for line in first["lines"]) == first["discount"]
    for line in first["lines"]:
        assert line["total"] == line["unit_price"] * line["quantity"] - line["discount"]
    assert (second["discount"], second["shipping"], second["total"]) == (0, 800, 20800)
    assert preview["total"] == 19000 + 20800

    # Checkout with the sandbox gateway: one order per shop, one payment.
    placed = buyer.ok(
        "POST",
        "/checkout",
        201,
        json={"address_id": address["id"], "payment_method": "sandbox"},
        headers={"Idempotency-Key": "lifecycle-1"},
    )
    assert placed["amount_due"] == preview["total"] and placed["currency"] == "CNY"
    assert [o["shop_id"] for o in placed["orders"]] == shop_ids
    assert all(o["status"] == "pending_payment" and o["number"] for o in placed["orders"])
    assert sum(o["total"] for o in placed["orders"]) == placed["amount_due"]
    again = buyer.ok(
        "POST",
        "/checkout",
        201,
        json={"address_id": address["id"], "payment_method": "sandbox"},
        headers={"Idempotency-Key": "lifecycle-1"},
    )
    assert again["checkout_id"] == placed["checkout_id"]
    assert buyer.ok("GET", "/cart")["shops"] == []  # ordered lines leave the cart

    payment = buyer.ok(
        "POST", f"/checkouts/{placed['checkout_id']}/payments", 201, json={"gateway": "sandbox"}
    )
    assert payment["status"] == "requires_action" and payment["amount"] == placed["amount_due"]
    done = buyer.ok(
        "POST", f"/payments/{payment['payment_id']}/sandbox-complete", json={"outcome": "succeeded"}
    )
    assert done["status"] == "succeeded"
    assert buyer.ok("GET", f"/payments/{payment['payment_id']}")["status"] == "succeeded"

    orders = [buyer.ok("GET", f"/orders/{o['id']}") for o in placed["orders"]]
    assert [o["status"] for o in orders] == ["awaiting_shipment", "awaiting_shipment"]
    history = orders[0]["history"]
    assert [(h["from"], h["to"]) for h in history] == [
        (None, "pending_payment"),
        ("pending_payment", "awaiting_shipment"),
    ]
    assert sum(a["amount"] for line in orders[0]["lines"] for a in line["allocations"]) == 3000
    listing = buyer.ok("GET", "/orders", params={"status": "awaiting_shipment"})
    assert {o["id"] for o in listing["items"]} == {o["id"] for o in orders}

    # Merchants ship; the buyer confirms receipt.
    for merchant, shop_id, order in zip(merchants, shop_ids, orders, strict=True):
        shop_orders = merchant.ok("GET", f"/merchant/shops/{shop_id}/orders")
        assert [o["id"] for o in shop_orders["items"]] == [order["id"]]
        shipped = merchant.ok(
            "POST",
            f"/merchant/shops/{shop_id}/orders/{order['id']}/shipments",
            201,
            json={"carrier_code": "SF", "tracking_no": f"SF{shop_id[-6:]}"},
        )
        assert shipped["status"] == "shipped" and len(shipped["shipments"]) == 1
        completed = buyer.ok("POST", f"/orders/{order['id']}/confirm-receipt")
        assert completed["status"] == "completed"

    # The buyer reviews a line; the review and the aggregates are public.
    order = buyer.ok("GET", f"/orders/{orders[0]['id']}")
    line = order["lines"][0]
    review = buyer.ok(
        "POST",
        f"/orders/{order['id']}/reviews",
        201,
        json={
            "order_line_id": line["id"],
            "rating": 5,
            "content": "great phone",
            "images": [],
            "anonymous": True,
            "shop_scores": {"description": 5, "service": 4, "logistics": 5},
        },
    )
    assert review["author_name"] != "Buyer Wang"
    page = api.ok("GET", f"/products/{line['product_id']}/reviews")
    assert [r["id"] for r in page["items"]] == [review["id"]]
    assert page["summary"] == {"count": 1, "average": 5.0, "good_rate": 1.0}
    assert page["next_cursor"] is None
    shop_page = api.ok("GET", f"/shops/{order['shop_id']}")
    assert shop_page["scores"] == {"count": 1, "description": 5.0, "service": 4.0, "logistics": 5.0}

    # Stock: the paid units left the shelf.
    after = api.ok("GET", f"/products/{products[1]['id']}")
    assert after["skus"][0]["available"] == 8


def test_cash_on_delivery_goes_straight_to_awaiting_shipment(world: World) -> None:
    buyer = world.buyer
    placed = buyer.ok(
        "POST",
        "/checkout",
        201,
        json={
            "address_id": world.address["id"],
            "payment_method": "cod",
            "items": [{"sku_id": world.sku(0), "quantity": 1}, {"sku_id": world.sku(1, 1), "quantity": 2}],
        },
    )
    assert [o["status"] for o in placed["orders"]] == ["awaiting_shipment", "awaiting_shipment"]
    order: dict[str, Any] = buyer.ok("GET", f"/orders/{placed['orders'][0]['id']}")
    assert order["payment_method"] == "cod" and order["paid_at"] is None
    shipped = world.merchants[0].ok(
        "POST",
        f"/merchant/shops/{world.shop_ids[0]}/orders/{order['id']}/shipments",
        201,
        json={
            "carrier_code": "YTO",
            "tracking_no": "YT1",
            "lines": [{"order_line_id": order["lines"][0]["id"], "quantity": 1}],
        },
    )
    assert shipped["status"] == "shipped"
    collected = world.merchants[0].ok(
        "POST", f"/merchant/shops/{world.shop_ids[0]}/orders/{order['id']}/cod-collection", 201
    )
    assert (collected["gateway"], collected["status"], collected["amount"]) == (
        "cod",
        "succeeded",
        order["total"],
    )
    assert buyer.ok("POST", f"/orders/{order['id']}/confirm-receipt")["paid_at"] is not None


def test_buyer_cancels_an_unpaid_order_and_stock_returns(world: World) -> None:
    buyer = world.buyer
    placed = world.checkout("sandbox", quantity=3)
    product_id = world.products[0]["id"]
    assert buyer.ok("GET", f"/products/{product_id}")["skus"][0]["available"] == 7
    cancelled = buyer.ok(
        "POST", f"/orders/{placed['orders'][0]['id']}/cancel", json={"reason": "changed my mind"}
    )
    assert cancelled["status"] == "closed" and cancelled["history"][-1]["reason"] == "changed my mind"
    assert buyer.ok("GET", f"/products/{product_id}")["skus"][0]["available"] == 10


def test_buyer_extends_the_receipt_window_once_over_http(world: World) -> None:
    buyer, merchant = world.buyer, world.merchants[0]
    placed = world.checkout("cod")
    order_id = placed["orders"][0]["id"]
    merchant.ok(
        "POST",
        f"/merchant/shops/{world.shop_ids[0]}/orders/{order_id}/shipments",
        201,
        json={"carrier_code": "SF", "tracking_no": "SF100"},
    )
    shipped = buyer.ok("GET", f"/orders/{order_id}")
    extended = buyer.ok("POST", f"/orders/{order_id}/extend-receipt", 200)
    assert extended["receipt_extended"] is True
    assert extended["auto_complete_at"] > shipped["auto_complete_at"]
    again = buyer.post(f"/orders/{order_id}/extend-receipt")
    assert again.status_code == 409 and again.json()["code"] == "receipt_not_extendable"
