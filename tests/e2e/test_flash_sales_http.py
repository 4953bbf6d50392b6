"""Flash sales over HTTP: a merchant schedules one, anyone sees it with the quota left, a buyer
pays the sale price with a 5-minute deadline, and cancelling the unpaid order gives the unit back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .conftest import World


def test_a_flash_sale_from_scheduling_to_a_returned_unit(world: World) -> None:
    now = datetime.now(UTC)
    merchant, shop_id, sku_id = world.merchants[0], world.shop_ids[0], world.sku(0)
    path = f"/merchant/shops/{shop_id}/flash-sales"
    body = {
        "sku_id": sku_id,
        "name": "双十一秒杀",
        "price": 6600,
        "quota": 4,
        "per_buyer_limit": 2,
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    sale = merchant.ok("POST", path, 201, json=body)
    assert (sale["status"], sale["remaining"], sale["running"], sale["payment_window_seconds"]) == (
        "scheduled",
        4,
        True,
        300,
    )
    upcoming = dict(
        body, starts_at=(now + timedelta(hours=2)).isoformat(), ends_at=(now + timedelta(hours=3)).isoformat()
    )
    later = merchant.ok("POST", path, 201, json=upcoming)
    listed = world.api.get("/flash-sales").json()["items"]  # public: no token
    assert [(s["id"], s["running"]) for s in listed] == [(sale["id"], True), (later["id"], False)]

    detail = world.api.get(f"/products/{world.products[0]['id']}").json()
    stock = {s["id"]: s for s in detail["skus"]}[sku_id]
    assert stock["available"] == 10 - 4 - 4  # both quotas are set aside from ordinary stock

    order_body = {
        "address_id": world.address["id"],
        "payment_method": "sandbox",
        "items": [{"sku_id": sku_id, "quantity": 2}],
    }
    placed = world.buyer.ok("POST", "/checkout", 201, json=order_body)
    (summary,) = placed["orders"]
    order = world.buyer.ok("GET", f"/orders/{summary['id']}")
    (line,) = order["lines"]
    assert (line["unit_price"], line["flash_sale_id"]) == (6600, sale["id"])
    assert placed["amount_due"] == order["total"] == 2 * 6600 + order["shipping"]
    deadline = datetime.fromisoformat(order["payment_deadline"])
    assert timedelta(minutes=4) < deadline - now <= timedelta(minutes=6)
    assert merchant.ok("GET", f"{path}/{sale['id']}")["remaining"] == 2

    world.buyer.ok("POST", f"/orders/{summary['id']}/cancel")
    assert merchant.ok("GET", f"{path}/{sale['id']}")["remaining"] == 4
    mine = merchant.ok("GET", path)["items"]
    assert {s["id"] for s in mine} == {sale["id"], later["id"]}
    cancelled = merchant.ok("POST", f"{path}/{later['id']}/cancel")
    assert cancelled["status"] == "cancelled"
    assert [s["id"] for s in world.api.get("/flash-sales").json()["items"]] == [sale["id"]]
