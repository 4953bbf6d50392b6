from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from marketcore.domain.promotions.pricing import PricingLine, price
from marketcore.domain.promotions.promotions import FullReduction
from marketcore.domain.shared.money import Money

NOW = datetime(2026, 11, 11, tzinfo=UTC)


def reduction(id: str, shop: str, *tiers: tuple[int, int]) -> FullReduction:
    return FullReduction.create(
        id, shop, f"满减 {id}", list(tiers), NOW - timedelta(days=1), NOW + timedelta(days=1)
    )


def line(key: str, shop: str, unit: int, qty: int = 1) -> PricingLine:
    return PricingLine(key, shop, Money(unit), qty)


def test_highest_reached_tier_applies_and_is_split_over_the_shops_lines_to_the_cent() -> None:
    lines = [line("a", "s1", 3333), line("b", "s1", 3333, 2), line("c", "s1", 3334)]
    result = price(lines, [reduction("p", "s1", (10000, 1000), (15000, 2000))], {"s1": Money(0)})
    shop = result.shops[0]
    assert shop.discount == Money(1000)
    assert [p.discount.amount for p in shop.lines] == [250, 500, 250]
    assert result.total == Money(13333 - 1000)


def test_a_shop_promotion_never_touches_another_shops_lines() -> None:
    lines = [line("a", "s1", 20000), line("b", "s2", 20000)]
    result = price(lines, [reduction("p", "s1", (10000, 1500))], {"s1": Money(0), "s2": Money(600)})
    s1, s2 = result.shops
    assert s1.discount == Money(1500)
    assert s2.discount == Money(0)
    assert s2.total == Money(20600)


def test_below_threshold_nothing_applies_and_the_buyer_gets_a_hint() -> None:
    result = price([line("a", "s1", 18800)], [reduction("p", "s1", (20000, 2000))], {})
    shop = result.shops[0]
    assert shop.discount == Money(0)
    assert [s.reason for s in shop.skipped] == ["threshold_not_met"]
    assert shop.hints == ("add 12.00 CNY more for 20.00 CNY off (满减 p)",)


def test_full_reductions_do_not_stack_the_best_for_the_buyer_wins() -> None:
    promotions = [reduction("small", "s1", (10000, 500)), reduction("big", "s1", (10000, 1200))]
    shop = price([line("a", "s1", 15000)], promotions, {}).shops[0]
    assert [a.promotion_id for a in shop.applied] == ["big"]
    assert [(s.promotion_id, s.reason) for s in shop.skipped] == [("small", "not_stackable")]


def test_each_allocation_records_its_promotion_and_funder() -> None:
    shop = price([line("a", "s1", 30000)], [reduction("p", "s1", (20000, 2000))], {}).shops[0]
    (allocation,) = shop.lines[0].allocations
    assert (allocation.promotion_id, allocation.amount, allocation.funder) == ("p", Money(2000), "shop")


lines_strategy = st.lists(
    st.tuples(st.sampled_from(["s1", "s2", "s3"]), st.integers(1, 500_000), st.integers(1, 20)),
    min_size=1,
    max_size=30,
)


@given(raw=lines_strategy, threshold=st.integers(2, 2_000_000), off=st.integers(1, 1_000_000))
def test_pricing_invariants(raw: list[tuple[str, int, int]], threshold: int, off: int) -> None:
    off = min(off, threshold - 1)
    lines = [line(f"k{i}", shop, unit, qty) for i, (shop, unit, qty) in enumerate(raw)]
    promotions = [reduction("p1", "s1", (threshold, off)), reduction("p2", "s2", (threshold, off))]
    result = price(lines, promotions, {})
    for shop in result.shops:
        assert shop.discount == Money.sum(a.amount for a in shop.applied)
        for priced in shop.lines:
            assert priced.line.shop_id == shop.shop_id
            assert Money(0) <= priced.discount <= priced.line.subtotal
            assert priced.total >= Money(0)
    reversed_result = price(list(reversed(lines)), promotions, {})
    assert reversed_result.total == result.total
