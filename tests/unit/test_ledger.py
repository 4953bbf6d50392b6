from __future__ import annotations

import attrs

from marketcore import Marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.testing.scenarios import a_marketplace_with


def test_the_ledger_reconciles_after_orders_flow(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2, stock=5)
    m = marketplace
    kept = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 2)])
    cancelled = m.checkout.checkout(s.buyer, s.address_id, "cod", [ItemRequest(s.shops[1].sku_ids[1], 1)])
    m.orders.cancel(s.buyer, cancelled.orders[0].id)
    payment = m.payments.start(s.buyer, kept.checkout.id, "sandbox")
    m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
    m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[1].sku_ids[0], 3)])
    report = m.ledger.check()
    assert report.ok, report.mismatches
    assert report.skus_checked == 4


def test_the_ledger_check_finds_a_stock_row_changed_behind_its_back(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    sku_id = s.shops[0].sku_ids[0]
    database = marketplace.container.memory()
    database.stock[sku_id] = attrs.evolve(database.stock[sku_id], on_hand=7)
    report = marketplace.ledger.check()
    assert [(m.sku_id, m.problem) for m in report.mismatches] == [(sku_id, "on_hand 7 != movements 5")]
