"""Best-coupon selection with a platform kind whose discount and ceiling read single lines: the
search builds a leaf's line amounts only when a rule reads them, so this checks that path against
brute force."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import ClassVar

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st
from offers import NOW, coupon, line, offer

from marketcore.domain.promotions.coupons import Coupon
from marketcore.domain.promotions.pricing import PricingLine, price
from marketcore.domain.promotions.rules import Applies, Basket, DoesNotApply, Outcome, Placement
from marketcore.domain.promotions.selection import best_coupons
from marketcore.domain.shared.money import Money


@attrs.frozen
class PerLineOff:
    """A platform offer: ``off`` from every eligible line that still comes to ``over`` or more
    (monotone: lowering a line never raises it, so its discount is its own ceiling)."""

    code: ClassVar[str] = "per_line_off"
    placement: ClassVar[Placement] = Placement.PLATFORM_PROMOTION
    default_priority: ClassVar[int] = 100

    over: int
    off: int

    def discount(self, basket: Basket) -> Outcome:
        got = self.ceiling(basket)
        return Applies(got, "per line") if got else DoesNotApply("no_line_over", "no line over it")

    def ceiling(self, basket: Basket) -> int:
        return sum(self.off for line in basket.lines if line.amount >= self.over)

    def to_params(self) -> dict[str, object]:
        return {"over": self.over, "off": self.off}

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> PerLineOff:
        return cls(int(str(params["over"])), int(str(params["off"])))


def every_choice(held: Sequence[Coupon]) -> list[list[Coupon]]:
    by_owner: dict[str | None, list[Coupon | None]] = defaultdict(lambda: [None])
    for held_coupon in held:
        by_owner[held_coupon.shop_id].append(held_coupon)
    return [[c for c in combo if c is not None] for combo in itertools.product(*by_owner.values())]


def test_a_shop_coupon_that_takes_a_line_below_a_per_line_offer_is_not_suggested() -> None:
    lines = [line("a", "s1", 10000), line("b", "s2", 10000)]
    promotions = [offer("each", None, PerLineOff(10000, 3000))]
    held = [coupon("small", "s1", 100)]  # takes line a to 99.00: the platform's 30.00 is lost
    suggestion = best_coupons(lines, promotions, {}, held, at=NOW)
    assert suggestion.coupon_ids == ()
    assert suggestion.pricing.total == Money(14000)


def test_the_smaller_of_two_shop_coupons_wins_when_it_keeps_a_line_over_a_per_line_offer() -> None:
    lines = [line("a", "s1", 10000), line("b", "s2", 10000)]
    promotions = [offer("each", None, PerLineOff(9900, 3000))]
    held = [coupon("big", "s1", 600), coupon("small", "s1", 100)]
    suggestion = best_coupons(lines, promotions, {}, held, at=NOW)
    assert suggestion.coupon_ids == ("small",)  # 99.00 + 100.00 - 2 x 30.00 (big: 194.00 - 30.00)
    assert suggestion.pricing.total == Money(13900)


CARTS = st.lists(
    st.tuples(st.sampled_from(["s1", "s2", "s3"]), st.integers(500, 30_000), st.integers(1, 3)),
    min_size=1,
    max_size=7,
)
HELD = st.lists(
    st.tuples(st.sampled_from(["s1", "s2", "s3", None]), st.integers(100, 8_000), st.integers(0, 20_000)),
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(cart=CARTS, held_raw=HELD, over=st.integers(1_000, 20_000), off=st.integers(1, 900))
def test_the_suggestion_is_the_cheapest_combination_with_a_per_line_platform_offer(
    cart: list[tuple[str, int, int]], held_raw: list[tuple[str | None, int, int]], over: int, off: int
) -> None:
    lines: list[PricingLine] = [line(f"k{n}", shop, unit, qty) for n, (shop, unit, qty) in enumerate(cart)]
    promotions = [offer("each", None, PerLineOff(over, off))]
    held = [coupon(f"c{n}", shop, value, threshold) for n, (shop, value, threshold) in enumerate(held_raw)]
    suggestion = best_coupons(lines, promotions, {}, held, at=NOW)
    totals = [price(lines, promotions, {}, coupons=combo, at=NOW).total for combo in every_choice(held)]
    assert suggestion.pricing.total == min(totals)
    assert suggestion.saving == totals[0] - suggestion.pricing.total
