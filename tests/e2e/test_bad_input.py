"""A sweep of bad requests: every answer is a 4xx RFC 9457 problem with a code, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from marketcore.entrypoints.http.auth import build_jwt_auth

from .conftest import Api, World, address_body, assert_problem, product_body

Call = Callable[[World], httpx.Response]


def _checkout(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "address_id": world.address["id"],
        "payment_method": "sandbox",
        "items": [{"sku_id": world.sku(0), "quantity": 1}],
    }
    body.update(overrides)
    return body


def _placed_order(world: World, payment_method: str = "sandbox") -> dict[str, Any]:
    body = _checkout(world, payment_method=payment_method)
    placed: dict[str, Any] = world.buyer.ok("POST", "/checkout", 201, json=body)
    return placed


CASES: list[tuple[str, Call, int, str | None]] = [
    # --- malformed bodies and wrong JSON types: 400 naming the field
    ("non-JSON body", lambda w: w.buyer.post("/cart/items", content=b"not json"), 400, None),
    ("truncated JSON", lambda w: w.buyer.post("/cart/items", content=b'{"sku_id": '), 400, None),
    ("JSON array body", lambda w: w.buyer.post("/cart/items", json=[1, 2]), 400, "invalid_request"),
    (
        "missing field",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0)}),
        400,
        "invalid_request",
    ),
    (
        "quantity as string",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0), "quantity": "2"}),
        400,
        None,
    ),
    (
        "quantity as float",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0), "quantity": 1.5}),
        400,
        None,
    ),
    (
        "quantity as bool",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0), "quantity": True}),
        400,
        None,
    ),
    ("sku_id null", lambda w: w.buyer.post("/cart/items", json={"sku_id": None, "quantity": 1}), 400, None),
    (
        "quantity beyond int64",
        lambda w: w.buyer.post(
            "/cart/items", content=b'{"sku_id": "x", "quantity": 99999999999999999999999}'
        ),
        422,
        None,
    ),
    (
        "register email int",
        lambda w: w.api.post("/auth/register", json={"email": 1, "password": 2}),
        400,
        None,
    ),
    ("empty body", lambda w: w.buyer.post("/me/addresses", content=b""), 400, None),
    (
        "nested wrong type",
        lambda w: w.merchants[0].post(
            f"/merchant/shops/{w.shop_ids[0]}/products",
            json={**product_body(w.category["id"], 0), "skus": [{"code": "X", "price": "cheap", "stock": 1}]},
        ),
        400,
        None,
    ),
    (
        "items not a list",
        lambda w: w.buyer.post("/checkout/preview", json={"address_id": "a", "items": 3}),
        400,
        None,
    ),
    (
        "webhook not signed",
        lambda w: w.api.post("/webhooks/payments/sandbox", content=b"\xff\xfe not json"),
        400,
        "invalid_notification",
    ),
    (
        "refund amount a string",
        lambda w: w.operator.post("/admin/payments/p/refunds", json={"amount": "all", "reason": "x"}),
        400,
        None,
    ),
    (
        "refund without a reason",
        lambda w: w.operator.post("/admin/payments/p/refunds", json={"amount": 100}),
        400,
        None,
    ),
    (
        "refund reason blank",
        lambda w: w.operator.post(
            f"/admin/payments/{_paid_payment(w)}/refunds", json={"amount": 100, "reason": " "}
        ),
        422,
        "validation_error",
    ),
    (
        "unknown payment method",
        lambda w: w.buyer.post("/checkout", json=_checkout(w, payment_method="btc")),
        422,
        "validation_error",
    ),
    (
        "sandbox outcome",
        lambda w: w.buyer.post("/payments/x/sandbox-complete", json={"outcome": "maybe"}),
        400,
        None,
    ),
    (
        "naive promotion datetime",
        lambda w: w.merchants[0].post(
            f"/merchant/shops/{w.shop_ids[0]}/promotions",
            json={
                "name": "x",
                "tiers": [{"threshold": 200, "discount": 10}],
                "starts_at": "2030-01-01T00:00:00",
                "ends_at": "2030-02-01T00:00:00",
            },
        ),
        400,
        None,
    ),
    # --- domain validation: 422 naming the field
    (
        "zero quantity",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0), "quantity": 0}),
        422,
        "validation_error",
    ),
    (
        "negative quantity",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0), "quantity": -3}),
        422,
        "validation_error",
    ),
    (
        "huge quantity",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": w.sku(0), "quantity": 10**9}),
        422,
        "validation_error",
    ),
    (
        "checkout huge quantity",
        lambda w: w.buyer.post(
            "/checkout", json=_checkout(w, items=[{"sku_id": w.sku(0), "quantity": 10**6}])
        ),
        422,
        "validation_error",
    ),
    (
        "checkout empty items",
        lambda w: w.buyer.post("/checkout", json=_checkout(w, items=[])),
        422,
        "validation_error",
    ),
    (
        "checkout unknown address",
        lambda w: w.buyer.post("/checkout", json=_checkout(w, address_id="nope")),
        422,
        None,
    ),
    (
        "checkout unknown coupon",
        lambda w: w.buyer.post("/checkout", json=_checkout(w, coupon_ids=["nope"])),
        422,
        "validation_error",
    ),
    (
        "checkout coupon_ids not a list",
        lambda w: w.buyer.post("/checkout", json=_checkout(w, coupon_ids="nope")),
        400,
        "invalid_request",
    ),
    (
        "preview coupon id a number",
        lambda w: w.buyer.post("/checkout/preview", json={"address_id": w.address["id"], "coupon_ids": [7]}),
        400,
        "invalid_request",
    ),
    (
        "preview coupon listed twice",
        lambda w: w.buyer.post(
            "/checkout/preview",
            json={"address_id": w.address["id"], "items": _checkout(w)["items"], "coupon_ids": ["a", "a"]},
        ),
        422,
        "validation_error",
    ),
    (
        "short password",
        lambda w: w.api.post(
            "/auth/register", json={"email": "x@y.cn", "password": "1", "display_name": "X"}
        ),
        422,
        None,
    ),
    (
        "bad email",
        lambda w: w.api.post(
            "/auth/register", json={"email": "nope", "password": "password1", "display_name": "X"}
        ),
        422,
        None,
    ),
    (
        "bad phone",
        lambda w: w.buyer.post(
            "/me/addresses",
            json={"recipient": "A", "phone": "abc", "province": "P", "city": "C", "detail": "D"},
        ),
        422,
        "validation_error",
    ),
    (
        "negative price",
        lambda w: w.merchants[0].post(
            f"/merchant/shops/{w.shop_ids[0]}/products",
            json={
                **product_body(w.category["id"], 0),
                "skus": [{"code": "X", "price": -1, "stock": 1, "attributes": {"colour": "red"}}],
            },
        ),
        422,
        "validation_error",
    ),
    (
        "negative shipping fee",
        lambda w: w.merchants[0].patch(f"/merchant/shops/{w.shop_ids[0]}", json={"shipping_fee": -1}),
        422,
        None,
    ),
    ("limit zero", lambda w: w.buyer.get("/orders", params={"limit": 0}), 422, "validation_error"),
    ("limit huge", lambda w: w.api.get("/products", params={"limit": 10**6}), 422, "validation_error"),
    ("bad cursor", lambda w: w.api.get("/products", params={"cursor": "garbage"}), 422, "validation_error"),
    ("limit not a number", lambda w: w.buyer.get("/orders", params={"limit": "ten"}), 400, "invalid_request"),
    (
        "unknown status filter",
        lambda w: w.buyer.get("/orders", params={"status": "lost"}),
        400,
        "invalid_request",
    ),
    ("min_price not a number", lambda w: w.api.get("/products", params={"min_price": "cheap"}), 400, None),
    ("unknown sort", lambda w: w.api.get("/products", params={"sort": "random"}), 400, None),
    # --- unknown ids: 404
    ("unknown product", lambda w: w.api.get("/products/nope"), 404, "not_found"),
    ("unknown shop", lambda w: w.api.get("/shops/nope"), 404, "not_found"),
    ("unknown order", lambda w: w.buyer.get("/orders/nope"), 404, "not_found"),
    ("unknown payment", lambda w: w.buyer.get("/payments/nope"), 404, "not_found"),
    (
        "unknown checkout",
        lambda w: w.buyer.post("/checkouts/nope/payments", json={"gateway": "sandbox"}),
        404,
        None,
    ),
    (
        "unknown sku in cart",
        lambda w: w.buyer.post("/cart/items", json={"sku_id": "nope", "quantity": 1}),
        404,
        None,
    ),
    ("unknown cart line", lambda w: w.buyer.patch("/cart/items/nope", json={"quantity": 2}), 404, None),
    ("unknown application", lambda w: w.operator.post("/admin/shop-applications/nope/approve"), 404, None),
    ("unknown route", lambda w: w.api.get("/no/such/route"), 404, "not_found"),
    ("unknown route outside api", lambda w: w.api.client.get("/nothing-here"), 404, "not_found"),
    # --- wrong method: 405
    ("wrong method", lambda w: w.buyer.delete("/checkout"), 405, "method_not_allowed"),
    (
        "wrong method on public route",
        lambda w: w.api.request("PUT", "/categories"),
        405,
        "method_not_allowed",
    ),
    # --- authentication: 401
    ("no token", lambda w: w.api.get("/cart"), 401, "unauthenticated"),
    ("no token checkout", lambda w: w.api.post("/checkout", json={}), 401, "unauthenticated"),
    ("garbage token", lambda w: w.api.as_("garbage").get("/me"), 401, "unauthenticated"),
    (
        "garbage token on public route",
        lambda w: w.api.as_("garbage").get("/categories"),
        401,
        "unauthenticated",
    ),
    (
        "wrong password",
        lambda w: w.api.post("/auth/login", json={"email": "buyer@example.cn", "password": "wrongpass1"}),
        401,
        "unauthenticated",
    ),
    # --- permissions: 403 for roles, 404 for other people's things
    (
        "buyer on operator route",
        lambda w: w.buyer.post("/admin/categories", json={"name": "X", "commission_rate_bps": 1}),
        403,
        "forbidden",
    ),
    ("buyer lists applications", lambda w: w.buyer.get("/admin/shop-applications"), 403, "forbidden"),
    (
        "buyer review queue",
        lambda w: w.buyer.get("/admin/products", params={"status": "pending_review"}),
        403,
        "forbidden",
    ),
    (
        "merchant blacklists",
        lambda w: w.merchants[0].post(
            "/admin/risk/blacklist", json={"kind": "user", "value": "x", "reason": "r"}
        ),
        403,
        "forbidden",
    ),
    (
        "buyer approves product",
        lambda w: w.buyer.post(f"/admin/products/{w.products[0]['id']}/approve"),
        403,
        "forbidden",
    ),
    (
        "another buyer's order",
        lambda w: w.api.register("other@example.cn").get(f"/orders/{_placed_order(w)['orders'][0]['id']}"),
        404,
        "not_found",
    ),
    (
        "another buyer cancels",
        lambda w: w.api.register("other@example.cn").post(
            f"/orders/{_placed_order(w)['orders'][0]['id']}/cancel"
        ),
        404,
        "not_found",
    ),
    (
        "another buyer pays",
        lambda w: w.api.register("other@example.cn").post(
            f"/checkouts/{_placed_order(w)['checkout_id']}/payments", json={"gateway": "sandbox"}
        ),
        404,
        "not_found",
    ),
    (
        "merchant touches another shop's product",
        lambda w: w.merchants[0].post(
            f"/merchant/shops/{w.shop_ids[1]}/products/{w.products[1]['id']}/delist"
        ),
        404,
        "not_found",
    ),
    (
        "merchant uses own shop id for another shop's product",
        lambda w: w.merchants[0].post(
            f"/merchant/shops/{w.shop_ids[0]}/products/{w.products[1]['id']}/delist"
        ),
        404,
        "not_found",
    ),
    (
        "merchant lists another shop's orders",
        lambda w: w.merchants[0].get(f"/merchant/shops/{w.shop_ids[1]}/orders"),
        404,
        "not_found",
    ),
    (
        "merchant ships another shop's order",
        lambda w: w.merchants[1].post(
            f"/merchant/shops/{w.shop_ids[1]}/orders/{_placed_order(w)['orders'][0]['id']}/shipments",
            json={"carrier_code": "SF", "tracking_no": "1"},
        ),
        404,
        "not_found",
    ),
    (
        "merchant sets another shop's fee",
        lambda w: w.merchants[0].patch(f"/merchant/shops/{w.shop_ids[1]}", json={"shipping_fee": 1}),
        404,
        "not_found",
    ),
    (
        "merchant lists another shop's promotions",
        lambda w: w.merchants[0].get(f"/merchant/shops/{w.shop_ids[1]}/promotions"),
        404,
        None,
    ),
    (
        "merchant reprices another shop's sku",
        lambda w: w.merchants[0].patch(f"/merchant/shops/{w.shop_ids[1]}/skus/{w.sku(1)}", json={"price": 1}),
        404,
        "not_found",
    ),
    # --- business conflicts: 409
    (
        "insufficient stock",
        lambda w: w.buyer.post("/checkout", json=_checkout(w, items=[{"sku_id": w.sku(0), "quantity": 11}])),
        409,
        "insufficient_stock",
    ),
    (
        "approve approved product",
        lambda w: w.operator.post(f"/admin/products/{w.products[0]['id']}/approve"),
        409,
        "product_state_conflict",
    ),
    (
        "register twice",
        lambda w: w.api.post(
            "/auth/register", json={"email": "buyer@example.cn", "password": "password1", "display_name": "B"}
        ),
        409,
        "already_exists",
    ),
    (
        "confirm before shipping",
        lambda w: w.buyer.post(f"/orders/{_placed_order(w)['orders'][0]['id']}/confirm-receipt"),
        409,
        "order_not_confirmable",
    ),
    (
        "review before completion",
        lambda w: w.buyer.post(
            f"/orders/{(o := _placed_order(w)['orders'][0])['id']}/reviews",
            json={"order_line_id": w.buyer.ok("GET", f"/orders/{o['id']}")["lines"][0]["id"], "rating": 5},
        ),
        409,
        "order_not_reviewable",
    ),
    (
        "cod checkout cannot be paid online",
        lambda w: w.buyer.post(
            f"/checkouts/{_placed_order(w, 'cod')['checkout_id']}/payments", json={"gateway": "sandbox"}
        ),
        409,
        "checkout_not_payable",
    ),
]


@pytest.mark.parametrize(("call", "status", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_request_is_a_problem(world: World, call: Call, status: int, code: str | None) -> None:
    response = call(world)
    body = assert_problem(response, status, code)
    if status in (400, 422) and code != "malformed_json" and "json" not in body["detail"].lower():
        assert body.get("field"), body


def test_reused_idempotency_key_with_another_body_is_409(world: World) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = world.buyer.ok("POST", "/checkout", 201, json=_checkout(world), headers=headers)
    replay = world.buyer.ok("POST", "/checkout", 201, json=_checkout(world), headers=headers)
    assert replay["checkout_id"] == first["checkout_id"]
    other = _checkout(world, items=[{"sku_id": world.sku(0), "quantity": 2}])
    assert_problem(world.buyer.post("/checkout", json=other, headers=headers), 409, "idempotency_key_reused")


def test_reused_payment_idempotency_key_for_another_checkout_is_409(world: World) -> None:
    headers = {"Idempotency-Key": "pay-1"}
    first = world.buyer.ok("POST", "/checkout", 201, json=_checkout(world))
    second = world.buyer.ok("POST", "/checkout", 201, json=_checkout(world))
    body = {"gateway": "sandbox"}
    paid = world.buyer.ok(
        "POST", f"/checkouts/{first['checkout_id']}/payments", 201, json=body, headers=headers
    )
    again = world.buyer.ok(
        "POST", f"/checkouts/{first['checkout_id']}/payments", 201, json=body, headers=headers
    )
    assert again["payment_id"] == paid["payment_id"]
    response = world.buyer.post(f"/checkouts/{second['checkout_id']}/payments", json=body, headers=headers)
    assert_problem(response, 409, "idempotency_key_reused")


def test_risk_blacklisted_phone_is_403(world: World) -> None:
    world.operator.ok(
        "POST",
        "/admin/risk/blacklist",
        201,
        json={"kind": "phone", "value": "13900000000", "reason": "fraud"},
    )
    body = assert_problem(world.buyer.post("/checkout", json=_checkout(world)), 403, "risk_blocked")
    assert "fraud" not in body["detail"]


def test_token_for_unknown_user_is_401(world: World, api: Api) -> None:
    forged = build_jwt_auth(world.marketplace).create_token(identifier="ghost")  # validly signed, nobody
    assert_problem(api.as_(forged).get("/me"), 401, "unauthenticated")
    assert_problem(api.as_(forged).get("/categories"), 401, "unauthenticated")


def test_validation_problem_names_nested_field(world: World) -> None:
    body = product_body(world.category["id"], 0)
    body["skus"][1]["price"] = "12"
    problem = assert_problem(
        world.merchants[0].post(f"/merchant/shops/{world.shop_ids[0]}/products", json=body), 400
    )
    assert problem["field"] == "skus[1].price"


def _paid_payment(world: World) -> str:
    placed = _placed_order(world)
    payment = world.buyer.ok(
        "POST", f"/checkouts/{placed['checkout_id']}/payments", 201, json={"gateway": "sandbox"}
    )
    world.buyer.ok(
        "POST", f"/payments/{payment['payment_id']}/sandbox-complete", json={"outcome": "succeeded"}
    )
    return str(payment["payment_id"])


def _promotions(w: World) -> str:
    return f"/merchant/shops/{w.shop_ids[0]}/promotions"


def _templates(w: World) -> str:
    return f"/merchant/shops/{w.shop_ids[0]}/coupon-templates"


_PROMOTION = {"name": "x", "kind": "full_reduction", "params": {"tiers": [[20000, 2000]]}}
_TEMPLATE = {
    "name": "t",
    "kind": "fixed_amount",
    "params": {"value": 500, "threshold": 5000},
    "claim_from": "2030-01-01T00:00:00Z",
    "claim_until": "2030-02-01T00:00:00Z",
    "budget": 10,
    "valid_days": 7,
}

# name, call, status, the field the problem must name (None: a 4xx that names no field)
PROMOTION_CASES: list[tuple[str, Call, int, str | None]] = [
    (
        "unknown kind",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "kind": "nope"}),
        422,
        "kind",
    ),
    (
        "coupon kind as a promotion",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "kind": "fixed_amount"}),
        422,
        "kind",
    ),
    (
        "discount above its threshold",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "params": {"tiers": [[100, 200]]}}),
        422,
        "params.tiers[0]",
    ),
    (
        "tiers not a list",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "params": {"tiers": 5}}),
        422,
        "params.tiers",
    ),
    (
        "threshold as float",
        lambda w: w.merchants[0].post(
            _promotions(w), json={**_PROMOTION, "params": {"tiers": [[200.5, 10]]}}
        ),
        422,
        "params.tiers[0]",
    ),
    (
        "params not an object",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "params": [1]}),
        400,
        "params",
    ),
    (
        "unknown currency",
        lambda w: w.merchants[0].post(
            _promotions(w), json={**_PROMOTION, "params": {"tiers": [[20000, 2000]], "currency": "ZZZ"}}
        ),
        422,
        "params.currency",
    ),
    (
        "member price level 0",
        lambda w: w.merchants[0].post(
            _promotions(w), json={**_PROMOTION, "kind": "member_price", "params": {"entries": [["a", 0, 1]]}}
        ),
        422,
        "params.entries[0].level",
    ),
    (
        "params and tiers both",
        lambda w: w.merchants[0].post(
            _promotions(w), json={**_PROMOTION, "tiers": [{"threshold": 200, "discount": 10}]}
        ),
        422,
        "tiers",
    ),
    (
        "priority out of range",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "priority": 99999}),
        422,
        "priority",
    ),
    (
        "scope sku_ids a string",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "scope": {"sku_ids": "a"}}),
        400,
        "scope.sku_ids",
    ),
    (
        "ends before it starts",
        lambda w: w.merchants[0].post(
            _promotions(w),
            json={**_PROMOTION, "starts_at": "2030-02-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"},
        ),
        422,
        "ends_at",
    ),
    (
        "cross-shop reduction by a merchant",
        lambda w: w.merchants[0].post(_promotions(w), json={**_PROMOTION, "kind": "cross_shop_reduction"}),
        422,
        "shop_id",
    ),
    ("platform 满减", lambda w: w.operator.post("/admin/promotions", json=_PROMOTION), 422, "shop_id"),
    (
        "replace a missing promotion",
        lambda w: w.merchants[0].request("PUT", f"{_promotions(w)}/nope", json=_PROMOTION),
        404,
        None,
    ),
    (
        "template budget 0",
        lambda w: w.merchants[0].post(_templates(w), json={**_TEMPLATE, "budget": 0}),
        422,
        "budget",
    ),
    (
        "template budget a string",
        lambda w: w.merchants[0].post(_templates(w), json={**_TEMPLATE, "budget": "10"}),
        400,
        "budget",
    ),
    (
        "template promotion kind",
        lambda w: w.merchants[0].post(_templates(w), json={**_TEMPLATE, "kind": "full_discount"}),
        422,
        "kind",
    ),
    (
        "template negative value",
        lambda w: w.merchants[0].post(_templates(w), json={**_TEMPLATE, "params": {"value": -5}}),
        422,
        "params.value",
    ),
    (
        "template percent over 100%",
        lambda w: w.merchants[0].post(
            _templates(w), json={**_TEMPLATE, "kind": "percent_off", "params": {"off_bp": 20000}}
        ),
        422,
        "params.off_bp",
    ),
    (
        "template both validities",
        lambda w: w.merchants[0].post(
            _templates(w),
            json={**_TEMPLATE, "valid_from": "2030-01-01T00:00:00Z", "valid_until": "2030-03-01T00:00:00Z"},
        ),
        422,
        "valid_days",
    ),
    (
        "template naive claim_from",
        lambda w: w.merchants[0].post(_templates(w), json={**_TEMPLATE, "claim_from": "2030-01-01T00:00:00"}),
        400,
        "claim_from",
    ),
    (
        "template per-buyer limit 1000",
        lambda w: w.merchants[0].post(_templates(w), json={**_TEMPLATE, "per_buyer_limit": 1000}),
        422,
        "per_buyer_limit",
    ),
    (
        "template patch budget negative",
        lambda w: w.merchants[0].patch(
            f"{_templates(w)}/{w.merchants[0].ok('POST', _templates(w), 201, json=_TEMPLATE)['id']}",
            json={"budget": -1},
        ),
        422,
        "budget",
    ),
    (
        "template patch window and days",
        lambda w: w.merchants[0].patch(
            f"{_templates(w)}/{w.merchants[0].ok('POST', _templates(w), 201, json=_TEMPLATE)['id']}",
            json={"valid_days": 3, "valid_until": "2030-03-01T00:00:00Z"},
        ),
        422,
        "valid_days",
    ),
    ("claim a template of nobody", lambda w: w.buyer.post("/coupons/none/claim"), 404, None),
    (
        "coupons status unknown",
        lambda w: w.buyer.get("/me/coupons", params={"status": "lost"}),
        400,
        "status",
    ),
    ("available limit 0", lambda w: w.buyer.get("/coupons/available", params={"limit": 0}), 422, "limit"),
    (
        "member level 101",
        lambda w: w.operator.request(
            "PUT", f"/admin/users/{w.buyer.ok('GET', '/me')['id']}/member-level", json={"level": 101}
        ),
        422,
        "level",
    ),
    (
        "member level as string",
        lambda w: w.operator.request(
            "PUT", f"/admin/users/{w.buyer.ok('GET', '/me')['id']}/member-level", json={"level": "3"}
        ),
        400,
        "level",
    ),
]


@pytest.mark.parametrize(
    ("call", "status", "field"), [c[1:] for c in PROMOTION_CASES], ids=[c[0] for c in PROMOTION_CASES]
)
def test_bad_promotion_input_is_a_problem_naming_the_field(
    world: World, call: Call, status: int, field: str | None
) -> None:
    body = assert_problem(call(world), status)
    if field is not None:
        assert body.get("field") == field, body


def _flash_sale(world: World, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "sku_id": world.sku(0),
        "name": "秒杀",
        "price": 5000,
        "quota": 3,
        "per_buyer_limit": 1,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    body.update(overrides)
    return body


FLASH_SALE_FIELDS: list[tuple[dict[str, Any], int, str]] = [
    ({"price": "5000"}, 400, "price"),
    ({"price": 10000}, 422, "price"),  # not below the list price
    ({"price": -1}, 422, "price"),
    ({"quota": 0}, 422, "quota"),
    ({"quota": 11}, 422, "quota"),  # more than the 10 available
    ({"quota": 1.5}, 400, "quota"),
    ({"per_buyer_limit": 4}, 422, "per_buyer_limit"),  # above the quota
    ({"per_buyer_limit": None}, 400, "per_buyer_limit"),
    ({"starts_at": "2026-11-11T10:00:00"}, 400, "starts_at"),  # no timezone
    ({"ends_at": "soon"}, 400, "ends_at"),
    ({"ends_at": "2020-01-01T00:00:00+00:00"}, 422, "ends_at"),
    ({"name": ""}, 422, "name"),
    ({"sku_id": "nope"}, 422, "sku_id"),
    ({"sku_id": 7}, 400, "sku_id"),
]


@pytest.mark.parametrize(("overrides", "status", "field"), FLASH_SALE_FIELDS)
def test_bad_flash_sale_input_names_the_field(
    world: World, overrides: dict[str, Any], status: int, field: str
) -> None:
    path = f"/merchant/shops/{world.shop_ids[0]}/flash-sales"
    problem = assert_problem(world.merchants[0].post(path, json=_flash_sale(world, **overrides)), status)
    assert problem["field"] == field, problem


def test_flash_sales_of_another_shop_are_not_found_and_limits_are_409s_naming_the_sku(world: World) -> None:
    path = f"/merchant/shops/{world.shop_ids[0]}/flash-sales"
    other = world.merchants[1]
    assert_problem(other.post(path, json=_flash_sale(world)), 404, "not_found")
    assert_problem(world.merchants[0].post(path, json=_flash_sale(world, sku_id=world.sku(1))), 422)
    sale = world.merchants[0].ok("POST", path, 201, json=_flash_sale(world, quota=1))
    assert_problem(other.get(f"{path}/{sale['id']}"), 404, "not_found")
    assert_problem(other.post(f"{path}/{sale['id']}/cancel"), 404, "not_found")
    assert_problem(world.merchants[0].post(f"{path}/nope/cancel"), 404, "not_found")
    too_many = _checkout(world, items=[{"sku_id": world.sku(0), "quantity": 2}])
    body = assert_problem(world.buyer.post("/checkout", json=too_many), 409, "flash_sale_limit_reached")
    assert world.sku(0) in body["detail"]
    cod = assert_problem(world.buyer.post("/checkout", json=_checkout(world, payment_method="cod")), 422)
    assert cod["field"] == "payment_method"  # flash-sale items are paid online
    world.buyer.ok("POST", "/checkout", 201, json=_checkout(world))
    second = world.api.register("second@example.cn", "Second")
    address = second.ok("POST", "/me/addresses", 201, json=address_body())
    body = assert_problem(
        second.post("/checkout", json=_checkout(world, address_id=address["id"])), 409, "flash_sale_sold_out"
    )
    assert world.sku(0) in body["detail"]
    cod = _checkout(world, payment_method="cod", address_id=address["id"])
    cancelled = world.merchants[0].ok("POST", f"{path}/{sale['id']}/cancel")
    assert (cancelled["status"], cancelled["sold"], cancelled["remaining"]) == ("cancelled", 1, 0)
    (order,) = second.ok("POST", "/checkout", 201, json=cod)["orders"]  # ordinary stock, list price
    assert order["total"] >= 10000
