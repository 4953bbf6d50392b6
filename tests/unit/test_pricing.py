"""The pricing engine's rules, one per test, in domain.md's order of application."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from offers import DAY, NOW, coupon, cross_shop, line, offer, reduction, shop_reduction

from marketcore.adapters.repositories import PROMOTIONS
from marketcore.domain.promotions.flash_sales import FlashSale
from marketcore.domain.promotions.kinds import (
    BuyNPayM,
    FlashSalePrice,
    FreeShipping,
    FullDiscountRule,
    FullReductionRule,
    LimitedTimeDiscount,
    MemberPrice,
    MemberPriceEntry,
    RateTier,
    SkuPrice,
)
from marketcore.domain.promotions.pricing import Allocation, PricingLine, price
from marketcore.domain.promotions.promotions import Funder
from marketcore.domain.promotions.rules import BuyerContext
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money


def skipped(shop_or_result: object) -> list[tuple[str, str]]:
    return [(s.promotion_id, s.reason) for s in shop_or_result.skipped]  # type: ignore[attr-defined]


# -- step 1: unit prices ------------------------------------------------------------------------


def member_prices(sku: str, *levels: tuple[int, int]) -> MemberPrice:
    return MemberPrice([MemberPriceEntry(sku, level, Money(p)) for level, p in levels])


def test_a_line_is_charged_the_lowest_of_its_list_member_limited_time_and_flash_sale_prices() -> None:
    promotions = [
        offer("member", "s1", member_prices("a", (2, 9000), (3, 8500))),
        offer("ltd", "s1", LimitedTimeDiscount(off_bp=1500)),
        offer("flash", "s1", FlashSalePrice("flash", "a", Money(8000), per_buyer_limit=2)),
    ]
    result = price([line("a", "s1", 10000)], promotions, buyer=BuyerContext("b", member_level=2), at=NOW)
    (priced,) = result.shops[0].lines
    assert priced.list_price == Money(10000)
    assert priced.line.unit_price == Money(8000)
    assert priced.price_source is not None and priced.price_source.promotion_id == "flash"
    assert priced.allocations == ()  # a unit price is a price, not a discount
    assert result.total == Money(8000)


def test_unit_prices_never_stack_and_the_others_say_a_lower_price_applied() -> None:
    promotions = [
        offer("member", "s1", member_prices("a", (1, 9000))),
        offer("ltd", "s1", LimitedTimeDiscount(off_bp=500)),  # 95.00
    ]
    result = price([line("a", "s1", 10000, 2)], promotions, buyer=BuyerContext("b", member_level=1))
    shop = result.shops[0]
    assert shop.lines[0].line.unit_price == Money(9000)
    assert result.total == Money(18000)  # 90.00, not 90.00 less 5%
    assert [(s.promotion_id, s.reason, s.line_key) for s in shop.skipped] == [
        ("ltd", "lower_price_applied", "a")
    ]


def test_a_member_price_needs_the_buyers_member_level() -> None:
    promotions = [offer("member", "s1", member_prices("a", (3, 7000)))]
    shop = price([line("a", "s1", 10000)], promotions, buyer=BuyerContext("b", member_level=2)).shops[0]
    assert shop.lines[0].line.unit_price == Money(10000)
    assert skipped(shop) == [("member", "member_level_too_low")]
    assert "level 3" in shop.skipped[0].detail


def test_a_flash_sale_price_holds_only_within_the_per_buyer_limit() -> None:
    flash = offer("flash", "s1", FlashSalePrice("flash", "a", Money(5000), per_buyer_limit=2))
    within = price([line("a", "s1", 10000, 2)], [flash]).shops[0]
    assert within.lines[0].line.unit_price == Money(5000)
    already = BuyerContext("b", flash_sale_bought={"flash": 1})
    beyond = price([line("a", "s1", 10000, 2)], [flash], buyer=already).shops[0]
    assert beyond.lines[0].line.unit_price == Money(10000)
    assert skipped(beyond) == [("flash", "purchase_limit_exceeded")]


def test_a_sold_out_flash_sale_leaves_the_line_at_its_other_prices() -> None:
    sale = FlashSale.create(
        "fs",
        "s1",
        "a",
        "秒杀",
        price=Money(5000),
        list_price=Money(10000),
        quota=30,
        available_stock=100,
        per_buyer_limit=1,
        starts_at=NOW - DAY,
        ends_at=NOW + DAY,
        at=NOW - DAY,
    )
    promotions = [sale.as_promotion(remaining=0), offer("ltd", "s1", LimitedTimeDiscount(off_bp=1000))]
    shop = price([line("a", "s1", 10000)], promotions, at=NOW).shops[0]
    assert shop.lines[0].line.unit_price == Money(9000)
    assert skipped(shop) == [("fs", "sold_out")]
    assert price([line("a", "s1", 10000)], [sale], at=NOW).total == Money(5000)


def test_a_limited_time_set_price_wins_over_its_rate_for_that_sku() -> None:
    rule = LimitedTimeDiscount(off_bp=1000, prices=[SkuPrice("b", Money(4000))])
    shop = price([line("a", "s1", 10000), line("b", "s1", 5000)], [offer("ltd", "s1", rule)]).shops[0]
    assert [p.line.unit_price.amount for p in shop.lines] == [9000, 4000]


# -- step 2: shop promotions --------------------------------------------------------------------


def test_highest_reached_tier_applies_and_is_split_over_the_shops_lines_to_the_cent() -> None:
    lines = [line("a", "s1", 3333), line("b", "s1", 3333, 2), line("c", "s1", 3334)]
    result = price(lines, [reduction("p", "s1", (10000, 1000), (15000, 2000))], {"s1": Money(0)})
    shop = result.shops[0]
    assert shop.discount == Money(1000)
    assert [p.discount.amount for p in shop.lines] == [250, 500, 250]
    assert result.total == Money(13333 - 1000)


def test_a_repeating_full_reduction_takes_its_discount_per_multiple_up_to_its_cap() -> None:
    every = reduction("p", "s1", (10000, 1000), repeating=True, cap=3000)
    assert price([line("a", "s1", 25000)], [every]).discount == Money(2000)
    assert price([line("a", "s1", 35000)], [every]).discount == Money(3000)
    assert price([line("a", "s1", 95000)], [every]).discount == Money(3000)
    (hint,) = price([line("a", "s1", 25000)], [every]).shops[0].hints
    assert (hint.text, hint.add, hint.reward) == (
        "add ¥50.00 for ¥30.00 off (满减 p)",
        Money(5000),
        Money(3000),
    )
    assert price([line("a", "s1", 35000)], [every]).shops[0].hints == ()  # the cap is reached


def test_a_full_discount_takes_a_percentage_rounded_down_to_the_cent() -> None:
    rule = FullDiscountRule([RateTier(Money(10000), 1500)])
    shop = price([line("a", "s1", 12345)], [offer("zhe", "s1", rule)]).shops[0]
    assert shop.discount == Money(1851)  # 15% of 123.45 is 18.5175


def test_buy_n_pay_m_makes_the_cheapest_units_free() -> None:
    lines = [line("x", "s1", 1000, 2), line("y", "s1", 500), line("z", "s1", 3000, 3)]
    shop = price(lines, [offer("b3p2", "s1", BuyNPayM(3, 2))]).shops[0]
    (applied,) = shop.applied
    assert applied.amount == Money(1500)  # 6 units: the two cheapest, 5.00 and 10.00, are free
    assert shop.discount == Money(1500)
    assert "add 1 more item" not in " ".join(h.text for h in shop.hints)
    short = price([line("x", "s1", 1000, 2)], [offer("b3p2", "s1", BuyNPayM(3, 2))]).shops[0]
    assert skipped(short) == [("b3p2", "not_enough_items")]
    assert short.hints[0].add_units == 1


def test_a_promotion_scoped_to_a_category_counts_and_discounts_only_its_lines() -> None:
    scoped = shop_reduction("p", "s1", (10000, 1000), scope=Scope(category_ids=frozenset({"phones"})))
    below = [line("a", "s1", 8000, cats=("phones", "electronics")), line("b", "s1", 5000, cats=("cases",))]
    assert price(below, [scoped]).discount == Money(0)  # the shop has 130.00, the category 80.00
    above = [line("a", "s1", 12000, cats=("phones",)), line("b", "s1", 5000, cats=("cases",))]
    shop = price(above, [scoped]).shops[0]
    assert [p.discount.amount for p in shop.lines] == [1000, 0]


def test_a_scope_naming_a_parent_category_covers_lines_in_its_children() -> None:
    scoped = shop_reduction("p", "s1", (10000, 1000), scope=Scope(category_ids=frozenset({"electronics"})))
    assert price([line("a", "s1", 12000, cats=("phones", "electronics"))], [scoped]).discount == Money(1000)


def test_a_promotion_with_no_line_in_its_scope_says_so() -> None:
    scoped = shop_reduction("p", "s1", (100, 10), scope=Scope(sku_ids=frozenset({"zzz"})))
    assert skipped(price([line("a", "s1", 12000)], [scoped]).shops[0]) == [("p", "no_eligible_lines")]


def test_promotions_in_one_exclusivity_group_do_not_stack_the_best_for_the_buyer_wins() -> None:
    promotions = [reduction("small", "s1", (10000, 500)), reduction("big", "s1", (10000, 1200))]
    shop = price([line("a", "s1", 15000)], promotions, {}).shops[0]
    assert [a.promotion_id for a in shop.applied] == ["big"]
    assert skipped(shop) == [("small", "not_stackable")]


def test_groups_apply_in_priority_order_each_on_the_amount_the_earlier_ones_left() -> None:
    ten_percent = offer("zhe", "s1", FullDiscountRule([RateTier(Money(0), 1000)]))  # 满折: priority 200
    manjian = shop_reduction("mj", "s1", (10000, 1000))  # 满减: priority 100, after the 满折
    shop = price([line("a", "s1", 10500)], [ten_percent, manjian]).shops[0]
    assert [a.promotion_id for a in shop.applied] == ["zhe"]  # 105.00 - 10.50 = 94.50 < 100.00
    assert skipped(shop) == [("mj", "threshold_not_met")]
    assert [h.add for h in shop.hints] == [Money(550)]
    first = shop_reduction("mj", "s1", (10000, 1000), priority=300)
    shop = price([line("a", "s1", 10500)], [ten_percent, first]).shops[0]
    assert [a.promotion_id for a in shop.applied] == ["mj", "zhe"]
    assert shop.total == Money(8550)  # (105.00 - 10.00) less 10%


def test_within_a_group_the_winner_leaves_the_lowest_total_not_the_biggest_discount_now() -> None:
    a = shop_reduction("a", "s1", (10000, 4100), group="g", priority=200)
    b = shop_reduction("b", "s1", (10000, 3900), group="g", priority=200)
    later = shop_reduction("c", "s1", (20000, 2000), group="h", priority=100)
    shop = price([line("x", "s1", 24000)], [a, b, later]).shops[0]
    # a: 240 - 41 = 199, below c's 200; b: 240 - 39 = 201, then c: 181.
    assert [p.promotion_id for p in shop.applied] == ["b", "c"]
    assert skipped(shop) == [("a", "not_stackable")]
    assert shop.total == Money(18100)


def test_a_shop_promotion_never_touches_another_shops_lines() -> None:
    lines = [line("a", "s1", 20000), line("b", "s2", 20000)]
    result = price(lines, [reduction("p", "s1", (10000, 1500))], {"s1": Money(0), "s2": Money(600)})
    s1, s2 = result.shops
    assert s1.discount == Money(1500)
    assert s2.discount == Money(0)
    assert s2.total == Money(20600)


def test_below_threshold_nothing_applies_and_the_buyer_gets_an_exact_hint() -> None:
    result = price([line("a", "s1", 18800)], [reduction("p", "s1", (20000, 2000))], {})
    shop = result.shops[0]
    assert shop.discount == Money(0)
    assert skipped(shop) == [("p", "threshold_not_met")]
    (hint,) = shop.hints
    assert hint.text == "add ¥12.00 for ¥20.00 off (满减 p)"
    assert (hint.add, hint.reward) == (Money(1200), Money(2000))


def test_the_next_tier_is_hinted_even_when_a_lower_tier_applies() -> None:
    shop = price([line("a", "s1", 21000)], [reduction("p", "s1", (20000, 2000), (30000, 4000))]).shops[0]
    assert shop.discount == Money(2000)
    assert [h.text for h in shop.hints] == ["add ¥90.00 for ¥40.00 off (满减 p)"]


def test_offers_outside_their_window_or_switched_off_are_reported_not_applied() -> None:
    later = shop_reduction("later", "s1", (100, 10), starts_at=NOW + timedelta(hours=1))
    over = shop_reduction("over", "s1", (100, 20), ends_at=NOW - timedelta(hours=1), starts_at=NOW - DAY)
    off = reduction("off", "s1", (100, 30))
    off.enabled = False
    shop = price([line("a", "s1", 10000)], [later, over, off], at=NOW).shops[0]
    assert shop.discount == Money(0)
    assert sorted(skipped(shop)) == [("later", "not_started"), ("off", "disabled"), ("over", "ended")]


# -- step 3: the shop coupon --------------------------------------------------------------------


def test_a_shop_coupons_threshold_is_checked_after_shop_promotions() -> None:
    shop = price(
        [line("a", "s1", 10500)],
        [reduction("p", "s1", (10000, 1000))],
        coupons=[coupon("c", "s1", 500, 10000)],
    ).shops[0]
    assert [a.promotion_id for a in shop.applied] == ["p"]
    assert skipped(shop) == [("c", "threshold_not_met")]
    assert shop.hints[-1].text == "add ¥5.00 to use it: ¥5.00 off (coupon c)"
    assert shop.coupon_id is None


def test_at_most_one_coupon_per_shop_and_one_platform_coupon_per_checkout() -> None:
    lines = [line("a", "s1", 10000), line("b", "s2", 10000)]
    with pytest.raises(InvalidInput) as error:
        price(lines, coupons=[coupon("c1", "s1", 100), coupon("c2", "s2", 100), coupon("c3", "s1", 100)])
    assert error.value.field == "coupons[2]"
    with pytest.raises(InvalidInput):
        price(lines, coupons=[coupon("p1", None, 100), coupon("p2", None, 100)])
    result = price(lines, coupons=[coupon("c1", "s1", 100), coupon("c2", "s2", 100), coupon("p1", None, 100)])
    assert result.coupon_ids == ("c1", "c2", "p1")


def test_a_percent_coupon_is_capped() -> None:
    result = price([line("a", "s1", 30000)], coupons=[coupon("c", "s1", percent_bp=1000, cap=2000)])
    assert result.discount == Money(2000)


def test_a_coupon_never_takes_off_more_than_its_lines_come_to() -> None:
    result = price([line("a", "s1", 500), line("b", "s2", 9000)], coupons=[coupon("c", "s1", 1000)])
    assert [s.total.amount for s in result.shops] == [0, 9000]


def test_a_coupon_outside_its_validity_is_reported_and_not_applied() -> None:
    expired = coupon("old", "s1", 500, valid_from=NOW - 2 * DAY, valid_until=NOW - DAY)
    early = coupon("new", None, 500, valid_from=NOW + DAY, valid_until=NOW + 2 * DAY)
    result = price([line("a", "s1", 10000)], coupons=[expired, early], at=NOW)
    assert result.discount == Money(0)
    assert skipped(result.shops[0]) == [("old", "ended")]
    assert skipped(result) == [("new", "not_started")]


def test_a_coupon_for_a_shop_not_in_the_checkout_is_reported() -> None:
    result = price([line("a", "s1", 10000)], coupons=[coupon("c", "s9", 500)])
    assert skipped(result) == [("c", "no_eligible_lines")]


# -- steps 4 and 5: the platform ----------------------------------------------------------------


def test_the_cross_shop_threshold_counts_every_shop_after_the_shop_coupons() -> None:
    lines = [line("a", "s1", 15000), line("b", "s2", 15000)]
    promotions = [cross_shop("x", (30000, 5000))]
    without = price(lines, promotions)
    assert without.discount == Money(5000)
    assert [s.discount.amount for s in without.shops] == [2500, 2500]
    with_coupon = price(lines, promotions, coupons=[coupon("c", "s1", 1000)])
    assert with_coupon.discount == Money(1000)  # 150 - 10 + 150 = 290 < 300
    assert skipped(with_coupon) == [("x", "threshold_not_met")]
    assert with_coupon.hints[0].text == "add ¥10.00 for ¥50.00 off (cross_shop_reduction x)"


def test_a_cross_shop_reduction_is_funded_by_the_platform_and_each_shop_carries_its_share() -> None:
    lines = [line("a", "s1", 10000), line("b", "s2", 20000)]
    result = price(lines, [cross_shop("x", (30000, 3001))])
    (whole,) = result.applied
    assert (whole.amount, whole.funder) == (Money(3001), Funder.PLATFORM)
    shares = [(a.promotion_id, a.amount.amount, a.funder) for s in result.shops for a in s.applied]
    assert shares == [("x", 1000, Funder.PLATFORM), ("x", 2001, Funder.PLATFORM)]


def test_platform_coupon_is_split_across_shops_to_the_cent() -> None:
    lines = [line("a", "s1", 3333), line("b", "s2", 3333), line("c", "s3", 3334)]
    result = price(lines, coupons=[coupon("p", None, 1000)])
    assert [s.discount.amount for s in result.shops] == [333, 333, 334]
    assert all(a.funder is Funder.PLATFORM for s in result.shops for p in s.lines for a in p.allocations)
    assert result.total == Money(9000)


def test_the_platform_coupon_threshold_is_checked_after_platform_promotions() -> None:
    lines = [line("a", "s1", 15000), line("b", "s2", 15000)]
    result = price(lines, [cross_shop("x", (30000, 3000))], coupons=[coupon("p", None, 1000, 28000)])
    assert result.discount == Money(3000)  # 300 - 30 = 270 < 280
    assert skipped(result) == [("p", "threshold_not_met")]


# -- step 6: shipping ---------------------------------------------------------------------------


def test_free_shipping_counts_the_shop_amount_after_every_discount() -> None:
    promotions = [reduction("p", "s1", (10000, 1000)), offer("ship", "s1", FreeShipping(Money(9900)))]
    shop = price([line("a", "s1", 10000)], promotions, {"s1": Money(800)}).shops[0]
    assert (shop.shipping_fee, shop.shipping, shop.shipping_waiver) == (Money(800), Money(800), None)
    assert [h.text for h in shop.hints] == ["add ¥9.00 for free shipping (free_shipping ship)"]
    shop = price([line("a", "s1", 11000)], promotions, {"s1": Money(800)}).shops[0]
    assert shop.shipping == Money(0)
    assert shop.shipping_waiver is not None and shop.shipping_waiver.funder is Funder.SHOP
    assert shop.total == Money(10000)


def test_one_free_shipping_offer_per_shop_the_shops_own_before_the_platforms() -> None:
    promotions = [offer("platform", None, FreeShipping()), offer("own", "s1", FreeShipping())]
    result = price(
        [line("a", "s1", 1000), line("b", "s2", 1000)], promotions, {"s1": Money(500), "s2": Money(600)}
    )
    s1, s2 = result.shops
    assert s1.shipping_waiver is not None and s1.shipping_waiver.promotion_id == "own"
    assert skipped(s1) == [("platform", "not_stackable")]
    assert s2.shipping_waiver is not None
    assert (s2.shipping_waiver.promotion_id, s2.shipping_waiver.funder) == ("platform", Funder.PLATFORM)
    assert result.shipping == Money(0)


# -- the breakdown ------------------------------------------------------------------------------


def test_each_allocation_records_its_promotion_and_funder() -> None:
    shop = price([line("a", "s1", 30000)], [reduction("p", "s1", (20000, 2000))], {}).shops[0]
    (allocation,) = shop.lines[0].allocations
    assert (allocation.promotion_id, allocation.amount, allocation.funder) == ("p", Money(2000), "shop")


def test_allocations_are_plain_values_that_come_back_the_same() -> None:
    lines = [line("a", "s1", 30000), line("b", "s2", 10000)]
    result = price(lines, [reduction("p", "s1", (20000, 2000))], coupons=[coupon("c", None, 700)])
    for shop in result.shops:
        for priced in shop.lines:
            plain = priced.allocations_plain()
            assert all(isinstance(v, str | int) for item in plain for v in item.values())
            assert tuple(Allocation.from_plain(item) for item in plain) == priced.allocations


def test_lines_come_out_in_input_order_whatever_the_engine_works_in() -> None:
    lines = [line("z", "s2", 100), line("b", "s1", 100), line("a", "s2", 100)]
    result = price(lines)
    assert [s.shop_id for s in result.shops] == ["s2", "s1"]
    assert [p.line.key for p in result.shops[0].lines] == ["z", "a"]


def test_the_skeletons_stored_full_reductions_still_load_and_price() -> None:
    legacy = {
        "id": "p",
        "shop_id": "s1",
        "name": "满减",
        "tiers": [
            {
                "threshold": {"amount": 20000, "currency": "CNY"},
                "discount": {"amount": 3000, "currency": "CNY"},
            }
        ],
        "starts_at": "2026-11-10T10:00:00Z",
        "ends_at": "2026-11-20T10:00:00Z",
        "enabled": True,
    }
    promotion = PROMOTIONS.decode(legacy, 3)  # a generic promotion of kind full_reduction now
    rule = promotion.rule
    assert isinstance(rule, FullReductionRule) and promotion.version == 3
    assert (rule.repeating, rule.cap, promotion.group, promotion.scope.is_everything) == (
        False,
        None,
        None,
        True,
    )
    assert price([line("a", "s1", 20000)], [promotion], at=NOW).discount == Money(3000)
    assert PROMOTIONS.decode(msgspec.json.decode(PROMOTIONS.encode(promotion)), 4).scope == promotion.scope


def test_a_line_key_may_appear_once() -> None:
    with pytest.raises(InvalidInput) as error:
        price([line("a", "s1", 100), line("a", "s1", 200)])
    assert error.value.field == "items[1]"


def test_lines_must_share_the_checkout_currency() -> None:
    with pytest.raises(InvalidInput) as error:
        price([PricingLine("a", "s1", Money(100, Currency.USD), 1)])
    assert error.value.field == "currency"


def test_a_coupon_is_not_accepted_as_a_promotion() -> None:
    with pytest.raises(InvalidInput) as error:
        price([line("a", "s1", 100)], [coupon("c", "s1", 10)])  # type: ignore[list-item]
    assert error.value.field == "promotions[0]"
