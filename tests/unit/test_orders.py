from __future__ import annotations

import pytest

from marketcore import Marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.application.reviews.services import OrderNotReviewable
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.ordering.orders import (
    OrderNotCancellable,
    OrderNotConfirmable,
    OrderNotShippable,
    OrderStatus,
)
from marketcore.domain.shared.errors import AlreadyExists, InvalidInput
from marketcore.testing.scenarios import Scenario, a_marketplace_with


def paid_order(s: Scenario, quantity: int = 2) -> str:
    m = s.marketplace
    result = m.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], quantity)]
    )
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
    return result.orders[0].id


def test_cancelling_an_unpaid_order_closes_it_and_releases_stock(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=4)
    shop = s.shops[0]
    result = marketplace.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 3)]
    )
    order = marketplace.orders.cancel(s.buyer, result.orders[0].id)
    assert order.status is OrderStatus.CLOSED
    assert [t.to_status for t in order.history] == [OrderStatus.PENDING_PAYMENT, OrderStatus.CLOSED]
    level = marketplace.catalog.product(s.operator, shop.product_ids[0]).stock[shop.sku_ids[0]]
    assert (level.on_hand, level.reserved) == (4, 0)


def test_cancelling_a_paid_order_before_shipment_refunds_and_restocks(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=4)
    shop, m = s.shops[0], marketplace
    order = m.orders.cancel(s.buyer, paid_order(s, quantity=3))
    assert order.status is OrderStatus.CLOSED
    level = m.catalog.product(s.operator, shop.product_ids[0]).stock[shop.sku_ids[0]]
    assert (level.on_hand, level.reserved) == (4, 0)
    (payment,) = [
        p for p in m.payments.checkout_payments(s.buyer, order.checkout_id) if p.status.value == "succeeded"
    ]
    assert [(r.amount, r.order_id, r.status.value) for r in payment.refunds] == [
        (order.total, order.id, "succeeded")
    ]


def test_a_shipped_order_cannot_be_cancelled(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop, m = s.shops[0], marketplace
    order_id = paid_order(s)
    m.orders.ship(shop.staff, shop.id, order_id, "SF", "SF1")
    with pytest.raises(OrderNotCancellable):
        m.orders.cancel(s.buyer, order_id)


def test_cannot_ship_an_unpaid_order(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    result = marketplace.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 1)]
    )
    with pytest.raises(OrderNotShippable):
        marketplace.orders.ship(shop.staff, shop.id, result.orders[0].id, "SF", "SF1")


def test_partial_shipments_ship_the_order_when_every_unit_has_left(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop, m = s.shops[0], marketplace
    order_id = paid_order(s, quantity=3)
    line_id = m.orders.order(s.buyer, order_id).lines[0].id
    order = m.orders.ship(shop.staff, shop.id, order_id, "SF", "SF1", {line_id: 1})
    assert order.status is OrderStatus.AWAITING_SHIPMENT
    with pytest.raises(InvalidInput):
        m.orders.ship(shop.staff, shop.id, order_id, "SF", "SF2", {line_id: 3})
    order = m.orders.ship(shop.staff, shop.id, order_id, "YTO", "YT2")
    assert order.status is OrderStatus.SHIPPED
    assert [sh.lines[0].quantity for sh in order.shipments] == [1, 2]


def test_confirming_receipt_completes_and_then_each_line_takes_one_review(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop, m = s.shops[0], marketplace
    order_id = paid_order(s)
    line_id = m.orders.order(s.buyer, order_id).lines[0].id
    with pytest.raises(OrderNotConfirmable):
        m.orders.confirm_receipt(s.buyer, order_id)
    with pytest.raises(OrderNotReviewable):
        m.reviews.write(s.buyer, order_id, line_id, 5, "early")
    m.orders.ship(shop.staff, shop.id, order_id, "SF", "SF1")
    assert m.orders.confirm_receipt(s.buyer, order_id).status is OrderStatus.COMPLETED
    m.reviews.write(s.buyer, order_id, line_id, 4, "good", anonymous=True)
    with pytest.raises(AlreadyExists):
        m.reviews.write(s.buyer, order_id, line_id, 1, "again")
    page, summary = m.reviews.for_product(shop.product_ids[0], PageRequest())
    assert (summary.count, summary.average, summary.good_rate) == (1, 4.0, 1.0)
    assert page.items[0].author_name == "b***r"


def test_cash_on_delivery_stock_leaves_the_ledger_at_shipment(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    shop, m = s.shops[0], marketplace
    result = m.checkout.checkout(s.buyer, s.address_id, "cod", [ItemRequest(shop.sku_ids[0], 2)])
    m.orders.ship(shop.staff, shop.id, result.orders[0].id, "SF", "SF1")
    level = m.catalog.product(s.operator, shop.product_ids[0]).stock[shop.sku_ids[0]]
    assert (level.on_hand, level.reserved) == (3, 0)
    payment = m.payments.collect_on_delivery(shop.staff, shop.id, result.orders[0].id)
    assert (payment.status.value, payment.amount) == ("succeeded", result.orders[0].total)
    order = m.orders.confirm_receipt(s.buyer, result.orders[0].id)
    assert order.status is OrderStatus.COMPLETED and order.is_paid


def test_shipping_a_line_the_order_does_not_have_is_bad_input(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    with pytest.raises(InvalidInput) as error:
        marketplace.orders.ship(shop.staff, shop.id, paid_order(s), "SF", "SF1", {"no-such-line": 1})
    assert error.value.field == "lines"
