"""Promotions, coupon templates, claiming and member levels over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import World, assert_problem, coupon_template


def _window(days: int = 1) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "starts_at": (now - timedelta(days=days)).isoformat(),
        "ends_at": (now + timedelta(days=days)).isoformat(),
    }


def test_merchants_manage_promotions_of_any_kind(world: World) -> None:
    merchant, shop = world.merchants[0], world.shop_ids[0]
    base = f"/merchant/shops/{shop}/promotions"
    discount = merchant.ok(
        "POST",
        base,
        201,
        json={
            "name": "满100打95折",
            "kind": "full_discount",
            "params": {"tiers": [[10000, 500]]},
            "scope": {"sku_ids": [world.sku(0)]},
            "priority": 10,
            **_window(),
        },
    )
    assert (discount["kind"], discount["shop_id"], discount["funder"]) == ("full_discount", shop, "shop")
    assert discount["params"] == {"currency": "CNY", "tiers": [[10000, 500]]}
    assert discount["scope"]["sku_ids"] == [world.sku(0)] and discount["tiers"] == []
    member = merchant.ok(
        "POST",
        base,
        201,
        json={"name": "会员价", "kind": "member_price", "params": {"entries": [[world.sku(0), 2, 9000]]}},
    )
    assert member["starts_at"] is None and member["ends_at"] is None
    listed = merchant.ok("GET", base, params={"limit": 1})
    assert [p["id"] for p in listed["items"]] == [member["id"]] and listed["next_cursor"]
    assert merchant.ok("GET", f"{base}/{discount['id']}")["name"] == "满100打95折"

    replaced = merchant.ok(
        "PUT",
        f"{base}/{discount['id']}",
        json={
            "name": "满200打9折",
            "kind": "full_discount",
            "params": {"tiers": [[20000, 1000]]},
            **_window(),
        },
    )
    assert replaced["id"] == discount["id"] and replaced["params"]["tiers"] == [[20000, 1000]]
    assert replaced["priority"] is None
    stopped = merchant.ok("POST", f"{base}/{discount['id']}/stop")
    assert stopped["enabled"] is False

    other = world.merchants[1]
    assert_problem(other.get(f"{base}/{discount['id']}"), 404, "not_found")
    assert_problem(
        other.get(f"/merchant/shops/{world.shop_ids[1]}/promotions/{discount['id']}"), 404, "not_found"
    )


def test_the_skeletons_full_reduction_body_still_works(world: World) -> None:
    merchant, shop = world.merchants[0], world.shop_ids[0]
    body = {"name": "满200减30", "tiers": [{"threshold": 20000, "discount": 3000}], **_window()}
    created = merchant.ok("POST", f"/merchant/shops/{shop}/promotions", 201, json=body)
    assert created["kind"] == "full_reduction" and created["tiers"] == [
        {"threshold": 20000, "discount": 3000}
    ]
    assert created["params"]["tiers"] == [[20000, 3000]]


def test_operators_manage_platform_promotions(world: World) -> None:
    body = {
        "name": "跨店满300减30",
        "kind": "cross_shop_reduction",
        "params": {"tiers": [[30000, 3000]]},
        **_window(),
    }
    created = world.operator.ok("POST", "/admin/promotions", 201, json=body)
    assert (created["shop_id"], created["funder"]) == (None, "platform")
    assert [p["id"] for p in world.operator.ok("GET", "/admin/promotions")["items"]] == [created["id"]]
    assert world.operator.ok("GET", f"/admin/promotions/{created['id']}")["kind"] == "cross_shop_reduction"
    assert world.operator.ok("POST", f"/admin/promotions/{created['id']}/stop")["enabled"] is False
    assert_problem(world.merchants[0].post("/admin/promotions", json=body), 403, "forbidden")
    assert_problem(world.buyer.get("/admin/promotions"), 403, "forbidden")


def test_coupon_templates_claims_and_held_coupons(world: World) -> None:
    merchant, shop = world.merchants[0], world.shop_ids[0]
    base = f"/merchant/shops/{shop}/coupon-templates"
    template = merchant.ok("POST", base, 201, json=coupon_template())
    assert (template["issued"], template["remaining"], template["status"]) == (0, 2, "active")
    platform = world.operator.ok(
        "POST",
        "/admin/coupon-templates",
        201,
        json=coupon_template(
            name="平台券", kind="percent_off", params={"off_bp": 1000, "cap": 2000}, budget=5
        ),
    )
    assert platform["funder"] == "platform"

    available = world.buyer.ok("GET", "/coupons/available")
    assert [(a["template"]["id"], a["claimed"], a["can_claim"]) for a in available["items"]] == [
        (platform["id"], 0, True),
        (template["id"], 0, True),
    ]
    assert [
        a["template"]["id"]
        for a in world.buyer.ok("GET", "/coupons/available", params={"shop_id": shop})["items"]
    ] == [template["id"]]

    coupon = world.buyer.ok("POST", f"/coupons/{template['id']}/claim", 201)
    assert (coupon["template_id"], coupon["status"], coupon["usable"], coupon["shop_id"]) == (
        template["id"],
        "available",
        True,
        shop,
    )
    assert_problem(world.buyer.post(f"/coupons/{template['id']}/claim"), 409, "coupon_claim_limit_reached")
    other = world.api.register("other@example.cn", "Other")
    other.ok("POST", f"/coupons/{template['id']}/claim", 201)
    late = world.api.register("late@example.cn", "Late")
    assert_problem(late.post(f"/coupons/{template['id']}/claim"), 409, "coupon_budget_exhausted")
    assert_problem(late.post("/coupons/nope/claim"), 404, "not_found")

    mine = world.buyer.ok("GET", "/me/coupons")
    assert [c["id"] for c in mine["items"]] == [coupon["id"]]
    assert world.buyer.ok("GET", "/me/coupons", params={"status": "used"})["items"] == []
    after = merchant.ok("GET", f"{base}/{template['id']}")
    assert (after["issued"], after["remaining"]) == (2, 0)

    # once claimed, only safe fields change
    assert_problem(
        merchant.patch(f"{base}/{template['id']}", json={"params": {"value": 5000}}),
        409,
        "coupon_template_claimed",
    )
    renamed = merchant.ok("PATCH", f"{base}/{template['id']}", json={"name": "renamed", "budget": 3})
    assert (renamed["name"], renamed["remaining"]) == ("renamed", 1)
    stopped = merchant.ok("POST", f"{base}/{template['id']}/stop")
    assert stopped["status"] == "stopped"
    assert_problem(late.post(f"/coupons/{template['id']}/claim"), 409, "coupon_not_claimable")
    assert [t["id"] for t in merchant.ok("GET", base)["items"]] == [template["id"]]
    assert_problem(world.merchants[1].get(f"{base}/{template['id']}"), 404, "not_found")
    assert_problem(world.api.get("/me/coupons"), 401, "unauthenticated")


def test_operators_set_member_levels(world: World) -> None:
    buyer_id = world.buyer.ok("GET", "/me")["id"]
    assert world.buyer.ok("GET", "/me")["member_level"] == 0
    set_level = world.operator.ok("PUT", f"/admin/users/{buyer_id}/member-level", json={"level": 4})
    assert set_level == {"user_id": buyer_id, "member_level": 4}
    assert world.buyer.ok("GET", "/me")["member_level"] == 4
    assert_problem(
        world.buyer.request("PUT", f"/admin/users/{buyer_id}/member-level", json={"level": 9}),
        403,
        "forbidden",
    )
    assert_problem(
        world.operator.request("PUT", "/admin/users/nobody/member-level", json={"level": 1}), 404, "not_found"
    )
