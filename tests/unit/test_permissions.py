from __future__ import annotations

import pytest

from marketcore import Marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import Forbidden, NotFound, Unauthenticated
from marketcore.testing.scenarios import a_marketplace_with


def test_another_buyers_order_does_not_exist_for_you(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    result = marketplace.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)]
    )
    stranger, _ = s.new_buyer("stranger")
    order_id = result.orders[0].id
    for attempt in (
        lambda: marketplace.orders.order(stranger, order_id),
        lambda: marketplace.orders.cancel(stranger, order_id),
        lambda: marketplace.orders.confirm_receipt(stranger, order_id),
        lambda: marketplace.payments.start(stranger, result.checkout.id, "sandbox"),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert marketplace.orders.buyer_orders(stranger, None, PageRequest()).items == []


def test_shop_staff_see_only_their_own_shop(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    mine, theirs = s.shops
    result = marketplace.checkout.checkout(s.buyer, s.address_id, "cod", [ItemRequest(theirs.sku_ids[0], 1)])
    with pytest.raises(NotFound):
        marketplace.orders.shop_orders(mine.staff, theirs.id, None, PageRequest())
    with pytest.raises(NotFound):
        marketplace.orders.ship(mine.staff, theirs.id, result.orders[0].id, "SF", "1")
    with pytest.raises(NotFound):
        marketplace.orders.ship(mine.staff, mine.id, result.orders[0].id, "SF", "1")
    with pytest.raises(NotFound):
        marketplace.catalog.update_sku(mine.staff, theirs.id, theirs.sku_ids[0], price=1)
    with pytest.raises(NotFound):
        marketplace.orders.order(mine.staff, result.orders[0].id)
    assert marketplace.orders.order(theirs.staff, result.orders[0].id).id == result.orders[0].id


def test_operator_commands_refuse_everyone_else(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    with pytest.raises(Forbidden):
        marketplace.catalog.create_category(s.buyer, "Hacked", None, 0)
    with pytest.raises(Forbidden):
        marketplace.shops.suspend(s.shops[0].staff, s.shops[0].id, "self-suspend")
    with pytest.raises(Unauthenticated):
        marketplace.cart.view(Actor.anonymous())


def test_a_draft_product_is_invisible_to_the_public_but_not_to_its_shop(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    marketplace.catalog.delist(shop.staff, shop.id, shop.product_ids[0])
    with pytest.raises(NotFound):
        marketplace.catalog.product(Actor.anonymous(), shop.product_ids[0])
    assert marketplace.catalog.product(shop.staff, shop.product_ids[0]).product.id == shop.product_ids[0]


def test_a_shops_promotions_are_listed_only_to_its_staff(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2, full_reduction=(10000, 500))
    mine, theirs = s.shops
    assert len(marketplace.promotions.for_shop(mine.staff, mine.id)) == 1
    with pytest.raises(NotFound):
        marketplace.promotions.for_shop(mine.staff, theirs.id)
