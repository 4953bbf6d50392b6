"""Who sees what: buyers only their own orders, carts and payments; shop staff only their shop."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import TestClient

from marketcore.bootstrap import create_marketplace
from marketcore.entrypoints.http import create_app

from .conftest import World, address_body, assert_problem, product_body


def test_buyers_see_only_their_own_orders_carts_and_payments(world: World) -> None:
    buyer = world.buyer
    placed = world.checkout("sandbox")
    order_id = placed["orders"][0]["id"]
    payment = buyer.ok(
        "POST", f"/checkouts/{placed['checkout_id']}/payments", 201, json={"gateway": "sandbox"}
    )
    buyer.ok("POST", "/cart/items", json={"sku_id": world.sku(1), "quantity": 1})

    other = world.api.register("other@example.cn", "Other")
    other_address = other.ok("POST", "/me/addresses", 201, json=address_body())
    assert other.ok("GET", "/orders")["items"] == []
    assert other.ok("GET", "/cart")["shops"] == []
    assert_problem(other.get(f"/orders/{order_id}"), 404, "not_found")
    assert_problem(other.post(f"/orders/{order_id}/confirm-receipt"), 404, "not_found")
    assert_problem(other.get(f"/payments/{payment['payment_id']}"), 404, "not_found")
    assert_problem(
        other.post(f"/payments/{payment['payment_id']}/sandbox-complete", json={"outcome": "succeeded"}), 404
    )
    assert_problem(other.patch(f"/cart/items/{world.sku(1)}", json={"quantity": 3}), 404)
    assert_problem(other.delete(f"/cart/items/{world.sku(1)}"), 404)
    # Someone else's address cannot be used for a checkout.
    assert_problem(
        buyer.post("/checkout/preview", json={"address_id": other_address["id"]}), 422, "validation_error"
    )
    # The owner still sees everything untouched.
    assert [o["id"] for o in buyer.ok("GET", "/orders")["items"]] == [order_id]
    assert buyer.ok("GET", "/cart")["shops"][0]["lines"][0]["quantity"] == 1
    assert buyer.ok("GET", f"/payments/{payment['payment_id']}")["status"] == "requires_action"


def test_shop_staff_see_only_their_shop(world: World) -> None:
    placed = world.checkout("cod")
    order_id = placed["orders"][0]["id"]
    owner, stranger = world.merchants
    own_shop, other_shop = world.shop_ids
    assert [o["id"] for o in owner.ok("GET", f"/merchant/shops/{own_shop}/orders")["items"]] == [order_id]
    assert owner.ok("GET", f"/merchant/shops/{own_shop}/orders/{order_id}")["id"] == order_id
    assert stranger.ok("GET", f"/merchant/shops/{other_shop}/orders")["items"] == []
    assert_problem(stranger.get(f"/merchant/shops/{own_shop}/orders"), 404, "not_found")
    assert_problem(stranger.get(f"/merchant/shops/{other_shop}/orders/{order_id}"), 404, "not_found")
    assert_problem(stranger.get(f"/orders/{order_id}"), 404, "not_found")
    assert_problem(
        stranger.post(
            f"/merchant/shops/{own_shop}/orders/{order_id}/shipments",
            json={"carrier_code": "SF", "tracking_no": "1"},
        ),
        404,
    )
    # A draft is visible to its shop (with stock internals) and to operators, to nobody else.
    draft = owner.ok(
        "POST", f"/merchant/shops/{own_shop}/products", 201, json=product_body(world.category["id"], 5)
    )
    assert owner.ok("GET", f"/products/{draft['id']}")["skus"][0]["on_hand"] == 10
    assert world.operator.ok("GET", f"/products/{draft['id']}")["status"] == "draft"
    assert_problem(stranger.get(f"/products/{draft['id']}"), 404)
    assert_problem(world.buyer.get(f"/products/{draft['id']}"), 404)
    assert_problem(world.api.get(f"/products/{draft['id']}"), 404)
    assert_problem(
        stranger.post(f"/merchant/shops/{own_shop}/products", json=product_body(world.category["id"], 6)), 404
    )
    # The operator sees any order; a buyer cannot act as an operator.
    assert world.operator.ok("GET", f"/orders/{order_id}")["id"] == order_id
    assert_problem(
        world.buyer.post(f"/admin/shops/{own_shop}/suspend", json={"reason": "x"}), 403, "forbidden"
    )


def test_suspended_shop_disappears_from_the_catalog(world: World) -> None:
    shop_id = world.shop_ids[0]
    suspended = world.operator.ok("POST", f"/admin/shops/{shop_id}/suspend", json={"reason": "fake goods"})
    assert suspended["status"] == "suspended"
    listed = world.api.ok("GET", "/products")["items"]
    assert [p["shop_id"] for p in listed] == [world.shop_ids[1]]
    assert_problem(world.buyer.post("/cart/items", json={"sku_id": world.sku(0), "quantity": 1}), 404)
    world.operator.ok("POST", f"/admin/shops/{shop_id}/reinstate", json={"reason": "cleared"})
    assert len(world.api.ok("GET", "/products")["items"]) == 2


def test_openapi_and_sandbox_route_only_when_enabled(tmp_path: Path) -> None:
    market = create_marketplace(f"sqlite:///{tmp_path}/cod.db", payment_gateways="cod")
    try:
        with TestClient(create_app(market)) as client:
            schema = client.get("/schema/openapi.json").json()
            paths = schema["paths"]
            assert "/api/v1/payments/{payment_id}/sandbox-complete" not in paths
            assert "/api/v1/checkout" in paths
            operation_ids = [
                op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op
            ]
            assert len(operation_ids) == len(set(operation_ids))
            assert {"checkout", "login", "getOrder", "listProductReviews"} <= set(operation_ids)
            response = client.post("/api/v1/payments/x/sandbox-complete", json={"outcome": "succeeded"})
            assert_problem(response, 404, "not_found")
    finally:
        market.close()
