from __future__ import annotations

from datetime import timedelta

import pytest

from marketcore import Marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.ordering.orders import OrderStatus, ReceiptNotExtendable
from marketcore.testing.scenarios import Scenario, a_marketplace_with


def level(s: Scenario, shop: int = 0, sku: int = 0) -> tuple[int, int]:
    fixture = s.shops[shop]
    stock = s.marketplace.catalog.product(s.operator, fixture.product_ids[0]).stock[fixture.sku_ids[sku]]
    return stock.on_hand, stock.reserved


def shipped_order(s: Scenario) -> str:
    m, shop = s.marketplace, s.shops[0]
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 1)])
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
    m.orders.ship(shop.staff, shop.id, result.orders[0].id, "SF", "SF1")
    return result.orders[0].id


def test_an_unpaid_order_closes_at_its_payment_deadline_and_releases_its_stock(
    marketplace: Marketplace, clock: FrozenClock
) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    m = marketplace
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 2)])
    clock.advance(timedelta(minutes=29))
    assert m.due_work.run_due_work().closed_unpaid == 0
    assert level(s) == (5, 2)
    clock.advance(timedelta(minutes=1))
    assert m.due_work.run_due_work().closed_unpaid == 1
    order = m.orders.order(s.buyer, result.orders[0].id)
    assert order.status is OrderStatus.CLOSED and order.close_reason == "payment deadline passed"
    assert order.history[-1].actor == "system"
    assert level(s) == (5, 0)
    assert m.due_work.run_due_work().total == 0  # nothing twice


def test_cash_on_delivery_orders_have_no_payment_deadline(
    marketplace: Marketplace, clock: FrozenClock
) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    marketplace.checkout.checkout(s.buyer, s.address_id, "cod", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    clock.advance(timedelta(days=30))
    assert marketplace.due_work.run_due_work().total == 0


def test_shipped_orders_complete_by_themselves_ten_days_after_shipment(
    marketplace: Marketplace, clock: FrozenClock
) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    order_id = shipped_order(s)
    clock.advance(timedelta(days=10) - timedelta(seconds=1))
    assert marketplace.due_work.run_due_work().completed == 0
    clock.advance(timedelta(seconds=1))
    assert marketplace.due_work.run_due_work().completed == 1
    assert marketplace.orders.order(s.buyer, order_id).status is OrderStatus.COMPLETED


def test_the_buyer_may_extend_the_receipt_window_once(marketplace: Marketplace, clock: FrozenClock) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    order_id = shipped_order(s)
    order = marketplace.orders.extend_receipt(s.buyer, order_id)
    assert order.receipt_extended
    with pytest.raises(ReceiptNotExtendable):
        marketplace.orders.extend_receipt(s.buyer, order_id)
    clock.advance(timedelta(days=12))
    assert marketplace.due_work.run_due_work().completed == 0
    clock.advance(timedelta(days=1))
    assert marketplace.due_work.run_due_work().completed == 1


def test_a_payment_that_arrives_after_the_order_closed_is_refunded(
    marketplace: Marketplace, clock: FrozenClock
) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    m = marketplace
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    clock.advance(timedelta(minutes=31))
    m.due_work.run_due_work()
    payment = m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
    assert payment.refundable.amount == 0
    assert [(r.amount, r.status.value) for r in payment.refunds] == [(payment.amount, "succeeded")]
    assert m.orders.order(s.buyer, result.orders[0].id).status is OrderStatus.CLOSED
    assert level(s) == (5, 0)
    assert m.ledger.check().ok
