from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import ItemRequest, SkuUnavailable
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.ordering.orders import OrderStatus
from marketcore.domain.risk.rules import RiskBlocked
from marketcore.domain.shared.errors import IdempotencyConflict, InvalidInput
from marketcore.domain.shared.money import Money
from marketcore.testing.scenarios import a_marketplace_with


def stock_of(m: Marketplace, product_id: str, sku_id: str) -> tuple[int, int]:
    view = m.catalog.product(
        m.actor_for(m.identity.create_operator("operator@ops.test", "x" * 8).id), product_id
    )
    level = view.stock[sku_id]
    return level.on_hand, level.reserved


def test_checkout_makes_one_order_per_shop_paid_by_one_amount(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2, full_reduction=(15000, 1000))
    m = marketplace
    m.cart.add_item(s.buyer, s.shops[0].sku_ids[0], 1)
    m.cart.add_item(s.buyer, s.shops[0].sku_ids[1], 1)
    m.cart.add_item(s.buyer, s.shops[1].sku_ids[0], 1)
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox")
    assert [o.shop_id for o in result.orders] == [s.shops[0].id, s.shops[1].id]
    assert all(o.status is OrderStatus.PENDING_PAYMENT for o in result.orders)
    first, second = result.orders
    assert first.discount == Money(1000)  # 10000 + 10100 reaches the 150-yuan tier
    assert sum(line.discount.amount for line in first.lines) == 1000
    assert second.discount == Money(0)
    assert result.checkout.amount_due == first.total + second.total == Money(20100 - 1000 + 10000)
    assert m.cart.view(s.buyer).shops == ()


def test_checkout_reserves_stock_and_payment_commits_it(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, stock=5)
    m, shop = marketplace, s.shops[0]
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 2)])
    assert stock_of(m, shop.product_ids[0], shop.sku_ids[0]) == (5, 2)
    payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
    m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
    assert stock_of(m, shop.product_ids[0], shop.sku_ids[0]) == (3, 0)
    assert m.orders.order(s.buyer, result.orders[0].id).status is OrderStatus.AWAITING_SHIPMENT


def test_checkout_refuses_more_than_is_available_and_changes_nothing(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2, stock=3)
    m = marketplace
    items = [ItemRequest(s.shops[0].sku_ids[0], 1), ItemRequest(s.shops[1].sku_ids[0], 4)]
    with pytest.raises(InsufficientStock):
        m.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    assert stock_of(m, s.shops[0].product_ids[0], s.shops[0].sku_ids[0]) == (3, 0)


def test_a_retry_with_the_same_idempotency_key_returns_the_first_checkout(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    m, items = marketplace, [ItemRequest(s.shops[0].sku_ids[0], 1)]
    first = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-1")
    again = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-1")
    assert again.checkout.id == first.checkout.id
    assert [o.id for o in again.orders] == [o.id for o in first.orders]
    assert stock_of(m, s.shops[0].product_ids[0], s.shops[0].sku_ids[0]) == (10, 1)
    with pytest.raises(IdempotencyConflict):
        m.checkout.checkout(
            s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 2)], idempotency_key="k-1"
        )


def test_a_checkout_fingerprinted_before_version_2_still_replays(marketplace: Marketplace) -> None:
    # Checkouts stored before the v2 fingerprint hold the SHA-256 of the request's sorted JSON.
    s = a_marketplace_with(marketplace, shops=1)
    m, items = marketplace, [ItemRequest(s.shops[0].sku_ids[0], 1)]
    first = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-old")
    assert first.checkout.fingerprint is not None and first.checkout.fingerprint.startswith("v2:")
    body = {"address_id": s.address_id, "items": [[s.shops[0].sku_ids[0], 1]], "payment_method": "sandbox"}
    with m.container.uow()() as uow:
        stored = uow.checkouts.get(first.checkout.id)
        assert stored is not None
        stored.fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        uow.commit()
    again = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-old")
    assert again.checkout.id == first.checkout.id
    with pytest.raises(IdempotencyConflict):
        m.checkout.checkout(s.buyer, s.address_id, "cod", items, idempotency_key="k-old")


def test_a_retry_replays_the_first_checkout_even_once_its_stock_is_gone(marketplace: Marketplace) -> None:
    # The first attempt does not read the key (its unique key catches a repeat): a retry that
    # would now fail must still get the first result, not the failure.
    s = a_marketplace_with(marketplace, shops=1, stock=2)
    m, items = marketplace, [ItemRequest(s.shops[0].sku_ids[0], 2)]
    first = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-2")
    again = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-2")
    assert again.checkout.id == first.checkout.id
    assert stock_of(m, s.shops[0].product_ids[0], s.shops[0].sku_ids[0]) == (2, 2)
    with pytest.raises(InsufficientStock):
        m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-3")
    with pytest.raises(IdempotencyConflict):
        m.checkout.checkout(
            s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)], idempotency_key="k-2"
        )


