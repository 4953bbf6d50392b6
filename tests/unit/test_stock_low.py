from __future__ import annotations

from marketcore import Marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.domain.catalog.products import StockLow
from marketcore.testing.scenarios import a_marketplace_with


def test_stock_low_is_raised_once_when_availability_falls_below_the_threshold(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=10)
    shop, m = s.shops[0], marketplace
    seen: list[StockLow] = []
    m.events.subscribe(StockLow, seen.append)
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], low_stock_threshold=5)
    m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 5)])
    assert seen == []  # 5 left: not below 5
    m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 1)])
    assert [(e.sku_id, e.available, e.threshold) for e in seen] == [(shop.sku_ids[0], 4, 5)]
    m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 1)])
    assert len(seen) == 1  # already below: no repeat


def test_a_merchant_adjustment_can_raise_stock_low_too(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=10)
    shop, m = s.shops[0], marketplace
    seen: list[StockLow] = []
    m.events.subscribe(StockLow, seen.append)
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], low_stock_threshold=3)
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], stock_delta=-8, reason="stocktake")
    assert [e.available for e in seen] == [2]
