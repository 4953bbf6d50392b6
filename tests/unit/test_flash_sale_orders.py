"""Flash sales end to end on the memory backend: scheduling sets the quota aside, checkout sells
from it at the sale price with a 5-minute deadline, unpaid orders give it back, the end of the
window returns what is unsold to ordinary stock, and the ledger balances throughout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketcore import Marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import CheckoutResult, ItemRequest
from marketcore.application.shared.ports import PageRequest
from marketcore.domain.inventory.stock import InsufficientStock, StockLevel
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.promotions.flash_sales import (
    FlashSale,
    FlashSaleLimitReached,
    FlashSaleNotRunning,
    FlashSaleSoldOut,
    FlashSaleStatus,
)
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput, NotFound
from marketcore.domain.shared.money import Money
from marketcore.testing.scenarios import Scenario, a_marketplace_with

HOUR = timedelta(hours=1)


def level(m: Marketplace, sku_id: str) -> StockLevel:
    with m.container.uow()(read_only=True) as uow:
        return uow.stock.get_many([sku_id])[sku_id]


def ledger_ok(m: Marketplace) -> None:
    report = m.ledger.check()
    assert report.ok, report.mismatches


def schedule(m: Marketplace, s: Scenario, clock: FrozenClock, **overrides: object) -> FlashSale:
    shop = s.shops[0]
    options: dict[str, object] = {
        "price": 5_000,
        "quota": 5,
        "per_buyer_limit": 1,
        "starts_at": clock.now() - HOUR,
        "ends_at": clock.now() + HOUR,
    }
    options.update(overrides)
    return m.flash_sales.schedule(shop.staff, shop.id, shop.sku_ids[0], "秒杀", **options)  # type: ignore[arg-type]


@pytest.fixture
def world(marketplace: Marketplace) -> Scenario:
    return a_marketplace_with(marketplace, shops=1, stock=20, price=10_000)


def buy(
    m: Marketplace, buyer: Actor, address_id: str, sku_id: str, quantity: int = 1, method: str = "sandbox"
) -> CheckoutResult:
    return m.checkout.checkout(buyer, address_id, method, [ItemRequest(sku_id, quantity)])


def test_scheduling_sets_the_quota_aside_from_ordinary_stock(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, sku = marketplace, world.shops[0].sku_ids[0]
    sale = schedule(m, world, clock)
    assert (level(m, sku).on_hand, level(m, sku).available) == (20, 15)
    ledger_ok(m)
    views = m.flash_sales.current(PageRequest())
    assert [(v.sale.id, v.remaining) for v in views.items] == [(sale.id, 5)]


def test_ordinary_checkouts_cannot_eat_the_quota(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    schedule(m, world, clock, starts_at=clock.now() + HOUR, ends_at=clock.now() + 2 * HOUR)  # upcoming
    with pytest.raises(InsufficientStock):
        buy(m, world.buyer, world.address_id, shop.sku_ids[0], 16)
    buy(m, world.buyer, world.address_id, shop.sku_ids[0], 15)  # list price, ordinary stock
    assert level(m, shop.sku_ids[0]).available == 0
    ledger_ok(m)


def test_a_flash_sale_checkout_pays_the_sale_price_from_the_set_aside_within_five_minutes(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, sku = marketplace, world.shops[0].sku_ids[0]
    sale = schedule(m, world, clock)
    preview = m.checkout.preview(world.buyer, world.address_id, [ItemRequest(sku, 1)])
    assert preview.pricing.total == Money(5_000) + preview.pricing.shipping
    result = buy(m, world.buyer, world.address_id, sku)
    (order,) = result.orders
    (line,) = order.lines
    assert (line.unit_price, line.flash_sale_id) == (Money(5_000), sale.id)
    assert order.payment_deadline == clock.now() + timedelta(minutes=5)
    assert level(m, sku).available == 15  # ordinary stock untouched: the unit came from the sale
    assert m.flash_sales.shop_sale(world.shops[0].staff, world.shops[0].id, sale.id).remaining == 4
    ledger_ok(m)
    payment = m.payments.start(world.buyer, result.checkout.id, "sandbox")
    m.payments.complete_sandbox(world.buyer, payment.id, succeeded=True)
    assert (level(m, sku).on_hand, level(m, sku).available) == (19, 15)
    ledger_ok(m)


def test_the_per_buyer_limit_and_the_quota_are_conflicts_naming_the_sku(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, sku = marketplace, world.shops[0].sku_ids[0]
    schedule(m, world, clock, quota=2)
    with pytest.raises(FlashSaleLimitReached) as too_many:
        buy(m, world.buyer, world.address_id, sku, 2)
    assert sku in too_many.value.detail
    buy(m, world.buyer, world.address_id, sku)
    with pytest.raises(FlashSaleLimitReached):
        buy(m, world.buyer, world.address_id, sku)
    other, other_address = world.new_buyer("other")
    buy(m, other, other_address, sku)
    third, third_address = world.new_buyer("third")
    with pytest.raises(FlashSaleSoldOut) as sold_out:
        buy(m, third, third_address, sku)
    assert sku in sold_out.value.detail
    assert level(m, sku).available == 18  # nobody fell back on ordinary stock
    ledger_ok(m)


def test_cancelling_an_unpaid_order_gives_the_quota_and_units_back_to_the_sale(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    sale = schedule(m, world, clock, quota=1)
    (order,) = buy(m, world.buyer, world.address_id, shop.sku_ids[0]).orders
    m.orders.cancel(world.buyer, order.id)
    assert m.flash_sales.shop_sale(shop.staff, shop.id, sale.id).remaining == 1
    assert level(m, shop.sku_ids[0]).available == 19  # back to the sale, not to ordinary stock
    ledger_ok(m)
    buy(m, world.buyer, world.address_id, shop.sku_ids[0])  # the buyer's allowance is back too
    ledger_ok(m)


def test_the_payment_deadline_closes_the_order_and_returns_the_quota(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    sale = schedule(m, world, clock, quota=1)
    ordinary = buy(m, world.buyer, world.address_id, shop.sku_ids[1]).orders[0]  # 30-minute deadline
    (order,) = buy(m, world.buyer, world.address_id, shop.sku_ids[0]).orders
    clock.advance(timedelta(minutes=6))
    report = m.due_work.run_due_work()
    assert report.closed_unpaid == 1
    assert m.orders.order(world.buyer, order.id).status is OrderStatus.CLOSED
    assert m.orders.order(world.buyer, ordinary.id).status is OrderStatus.PENDING_PAYMENT
    assert m.flash_sales.shop_sale(shop.staff, shop.id, sale.id).remaining == 1
    assert level(m, shop.sku_ids[0]).available == 19
    ledger_ok(m)


def test_the_end_of_the_window_returns_the_unsold_quota_once(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    sale = schedule(m, world, clock, quota=5)
    (order,) = buy(m, world.buyer, world.address_id, shop.sku_ids[0]).orders
    clock.advance(HOUR)
    report = m.due_work.run_due_work()
    assert report.flash_sales_ended == 1 and report.closed_unpaid == 1  # 5-minute deadline passed too
    view = m.flash_sales.shop_sale(shop.staff, shop.id, sale.id)
    assert view.sale.status is FlashSaleStatus.ENDED and view.remaining == 0
    assert level(m, shop.sku_ids[0]).available == 20
    assert m.due_work.run_due_work().flash_sales_ended == 0
    assert m.orders.order(world.buyer, order.id).status is OrderStatus.CLOSED
    ledger_ok(m)
    (after,) = buy(m, world.buyer, world.address_id, shop.sku_ids[0], 3).orders
    assert after.lines[0].unit_price == Money(10_000)  # list price again, from ordinary stock
    assert level(m, shop.sku_ids[0]).available == 17


def test_an_order_closing_after_the_sale_was_cancelled_releases_to_ordinary_stock(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    sale = schedule(m, world, clock, quota=5)
    (order,) = buy(m, world.buyer, world.address_id, shop.sku_ids[0]).orders
    view = m.flash_sales.cancel(shop.staff, shop.id, sale.id)
    assert view.sale.status is FlashSaleStatus.CANCELLED
    assert level(m, shop.sku_ids[0]).available == 19  # 4 unsold back; 1 held by the order
    ledger_ok(m)
    m.orders.cancel(world.buyer, order.id)
    assert level(m, shop.sku_ids[0]).available == 20
    ledger_ok(m)
    assert m.flash_sales.cancel(shop.staff, shop.id, sale.id).sale.status is FlashSaleStatus.CANCELLED
    (later,) = buy(m, world.buyer, world.address_id, shop.sku_ids[0]).orders
    assert later.lines[0].unit_price == Money(10_000) and later.lines[0].flash_sale_id is None


def test_an_ended_sale_cannot_be_cancelled(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    sale = schedule(m, world, clock)
    clock.advance(2 * HOUR)
    m.due_work.run_due_work()
    with pytest.raises(FlashSaleNotRunning):
        m.flash_sales.cancel(shop.staff, shop.id, sale.id)


def test_flash_sale_items_are_paid_online(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, sku = marketplace, world.shops[0].sku_ids[0]
    schedule(m, world, clock)
    with pytest.raises(InvalidInput) as error:
        buy(m, world.buyer, world.address_id, sku, method="cod")
    assert error.value.field == "payment_method" and "online" in error.value.detail


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": 10_000}, "price"),
        ({"price": "5000"}, "price"),
        ({"quota": 21}, "quota"),
        ({"quota": 0}, "quota"),
        ({"per_buyer_limit": 0}, "per_buyer_limit"),
        ({"per_buyer_limit": 6}, "per_buyer_limit"),
        ({"ends_at": "tomorrow"}, "ends_at"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_names_the_field(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock, overrides: dict[str, object], field: str
) -> None:
    shop = world.shops[0]
    options: dict[str, object] = {
        "price": 5_000,
        "quota": 5,
        "per_buyer_limit": 1,
        "starts_at": clock.now(),
        "ends_at": clock.now() + HOUR,
    }
    name = str(overrides.pop("name", "秒杀"))
    options.update(overrides)
    with pytest.raises(InvalidInput) as error:
        marketplace.flash_sales.schedule(shop.staff, shop.id, shop.sku_ids[0], name, **options)  # type: ignore[arg-type]
    assert error.value.field == field


def test_a_sku_of_another_shop_or_an_overlapping_sale_is_refused(
    marketplace: Marketplace, clock: FrozenClock
) -> None:
    m = marketplace
    s = a_marketplace_with(m, shops=2, stock=20)
    mine, theirs = s.shops
    with pytest.raises(InvalidInput) as error:
        m.flash_sales.schedule(
            mine.staff,
            mine.id,
            theirs.sku_ids[0],
            "x",
            price=1,
            quota=1,
            per_buyer_limit=1,
            starts_at=clock.now(),
            ends_at=clock.now() + HOUR,
        )
    assert error.value.field == "sku_id"
    with pytest.raises(NotFound):
        m.flash_sales.schedule(
            theirs.staff,
            mine.id,
            mine.sku_ids[0],
            "x",
            price=1,
            quota=1,
            per_buyer_limit=1,
            starts_at=clock.now(),
            ends_at=clock.now() + HOUR,
        )
    schedule(m, s, clock)
    with pytest.raises(InvalidInput) as overlap:
        schedule(m, s, clock, starts_at=clock.now() + HOUR / 2, ends_at=clock.now() + 2 * HOUR)
    assert overlap.value.field == "starts_at"
    schedule(m, s, clock, starts_at=clock.now() + HOUR, ends_at=clock.now() + 2 * HOUR)  # back to back
    ledger_ok(m)


def test_flash_sale_lines_hold_stock_even_in_a_deduct_on_payment_shop(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    m.shops.update_settings(shop.staff, shop.id, deduction_mode="deduct_on_payment")
    schedule(m, world, clock, quota=2)
    result = buy(m, world.buyer, world.address_id, shop.sku_ids[0])
    assert result.orders[0].lines[0].holds_stock
    assert (level(m, shop.sku_ids[0]).on_hand, level(m, shop.sku_ids[0]).reserved) == (20, 2)
    payment = m.payments.start(world.buyer, result.checkout.id, "sandbox")
    m.payments.complete_sandbox(world.buyer, payment.id, succeeded=True)
    assert (level(m, shop.sku_ids[0]).on_hand, level(m, shop.sku_ids[0]).reserved) == (19, 1)
    ledger_ok(m)


def test_an_order_out_of_stock_at_payment_gives_its_flash_sale_units_back_to_the_sale(
    marketplace: Marketplace, world: Scenario, clock: FrozenClock
) -> None:
    m, shop = marketplace, world.shops[0]
    sale = schedule(m, world, clock, quota=2)
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[1], deduction_mode="deduct_on_payment")
    items = [ItemRequest(shop.sku_ids[0], 1), ItemRequest(shop.sku_ids[1], 20)]
    result = m.checkout.checkout(world.buyer, world.address_id, "sandbox", items)
    m.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[1], stock_delta=-1, reason="damaged")
    assert m.flash_sales.shop_sale(shop.staff, shop.id, sale.id).remaining == 1
    payment = m.payments.start(world.buyer, result.checkout.id, "sandbox")
    paid = m.payments.complete_sandbox(world.buyer, payment.id, succeeded=True)
    order = m.orders.order(world.buyer, result.orders[0].id)
    assert order.status is OrderStatus.CLOSED and order.close_reason == "out of stock at payment"
    assert [r.amount for r in paid.refunds] == [paid.amount]
    assert m.flash_sales.shop_sale(shop.staff, shop.id, sale.id).remaining == 2
    assert (level(m, shop.sku_ids[0]).on_hand, level(m, shop.sku_ids[0]).available) == (20, 18)
    ledger_ok(m)