def test_a_retry_replays_the_first_checkout_after_the_buyer_is_blacklisted(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    m, items = marketplace, [ItemRequest(s.shops[0].sku_ids[0], 1)]
    first = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-4")
    m.risk.blacklist(s.operator, "user", str(s.buyer.user_id), "chargebacks")
    again = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-4")
    assert again.checkout.id == first.checkout.id
    with pytest.raises(RiskBlocked):
        m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key="k-5")


def test_cash_on_delivery_orders_await_shipment_unpaid(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    result = marketplace.checkout.checkout(
        s.buyer, s.address_id, "cod", [ItemRequest(s.shops[0].sku_ids[0], 1)]
    )
    (order,) = result.orders
    assert order.status is OrderStatus.AWAITING_SHIPMENT
    assert not order.is_paid


def test_delisted_products_cannot_be_bought(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    marketplace.catalog.delist(shop.staff, shop.id, shop.product_ids[0])
    with pytest.raises(SkuUnavailable):
        marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(shop.sku_ids[0], 1)])


def test_suspended_shops_sell_nothing(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    marketplace.shops.suspend(s.operator, s.shops[0].id, "fake goods")
    with pytest.raises(SkuUnavailable):
        marketplace.checkout.preview(s.buyer, s.address_id, [ItemRequest(s.shops[0].sku_ids[0], 1)])


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_quantities_out_of_range_name_the_field(marketplace: Marketplace, quantity: int) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    with pytest.raises(InvalidInput) as error:
        marketplace.checkout.preview(s.buyer, s.address_id, [ItemRequest(s.shops[0].sku_ids[0], quantity)])
    assert error.value.field == "items[0].quantity"


def test_unknown_payment_methods_are_refused(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    with pytest.raises(InvalidInput) as error:
        marketplace.checkout.checkout(
            s.buyer, s.address_id, "bitcoin", [ItemRequest(s.shops[0].sku_ids[0], 1)]
        )
    assert error.value.field == "payment_method"


def test_a_payment_retry_with_the_same_idempotency_key_returns_the_first_payment(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    m = marketplace
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    first = m.payments.start(s.buyer, result.checkout.id, "sandbox", idempotency_key="pay-1")
    assert m.payments.start(s.buyer, result.checkout.id, "sandbox", idempotency_key="pay-1").id == first.id
    other = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    with pytest.raises(IdempotencyConflict):
        m.payments.start(s.buyer, other.checkout.id, "sandbox", idempotency_key="pay-1")


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_checkout_announces_what_it_wrote_not_what_it_read(backend: str, tmp_path: Path) -> None:
    # The HTTP layer's caches (the buyer's actor, product pages) drop entries on these ids: a
    # checkout that announced every document it read would evict its buyer's actor each time.
    m = create_marketplace("memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'c.db'}")
    s = a_marketplace_with(m, shops=1)
    announced: list[frozenset[str]] = []
    m.container.changes().subscribe(announced.append)
    result = m.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    written = frozenset().union(*announced)
    assert {result.checkout.id, result.orders[0].id, s.shops[0].sku_ids[0]} <= written
    assert str(s.buyer.user_id) not in written
    assert not {s.shops[0].id, s.shops[0].product_ids[0]} & written
    m.close()


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
@pytest.mark.parametrize("idempotency_key", [None, "k-1"])
def test_an_order_number_drawn_twice_is_drawn_again_not_a_failed_checkout(
    backend: str,
    idempotency_key: str | None,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nine random digits a second: at 2,000 orders a second a number is drawn twice about every
    # eight minutes. The unique key refuses the second; the buyer must not see that.
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'c.db'}"
    m = create_marketplace(url, clock=clock)  # both checkouts in one second, so 7 is drawn twice
    s = a_marketplace_with(m, shops=1)
    items = [ItemRequest(s.shops[0].sku_ids[0], 1)]
    draws = iter([7, 7, 8])
    monkeypatch.setattr("marketcore.application.ordering.checkout.random_below", lambda _: next(draws))
    first = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    second = m.checkout.checkout(s.buyer, s.address_id, "sandbox", items, idempotency_key=idempotency_key)
    assert [first.orders[0].number[-9:], second.orders[0].number[-9:]] == ["000000007", "000000008"]
    assert stock_of(m, s.shops[0].product_ids[0], s.shops[0].sku_ids[0]) == (10, 2)
    m.close()


def test_order_numbers_are_the_date_the_second_and_nine_random_digits(
    marketplace: Marketplace, clock: FrozenClock
) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    items = [ItemRequest(s.shops[0].sku_ids[0], 1), ItemRequest(s.shops[1].sku_ids[0], 1)]
    first = marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    clock.advance(timedelta(seconds=1))
    later = marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    numbers = [o.number for o in (*first.orders, *later.orders)]
    assert all(len(n) == 22 and n.isdigit() for n in numbers)
    assert [n[:13] for n in numbers] == ["2026111136000"] * 2 + ["2026111136001"] * 2  # 10:00:00 UTC
    assert max(numbers[:2]) < min(numbers[2:])  # a day's numbers follow the clock
    assert len(set(numbers)) == 4
