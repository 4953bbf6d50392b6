from __future__ import annotations

import pytest

from marketcore import Marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.shared.errors import InvalidInput
from marketcore.testing.scenarios import Scenario, a_marketplace_with


def level(s: Scenario, sku: int = 0) -> tuple[int, int]:
    fixture = s.shops[0]
    stock = s.marketplace.catalog.product(s.operator, fixture.product_ids[0]).stock[fixture.sku_ids[sku]]
    return stock.on_hand, stock.reserved


def pay(s: Scenario, checkout_id: str) -> None:
    payment = s.marketplace.payments.start(s.buyer, checkout_id, "sandbox")
    s.marketplace.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)


def test_deduct_on_payment_holds_nothing_at_checkout_and_deducts_when_paid(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    shop = s.shops[0]
    marketplace.shops.update_settings(shop.staff, shop.id, deduction_mode="deduct_on_payment")
    result = marketplace.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 2)]
    )
    assert level(s) == (5, 0)
    pay(s, result.checkout.id)
    assert level(s) == (3, 0)
    assert marketplace.ledger.check().ok


def test_stock_gone_at_payment_closes_the_order_and_refunds_it(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=2)
    shop, m = s.shops[0], marketplace
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], deduction_mode="deduct_on_payment")
    slow = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 2)])
    rival, address = s.new_buyer("rival")
    fast = m.checkout.checkout(rival, address, "sandbox", [ItemRequest(shop.sku_ids[0], 2)])
    payment = m.payments.start(rival, fast.checkout.id, "sandbox")
    m.payments.complete_sandbox(rival, payment.id, succeeded=True)
    late = m.payments.start(s.buyer, slow.checkout.id, "sandbox")
    late = m.payments.complete_sandbox(s.buyer, late.id, succeeded=True)
    order = m.orders.order(s.buyer, slow.orders[0].id)
    assert order.status is OrderStatus.CLOSED and order.close_reason == "out of stock at payment"
    assert [r.amount for r in late.refunds] == [late.amount]
    assert level(s) == (0, 0)
    assert m.ledger.check().ok


def test_a_sold_out_order_gives_back_what_it_had_already_deducted(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, listed_skus=2, stock=3)
    shop, m = s.shops[0], marketplace
    m.shops.update_settings(shop.staff, shop.id, deduction_mode="deduct_on_payment")
    items = [ItemRequest(shop.sku_ids[0], 1), ItemRequest(shop.sku_ids[1], 3)]
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[1], stock_delta=-1, reason="damaged")
    pay(s, result.checkout.id)
    assert m.orders.order(s.buyer, result.orders[0].id).status is OrderStatus.CLOSED
    assert (level(s, 0), level(s, 1)) == ((3, 0), (2, 0))
    assert m.ledger.check().ok


def test_a_sku_can_follow_its_shops_mode_again(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    shop, m = s.shops[0], marketplace
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], deduction_mode="deduct_on_payment")
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], deduction_mode="shop")
    m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 1)])
    assert level(s) == (5, 1)
    with pytest.raises(InvalidInput):
        m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], deduction_mode="whenever")


def test_checkout_in_deduct_mode_still_refuses_what_is_not_there(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=1)
    shop = s.shops[0]
    marketplace.shops.update_settings(shop.staff, shop.id, deduction_mode="deduct_on_payment")
    with pytest.raises(InsufficientStock):
        marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 2)])


def test_cash_on_delivery_in_deduct_mode_deducts_at_shipment(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=3)
    shop, m = s.shops[0], marketplace
    m.shops.update_settings(shop.staff, shop.id, deduction_mode="deduct_on_payment")
    result = m.checkout.checkout(s.buyer, s.address_id, "cod", [ItemRequest(shop.sku_ids[0], 2)])
    assert level(s) == (3, 0)
    m.orders.ship(shop.staff, shop.id, result.orders[0].id, "SF", "1")
    assert level(s) == (1, 0)
    assert m.ledger.check().ok
