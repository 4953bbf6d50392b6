"""Checkout with promotions, member levels and coupons: preview, locking, use, return."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.application.ordering.checkout import CheckoutResult, ItemRequest
from marketcore.domain.ordering.orders import Order, OrderStatus
from marketcore.domain.promotions.coupons import Coupon, CouponNotUsable
from marketcore.domain.promotions.kinds import (
    CrossShopReduction,
    FixedAmountOff,
    FreeShipping,
    FullReductionRule,
    MemberPrice,
    MemberPriceEntry,
    PercentOff,
    Tier,
)
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.errors import IdempotencyConflict, InvalidInput
from marketcore.domain.shared.money import Money
from marketcore.testing.coupons import add_promotion, coupon_state, give_coupon
from marketcore.testing.scenarios import Scenario, a_marketplace_with


def fixed(value: int, threshold: int = 0) -> FixedAmountOff:
    return FixedAmountOff(Money(value), Money(threshold))


def one_each(s: Scenario) -> list[ItemRequest]:
    """One of the first SKU of every shop: 100.00 each."""
    return [ItemRequest(shop.sku_ids[0], 1) for shop in s.shops]


def buyer_id(s: Scenario) -> str:
    assert s.buyer.user_id is not None
    return s.buyer.user_id


def place(s: Scenario, *coupons: Coupon, method: str = "sandbox", key: str | None = None) -> CheckoutResult:
    return s.marketplace.checkout.checkout(
        s.buyer, s.address_id, method, one_each(s), idempotency_key=key, coupon_ids=[c.id for c in coupons]
    )


def pay(s: Scenario, result: CheckoutResult) -> None:
    payment = s.marketplace.payments.start(s.buyer, result.checkout.id, "sandbox")
    s.marketplace.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)


def test_preview_applies_the_chosen_coupons_and_suggests_the_best_of_the_buyers(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    small = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500), name="5 off")
    big = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(1500, 10000), name="15 off 100")
    platform = give_coupon(marketplace, buyer_id(s), None, fixed(1000, 15000), name="platform 10 off")
    quote = marketplace.checkout.preview(s.buyer, s.address_id, one_each(s), [small.id])
    shop0 = quote.pricing.shop(s.shops[0].id)
    assert quote.pricing.coupon_ids == (small.id,)
    assert shop0.coupon_id == small.id and shop0.discount == Money(500)
    (allocation,) = shop0.lines[0].allocations
    assert (allocation.promotion_id, allocation.amount, str(allocation.funder)) == (
        small.id,
        Money(500),
        "shop",
    )
    assert quote.suggestion is not None
    assert sorted(quote.suggestion.coupon_ids) == sorted([big.id, platform.id])
    assert quote.suggestion.saving == Money(2500)  # against no coupon
    assert quote.suggestion_saves == Money(2000)  # against the 5-yuan coupon chosen
    # Choosing nothing prices without coupons; the suggestion is the same.
    bare = marketplace.checkout.preview(s.buyer, s.address_id, one_each(s))
    assert bare.pricing.coupon_ids == () and bare.pricing.total == Money(20000)
    assert bare.suggestion is not None and bare.suggestion_saves == Money(2500)


def test_preview_reports_a_coupon_below_its_threshold_with_a_hint(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    coupon = give_coupon(marketplace, buyer_id(s), s.shops[1].id, fixed(2000, 15000), name="20 off 150")
    quote = marketplace.checkout.preview(s.buyer, s.address_id, one_each(s), [coupon.id])
    shop1 = quote.pricing.shop(s.shops[1].id)
    assert quote.pricing.coupon_ids == () and shop1.discount == Money(0)
    assert [(k.promotion_id, k.reason) for k in shop1.skipped] == [(coupon.id, "threshold_not_met")]
    assert any("add ¥50.00" in h.text for h in shop1.hints), shop1.hints
    # A checkout with it goes ahead without it, and leaves it with the buyer.
    result = place(s, coupon)
    assert result.checkout.coupon_ids == [] and coupon_state(marketplace, coupon.id) == ("available", None)


def test_checkout_without_coupon_ids_uses_none_of_the_buyers_coupons(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    coupon = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    result = place(s)
    assert result.checkout.amount_due == Money(10000)
    assert coupon_state(marketplace, coupon.id) == ("available", None)


def test_checkout_locks_the_applied_coupons_and_stores_the_breakdown_on_the_orders(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    shop_coupon = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    platform = give_coupon(marketplace, buyer_id(s), None, PercentOff(1000, None), name="10% off")
    result = place(s, shop_coupon, platform)
    checkout_id = result.checkout.id
    assert sorted(result.checkout.coupon_ids) == sorted([shop_coupon.id, platform.id])
    assert coupon_state(marketplace, shop_coupon.id) == ("locked", checkout_id)
    assert coupon_state(marketplace, platform.id) == ("locked", checkout_id)
    first, second = result.orders
    assert sorted(first.coupon_ids) == sorted([shop_coupon.id, platform.id])
    assert second.coupon_ids == [platform.id]
    stored = marketplace.orders.order(s.buyer, first.id)
    kinds = [(d.promotion_id, d.kind, d.coupon, d.funder, d.amount) for d in stored.lines[0].discounts]
    # 5 off the first shop, then 10% of what is left over both shops (9500 + 10000 -> 1950).
    assert kinds == [
        (shop_coupon.id, "fixed_amount", True, "shop", Money(500)),
        (platform.id, "percent_off", True, "platform", Money(950)),
    ]
    assert second.lines[0].discounts[0].amount == Money(1000)
    assert result.checkout.amount_due == first.total + second.total == Money(20000 - 500 - 1950)


def test_a_locked_coupon_cannot_be_used_by_another_checkout(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    coupon = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    place(s, coupon)
    with pytest.raises(CouponNotUsable, match=r"coupon_ids\[0\]"):
        place(s, coupon)
    with pytest.raises(CouponNotUsable, match=r"coupon_ids\[0\]"):
        marketplace.checkout.preview(s.buyer, s.address_id, one_each(s), [coupon.id])
    assert marketplace.checkout.preview(s.buyer, s.address_id, one_each(s)).suggestion is not None


def test_bad_coupon_choices_name_the_coupon(marketplace: Marketplace, clock: FrozenClock) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    other, _ = s.new_buyer("other")
    assert other.user_id is not None
    theirs = give_coupon(marketplace, other.user_id, s.shops[0].id, fixed(500))
    mine = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    second = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(700))
    expiring = give_coupon(marketplace, buyer_id(s), s.shops[1].id, fixed(700), valid_days=1)
    cases: list[tuple[list[str], str]] = [
        ([mine.id, theirs.id], "coupon_ids[1]"),  # another buyer's: no such coupon
        (["nope"], "coupon_ids[0]"),
        ([mine.id, mine.id], "coupon_ids[1]"),  # listed twice
        ([mine.id, second.id], "coupon_ids[1]"),  # two for one shop
        ([""], "coupon_ids[0]"),
        (["x"] * 21, "coupon_ids"),
    ]
    for coupon_ids, field in cases:
        with pytest.raises(InvalidInput) as previewed:
            marketplace.checkout.preview(s.buyer, s.address_id, one_each(s), coupon_ids)
        with pytest.raises(InvalidInput) as placed:
            marketplace.checkout.checkout(
                s.buyer, s.address_id, "sandbox", one_each(s), coupon_ids=coupon_ids
            )
        assert previewed.value.field == placed.value.field == field, (coupon_ids, placed.value)
    with pytest.raises(InvalidInput, match=r"coupon_ids\[1\]"):
        give = give_coupon(marketplace, buyer_id(s), None, fixed(100))
        again = give_coupon(marketplace, buyer_id(s), None, fixed(200))
        marketplace.checkout.preview(s.buyer, s.address_id, one_each(s), [give.id, again.id])
    clock.advance(timedelta(days=2))
    with pytest.raises(CouponNotUsable, match="not valid now"):
        marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", one_each(s), coupon_ids=[expiring.id])
    assert coupon_state(marketplace, mine.id) == ("available", None)


def test_a_retry_must_name_the_same_coupons(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    coupon = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    first = place(s, coupon, key="with-coupon")
    assert place(s, coupon, key="with-coupon").checkout.id == first.checkout.id
    with pytest.raises(IdempotencyConflict):
        place(s, key="with-coupon")


def test_paying_the_checkout_uses_its_coupons_once_whatever_the_number_of_orders(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    shop_coupon = give_coupon(marketplace, buyer_id(s), s.shops[1].id, fixed(500))
    platform = give_coupon(marketplace, buyer_id(s), None, fixed(1000))
    result = place(s, shop_coupon, platform)
    pay(s, result)
    assert coupon_state(marketplace, shop_coupon.id) == ("used", result.checkout.id)
    assert coupon_state(marketplace, platform.id) == ("used", result.checkout.id)
    # A paid order cancelled (and refunded) keeps its coupons used.
    marketplace.orders.cancel(s.buyer, result.orders[1].id)
    assert coupon_state(marketplace, shop_coupon.id) == ("used", result.checkout.id)
    assert coupon_state(marketplace, platform.id) == ("used", result.checkout.id)


def test_cancelling_before_payment_returns_a_shop_coupon_then_the_platform_one_with_the_last_order(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    coupons = [give_coupon(marketplace, buyer_id(s), shop.id, fixed(500)) for shop in s.shops]
    platform = give_coupon(marketplace, buyer_id(s), None, fixed(1000))
    result = place(s, *coupons, platform)
    marketplace.orders.cancel(s.buyer, result.orders[0].id)
    assert coupon_state(marketplace, coupons[0].id) == ("available", None)
    assert coupon_state(marketplace, coupons[1].id) == ("locked", result.checkout.id)
    assert coupon_state(marketplace, platform.id) == ("locked", result.checkout.id)
    marketplace.orders.cancel(s.buyer, result.orders[1].id)
    assert coupon_state(marketplace, coupons[1].id) == ("available", None)
    assert coupon_state(marketplace, platform.id) == ("available", None)
    again = place(s, *coupons, platform)  # usable again
    assert sorted(again.checkout.coupon_ids) == sorted(c.id for c in [*coupons, platform])


def test_paying_what_is_left_after_a_cancel_uses_the_platform_coupon(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    platform = give_coupon(marketplace, buyer_id(s), None, fixed(1000))
    result = place(s, platform)
    marketplace.orders.cancel(s.buyer, result.orders[0].id)
    assert coupon_state(marketplace, platform.id) == ("locked", result.checkout.id)
    pay(s, result)
    assert coupon_state(marketplace, platform.id) == ("used", result.checkout.id)


def test_the_payment_deadline_returns_every_coupon(marketplace: Marketplace, clock: FrozenClock) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    shop_coupon = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    platform = give_coupon(marketplace, buyer_id(s), None, fixed(1000))
    result = place(s, shop_coupon, platform)
    clock.advance(timedelta(minutes=31))
    report = marketplace.due_work.run_due_work()
    assert report.closed_unpaid == 2
    assert coupon_state(marketplace, shop_coupon.id) == ("available", None)
    assert coupon_state(marketplace, platform.id) == ("available", None)
    assert all(marketplace.orders.order(s.buyer, o.id).status is OrderStatus.CLOSED for o in result.orders)


def test_an_order_closed_out_of_stock_at_payment_returns_its_coupons(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1, listed_skus=1, stock=1)
    shop = s.shops[0]
    marketplace.shops.update_settings(shop.staff, shop.id, deduction_mode="deduct_on_payment")
    shop_coupon = give_coupon(marketplace, buyer_id(s), shop.id, fixed(500))
    platform = give_coupon(marketplace, buyer_id(s), None, fixed(300))
    result = place(s, shop_coupon, platform)
    marketplace.catalog.update_sku(shop.staff, shop.id, shop.sku_ids[0], stock_delta=-1, reason="damaged")
    pay(s, result)
    assert marketplace.orders.order(s.buyer, result.orders[0].id).close_reason == "out of stock at payment"
    assert coupon_state(marketplace, shop_coupon.id) == ("available", None)
    assert coupon_state(marketplace, platform.id) == ("available", None)


def test_cash_on_delivery_uses_a_coupon_when_collected_and_returns_it_when_refused(
    marketplace: Marketplace,
) -> None:
    s = a_marketplace_with(marketplace, shops=2)
    kept = give_coupon(marketplace, buyer_id(s), s.shops[0].id, fixed(500))
    refused = give_coupon(marketplace, buyer_id(s), s.shops[1].id, fixed(500))
    result = place(s, kept, refused, method="cod")
    first, second = result.orders
    for order, shop in ((first, s.shops[0]), (second, s.shops[1])):
        marketplace.orders.ship(shop.staff, shop.id, order.id, "SF", "SF0001")
    marketplace.payments.collect_on_delivery(s.shops[0].staff, s.shops[0].id, first.id)
    marketplace.payments.refuse_on_delivery(s.shops[1].staff, s.shops[1].id, second.id, "not home")
    assert coupon_state(marketplace, kept.id) == ("used", result.checkout.id)
    assert coupon_state(marketplace, refused.id) == ("available", None)


def test_member_levels_category_scopes_and_free_shipping_reach_the_orders(marketplace: Marketplace) -> None:
    s = a_marketplace_with(marketplace, shops=1)
    shop = s.shops[0]
    marketplace.shops.update_settings(shop.staff, shop.id, shipping_fee=800)
    add_promotion(
        marketplace,
        "members",
        shop.id,
        MemberPrice((MemberPriceEntry(shop.sku_ids[0], 2, Money(9000)),)),
    )
    add_promotion(
        marketplace,
        "category 满减",
        shop.id,
        FullReductionRule((Tier(Money(9000), Money(300)),)),
        scope=Scope(category_ids={s.category_id}),
    )
    add_promotion(marketplace, "包邮", None, FreeShipping(Money(5000)))
    items = [ItemRequest(shop.sku_ids[0], 1)]
    plain = marketplace.checkout.preview(s.buyer, s.address_id, items)
    assert plain.pricing.shops[0].lines[0].line.unit_price == Money(10000)
    with marketplace.container.uow()() as uow:
        user = uow.users.get(buyer_id(s))
        assert user is not None
        user.set_member_level(3, "operator", marketplace.container.clock().now())
        uow.commit()
    result = marketplace.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    (order,) = result.orders
    assert order.lines[0].unit_price == Money(9000)  # the member price
    assert [(d.kind, d.amount) for d in order.lines[0].discounts] == [("full_reduction", Money(300))]
    assert order.shipping_fee == Money(0)
    assert order.shipping_waiver is not None and order.shipping_waiver.funder == "platform"
    assert order.shipping_waiver.amount == Money(800)
    assert result.checkout.amount_due == order.total == Money(8700)


def _orders_total(orders: tuple[Order, ...]) -> int:
    return sum(o.total.amount for o in orders)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantities=st.lists(st.integers(1, 5), min_size=6, max_size=6),
    fees=st.lists(st.integers(0, 1500), min_size=3, max_size=3),
    percent=st.integers(1, 9999),
)
def test_amount_due_is_the_sum_of_the_order_totals_to_the_cent(
    clock: FrozenClock, quantities: list[int], fees: list[int], percent: int
) -> None:
    market = create_marketplace("memory://", clock=clock)
    try:
        s = a_marketplace_with(market, shops=3, price=3333, stock=50, full_reduction=(5000, 777))
        for shop, fee in zip(s.shops, fees, strict=True):
            market.shops.update_settings(shop.staff, shop.id, shipping_fee=fee)
        add_promotion(market, "跨店满减", None, CrossShopReduction((Tier(Money(10000), Money(1001)),)))
        add_promotion(market, "包邮", s.shops[2].id, FreeShipping(Money(6000)))
        coupons = [
            give_coupon(market, buyer_id(s), s.shops[0].id, PercentOff(percent, Money(2000))),
            give_coupon(market, buyer_id(s), None, fixed(999, 3000)),
        ]
        items = [
            ItemRequest(sku_id, quantity)
            for sku_id, quantity in zip(
                [k for shop in s.shops for k in shop.sku_ids], quantities, strict=True
            )
        ]
        quote = market.checkout.preview(s.buyer, s.address_id, items, [c.id for c in coupons])
        result = market.checkout.checkout(
            s.buyer, s.address_id, "sandbox", items, coupon_ids=[c.id for c in coupons]
        )
        assert result.checkout.amount_due == quote.pricing.total
        assert result.checkout.amount_due.amount == _orders_total(result.orders)
        for order in result.orders:
            lines = sum(line.total.amount for line in order.lines)
            assert order.total.amount == lines + order.shipping_fee.amount
            assert all(line.total.amount >= 0 for line in order.lines)
        assert any(
            d.kind == "cross_shop_reduction"
            for o in result.orders
            for line in o.lines
            for d in line.discounts
        )
    finally:
        market.close()
