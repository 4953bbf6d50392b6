"""Best-coupon selection: exact under the one-per-shop / one-platform rules, checked against
brute force."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st
from offers import DAY, NOW, coupon, cross_shop, line, offer, reduction
from pricing_strategies import Case, cases, held_coupons

from marketcore.domain.promotions.coupons import Coupon
from marketcore.domain.promotions.kinds import FreeShipping
from marketcore.domain.promotions.pricing import CouponChoice, PricingRun, price
from marketcore.domain.promotions.rules import ANONYMOUS
from marketcore.domain.promotions.selection import best_coupons
from marketcore.domain.shared.money import Currency, Money


def every_choice(held: Sequence[Coupon]) -> list[list[Coupon]]:
    """Every combination the rules allow: for each owner (a shop, or the platform), none or one."""
    by_owner: dict[str | None, list[Coupon | None]] = defaultdict(lambda: [None])
    for held_coupon in held:
        by_owner[held_coupon.shop_id].append(held_coupon)
    return [[c for c in combo if c is not None] for combo in itertools.product(*by_owner.values())]


def suggest(case: Case, held: Sequence[Coupon]):  # type: ignore[no-untyped-def]
    return best_coupons(case.lines, case.promotions, case.fees, held, buyer=case.buyer, at=NOW)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_suggested_coupons_cost_no_more_than_any_allowed_combination(data: st.DataObject) -> None:
    case = data.draw(cases(max_lines=8, max_promotions=6))
    held = data.draw(held_coupons(case.lines, max_size=6))
    suggestion = suggest(case, held)
    totals = [
        price(case.lines, case.promotions, case.fees, buyer=case.buyer, coupons=combo, at=NOW).total
        for combo in every_choice(held)
    ]
    assert suggestion.pricing.total == min(totals)
    chosen = [c for c in held if c.id in suggestion.coupon_ids]
    again = price(case.lines, case.promotions, case.fees, buyer=case.buyer, coupons=chosen, at=NOW)
    assert again.total == suggestion.pricing.total
    assert set(suggestion.pricing.coupon_ids) == set(suggestion.coupon_ids)  # every suggested one applies
    assert suggestion.saving == totals[0] - suggestion.pricing.total  # totals[0]: no coupon at all


def test_the_biggest_shop_coupon_is_not_best_when_it_costs_the_cross_shop_threshold() -> None:
    lines = [line("a", "s1", 16000), line("b", "s2", 15000)]
    held = [coupon("big", "s1", 2000), coupon("small", "s1", 1000)]
    suggestion = best_coupons(lines, [cross_shop("x", (30000, 5000))], {}, held)
    assert suggestion.coupon_ids == ("small",)  # 310 - 10 = 300, then 50 off: 250 (the big one: 290)
    assert suggestion.pricing.total == Money(25000)


def test_a_smaller_shop_coupon_that_keeps_free_shipping_beats_a_bigger_one() -> None:
    lines = [line("a", "s1", 10000)]
    promotions = [offer("ship", "s1", FreeShipping(Money(9500)))]
    held = [coupon("big", "s1", 800), coupon("small", "s1", 500)]
    suggestion = best_coupons(lines, promotions, {"s1": Money(1000)}, held)
    assert suggestion.coupon_ids == ("small",)
    assert suggestion.pricing.total == Money(9500)


def test_the_platform_coupons_threshold_depends_on_the_shop_coupons_chosen() -> None:
    lines = [line("a", "s1", 10000), line("b", "s2", 10000)]
    held = [coupon("shop", "s1", 500), coupon("platform", None, 3000, 20000)]
    suggestion = best_coupons(lines, [], {}, held)
    assert suggestion.coupon_ids == ("platform",)
    assert suggestion.pricing.total == Money(17000)


def test_when_totals_tie_fewer_coupons_are_suggested() -> None:
    lines = [line("a", "s1", 10000)]
    promotions = [offer("ship", "s1", FreeShipping(Money(10000)))]
    suggestion = best_coupons(lines, promotions, {"s1": Money(500)}, [coupon("c", "s1", 500)])
    assert suggestion.coupon_ids == ()  # 95.00 + 5.00 shipping, or 100.00 shipped free
    assert suggestion.saving == Money(0)


def test_coupons_out_of_their_window_or_for_other_shops_are_never_suggested() -> None:
    held = [
        coupon("expired", "s1", 5000, valid_from=NOW - 3 * DAY, valid_until=NOW - DAY),
        coupon("elsewhere", "s9", 5000),
        coupon("fine", "s1", 100),
    ]
    suggestion = best_coupons([line("a", "s1", 10000)], [], {}, held, at=NOW)
    assert suggestion.coupon_ids == ("fine",)


def test_shop_coupons_below_their_threshold_after_shop_promotions_are_never_suggested() -> None:
    promotions = [reduction("p", "s1", (10000, 1000))]
    held = [coupon("needs_100", "s1", 2000, 10000), coupon("any", "s1", 100)]
    suggestion = best_coupons([line("a", "s1", 10500)], promotions, {}, held)
    assert suggestion.coupon_ids == ("any",)


def test_tens_of_coupons_over_several_shops_are_searched_exactly_pricing_few_combinations() -> None:
    shops = ["s1", "s2", "s3", "s4"]
    lines = [line(f"{s}-{n}", s, 4000 + 700 * n + 300 * i) for i, s in enumerate(shops) for n in range(4)]
    promotions = [
        cross_shop("x", (60000, 4000), (80000, 7000)),
        *(offer(f"ship-{s}", s, FreeShipping(Money(15000 + 1000 * i))) for i, s in enumerate(shops)),
        *(reduction(f"mj-{s}", s, (15000, 1000)) for s in shops),
    ]
    held = [coupon(f"{s}-c{k}", s, 300 + 450 * k, 5000 * k) for s in shops for k in range(4)]
    held += [coupon(f"p{k}", None, 1500 + 1000 * k, 60000 + 4000 * k) for k in range(3)]
    fees = {s: Money(800) for s in shops}
    suggestion = best_coupons(lines, promotions, fees, held)
    run = PricingRun(lines, promotions, fees, Currency.CNY, ANONYMOUS, None)
    best = None
    for combo in every_choice(held):
        choice = CouponChoice()
        for held_coupon in combo:
            offer_ = run.coupon_offer(held_coupon)
            if held_coupon.shop_id is None:
                choice.platform = offer_
            else:
                choice.shops[held_coupon.shop_id] = offer_
        total = run.total(choice)
        best = total if best is None else min(best, total)
    assert len(every_choice(held)) == 5**4 * 4
    assert suggestion.pricing.total == Money(best or 0)
    assert suggestion.evaluated < 60  # of 2500 combinations
