"""Payments over HTTP: provider webhooks through the inbox, operator refunds, cash on delivery."""

from __future__ import annotations

import json
from typing import Any

from marketcore.adapters.gateways.sandbox import SandboxGateway
from marketcore.domain.shared.money import Money

from .conftest import World, assert_problem


def _sandbox(world: World) -> SandboxGateway:
    gateway = world.marketplace.container.gateways()["sandbox"]
    assert isinstance(gateway, SandboxGateway)
    return gateway


def _started(world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    placed = world.checkout("sandbox", quantity=2)
    payment = world.buyer.ok(
        "POST", f"/checkouts/{placed['checkout_id']}/payments", 201, json={"gateway": "sandbox"}
    )
    return placed, payment


def test_a_webhook_pays_the_checkout_once_however_often_it_arrives(world: World) -> None:
    placed, payment = _started(world)
    raw = _sandbox(world).settle(payment["payment_id"], Money(payment["amount"]), succeeded=True)
    for _ in range(3):
        response = world.api.post("/webhooks/payments/sandbox", content=raw.body, headers=dict(raw.headers))
        assert response.status_code == 200, response.text
    paid = world.buyer.ok("GET", f"/payments/{payment['payment_id']}")
    assert paid["status"] == "succeeded" and paid["review"] is None
    order = world.buyer.ok("GET", f"/orders/{placed['orders'][0]['id']}")
    assert order["status"] == "awaiting_shipment"
    listed = world.buyer.ok("GET", f"/checkouts/{placed['checkout_id']}/payments")
    assert [p["payment_id"] for p in listed] == [payment["payment_id"]]


def test_a_forged_webhook_is_a_400_and_changes_nothing(world: World) -> None:
    _, payment = _started(world)
    body = json.dumps({"id": "evt_x", "payment_id": payment["payment_id"], "status": "succeeded",
                       "amount": payment["amount"], "currency": "CNY"}).encode()  # fmt: skip
    forged = world.api.post(
        "/webhooks/payments/sandbox", content=body, headers={"sandbox-signature": "f" * 64}
    )
    assert_problem(forged, 400, "invalid_notification")
    assert_problem(world.api.post("/webhooks/payments/paypal", content=body), 404, "not_found")
    assert world.buyer.ok("GET", f"/payments/{payment['payment_id']}")["status"] == "requires_action"


def test_a_webhook_for_another_amount_flags_the_payment_for_operators(world: World) -> None:
    _, payment = _started(world)
    body = json.dumps({"id": "evt_short", "payment_id": payment["payment_id"], "status": "succeeded",
                       "amount": payment["amount"] - 100, "currency": "CNY"}).encode()  # fmt: skip
    raw = _sandbox(world).signed(body)
    world.api.post("/webhooks/payments/sandbox", content=raw.body, headers=dict(raw.headers))
    flagged = world.operator.ok("GET", "/admin/payments", params={"flagged": "true"})["items"]
    assert [(p["payment_id"], p["status"], p["review"]["reported_amount"]) for p in flagged] == [
        (payment["payment_id"], "requires_action", payment["amount"] - 100)
    ]
    assert_problem(world.buyer.get("/admin/payments"), 403, "forbidden")


def test_operator_refunds_a_part_of_one_order_idempotently(world: World) -> None:
    placed, payment = _started(world)
    world.buyer.ok(
        "POST", f"/payments/{payment['payment_id']}/sandbox-complete", json={"outcome": "succeeded"}
    )
    path = f"/admin/payments/{payment['payment_id']}/refunds"
    body = {"amount": 1500, "reason": "scratched screen"}
    first = world.operator.ok("POST", path, 201, json=body, headers={"Idempotency-Key": "rf-1"})
    again = world.operator.ok("POST", path, 201, json=body, headers={"Idempotency-Key": "rf-1"})
    assert first["id"] == again["id"]
    assert (first["status"], first["order_id"], first["amount"]) == (
        "succeeded",
        placed["orders"][0]["id"],
        1500,
    )
    other = world.operator.post(path, json={**body, "amount": 1600}, headers={"Idempotency-Key": "rf-1"})
    assert_problem(other, 409, "idempotency_key_reused")
    too_much = world.operator.post(path, json={"amount": placed["amount_due"], "reason": "all of it"})
    assert_problem(too_much, 409, "refund_exceeds_capture")
    assert_problem(world.operator.post(path, json={"amount": -5, "reason": "x"}), 422, "validation_error")
    assert_problem(world.buyer.post(path, json=body), 403, "forbidden")
    assert [r["id"] for r in world.buyer.ok("GET", f"/payments/{payment['payment_id']}")["refunds"]] == [
        first["id"]
    ]


def test_a_buyer_cancelling_a_paid_order_gets_the_money_back(world: World) -> None:
    placed, payment = _started(world)
    world.buyer.ok(
        "POST", f"/payments/{payment['payment_id']}/sandbox-complete", json={"outcome": "succeeded"}
    )
    order_id = placed["orders"][0]["id"]
    closed = world.buyer.ok("POST", f"/orders/{order_id}/cancel", json={"reason": "changed my mind"})
    assert closed["status"] == "closed"
    refunds = world.buyer.ok("GET", f"/payments/{payment['payment_id']}")["refunds"]
    assert [(r["amount"], r["status"], r["order_id"]) for r in refunds] == [
        (placed["orders"][0]["total"], "succeeded", order_id)
    ]


def test_cash_on_delivery_refused_at_the_door(world: World) -> None:
    placed = world.checkout("cod", quantity=1)
    order = placed["orders"][0]
    merchant, shop_id = world.merchants[0], world.shop_ids[0]
    base = f"/merchant/shops/{shop_id}/orders/{order['id']}"
    merchant.ok("POST", f"{base}/shipments", 201, json={"carrier_code": "SF", "tracking_no": "SF1"})
    refused = merchant.ok("POST", f"{base}/cod-refusal", json={"reason": "nobody home, twice"})
    assert (refused["status"], refused["close_reason"]) == ("closed", "nobody home, twice")
    assert_problem(merchant.post(f"{base}/cod-collection"), 409, "order_not_payable")
    other_shop = f"/merchant/shops/{world.shop_ids[1]}/orders/{order['id']}/cod-collection"
    assert_problem(world.merchants[1].post(other_shop), 404, "not_found")
