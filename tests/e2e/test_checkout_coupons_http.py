"""Coupons at checkout over HTTP: preview breakdown and suggestion, locking, return, use, bad choices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .conftest import World, assert_problem, coupon_template


def _template(**overrides: Any) -> dict[str, Any]:
    return coupon_template(**{"budget": 10, "per_buyer_limit": 2, **overrides})


def _claim(world: World, template: dict[str, Any]) -> str:
    coupon_id: str = world.buyer.ok("POST", f"/coupons/{template['id']}/claim", 201)["id"]
    return coupon_id


def _body(world: World, coupon_ids: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "address_id": world.address["id"],
        "items": [{"sku_id": world.sku(0), "quantity": 1}, {"sku_id": world.sku(1), "quantity": 1}],
        **extra,
    }
    if coupon_ids is not None:
        body["coupon_ids"] = coupon_ids
    return body


def _coupons(world: World) -> dict[str, str]:
    return {c["id"]: c["status"] for c in world.buyer.ok("GET", "/me/coupons")["items"]}


def _setup(world: World) -> tuple[str, str]:
    """A shop coupon of shop 0 (¥10 off ¥100), a platform coupon (10% off, cap ¥20) and a
    跨店满减 (¥15 off ¥150); the buyer holds one of each coupon."""
    shop = world.merchants[0].ok(
        "POST", f"/merchant/shops/{world.shop_ids[0]}/coupon-templates", 201, json=_template()
    )
    platform = world.operator.ok(
        "POST",
        "/admin/coupon-templates",
        201,
        json=_template(name="平台券", kind="percent_off", params={"off_bp": 1000, "cap": 2000}),
    )
    now = datetime.now(UTC)
    world.operator.ok(
        "POST",
        "/admin/promotions",
        201,
        json={
            "name": "跨店满150减15",
            "kind": "cross_shop_reduction",
            "params": {"tiers": [[15000, 1500]]},
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
        },
    )
    return _claim(world, shop), _claim(world, platform)


def test_preview_shows_the_breakdown_and_suggests_the_best_coupons(world: World) -> None:
    shop_coupon, platform_coupon = _setup(world)
    bare = world.buyer.ok("POST", "/checkout/preview", json=_body(world))
    # 100.00 (shop 0) + 100.00 (shop 1); the 跨店满减 takes 15.00 split over both shops.
    assert (bare["subtotal"], bare["discount"], bare["total"], bare["coupon_ids"]) == (20000, 1500, 18500, [])
    assert [(a["kind"], a["amount"], a["funder"]) for a in bare["applied"]] == [
        ("cross_shop_reduction", 1500, "platform")
    ]
    suggestion = bare["suggestion"]
    assert sorted(suggestion["coupon_ids"]) == sorted([shop_coupon, platform_coupon])
    # shop coupon 10.00, then 跨店满减 15.00 on 190.00, then 10% of 175.00 = 17.50
    assert suggestion["total"] == 20000 - 1000 - 1500 - 1750
    assert suggestion["saving"] == suggestion["saves"] == 1000 + 1750

    chosen = world.buyer.ok("POST", "/checkout/preview", json=_body(world, [shop_coupon]))
    assert chosen["coupon_ids"] == [shop_coupon] and chosen["total"] == 20000 - 1000 - 1500
    shop0 = next(s for s in chosen["shops"] if s["shop_id"] == world.shop_ids[0])
    assert shop0["coupon_id"] == shop_coupon
    coupon_part = shop0["lines"][0]["allocations"][0]
    assert (coupon_part["promotion_id"], coupon_part["coupon"], coupon_part["funder"]) == (
        shop_coupon,
        True,
        "shop",
    )
    assert chosen["suggestion"]["saves"] == 1750
    assert _coupons(world) == {shop_coupon: "available", platform_coupon: "available"}


def test_checkout_locks_the_coupons_cancel_returns_them_and_payment_uses_them(world: World) -> None:
    shop_coupon, platform_coupon = _setup(world)
    body = _body(world, [shop_coupon, platform_coupon], payment_method="sandbox")
    placed = world.buyer.ok("POST", "/checkout", 201, json=body)
    assert sorted(placed["coupon_ids"]) == sorted([shop_coupon, platform_coupon])
    assert placed["amount_due"] == sum(o["total"] for o in placed["orders"]) == 20000 - 1000 - 1500 - 1750
    assert _coupons(world) == {shop_coupon: "locked", platform_coupon: "locked"}
    order = world.buyer.ok("GET", f"/orders/{placed['orders'][0]['id']}")
    assert {a["kind"] for a in order["lines"][0]["allocations"]} >= {"fixed_amount", "percent_off"}
    assert sorted(order["coupon_ids"]) == sorted([shop_coupon, platform_coupon])
    assert order["shipping_waiver"] is None
    assert_problem(world.buyer.post("/checkout", json=body), 409, "coupon_not_usable")

    for o in placed["orders"]:
        world.buyer.ok("POST", f"/orders/{o['id']}/cancel", json={})
    assert _coupons(world) == {shop_coupon: "available", platform_coupon: "available"}

    again = world.buyer.ok("POST", "/checkout", 201, json=body)
    payment = world.buyer.ok(
        "POST", f"/checkouts/{again['checkout_id']}/payments", 201, json={"gateway": "sandbox"}
    )
    world.buyer.ok(
        "POST", f"/payments/{payment['payment_id']}/sandbox-complete", json={"outcome": "succeeded"}
    )
    assert _coupons(world) == {shop_coupon: "used", platform_coupon: "used"}


def test_bad_coupon_choices_are_problems_naming_the_coupon(world: World) -> None:
    shop_coupon, platform_coupon = _setup(world)
    second = world.merchants[0].ok(
        "POST",
        f"/merchant/shops/{world.shop_ids[0]}/coupon-templates",
        201,
        json=_template(name="¥5 off", params={"value": 500}),
    )
    second_coupon = _claim(world, second)
    other = world.api.register("other@example.cn", "Other")
    other_template = world.operator.ok("POST", "/admin/coupon-templates", 201, json=_template(name="别人的"))
    theirs = other.ok("POST", f"/coupons/{other_template['id']}/claim", 201)["id"]
    for path in ("/checkout/preview", "/checkout"):
        extra = {"payment_method": "sandbox"} if path == "/checkout" else {}
        cases: list[tuple[Any, int, str, str]] = [
            ([theirs], 422, "validation_error", "coupon_ids[0]"),
            ([platform_coupon, "nope"], 422, "validation_error", "coupon_ids[1]"),
            ([shop_coupon, second_coupon], 422, "validation_error", "coupon_ids[1]"),
            ([shop_coupon, shop_coupon], 422, "validation_error", "coupon_ids[1]"),
            ([""], 422, "validation_error", "coupon_ids[0]"),
            (["x" * 65], 422, "validation_error", "coupon_ids[0]"),
            (["c"] * 21, 422, "validation_error", "coupon_ids"),
            ("not-a-list", 400, "invalid_request", "coupon_ids"),
            ([1], 400, "invalid_request", "coupon_ids[0]"),
            ([None], 400, "invalid_request", "coupon_ids[0]"),
        ]
        for coupon_ids, status, code, field in cases:
            response = world.buyer.post(path, json=_body(world, coupon_ids, **extra))
            problem = assert_problem(response, status, code)
            assert problem.get("field") == field or field in problem["detail"], (path, coupon_ids, problem)
    assert _coupons(world) == {
        shop_coupon: "available",
        platform_coupon: "available",
        second_coupon: "available",
    }
