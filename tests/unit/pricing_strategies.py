"""Hypothesis strategies for whole pricings: carts over several shops, offers of every built-in
kind with random scopes, groups and priorities, held coupons, shipping fees and buyers."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import strategies as st
from offers import NOW, coupon, tiers

from marketcore.domain.promotions.coupons import Coupon
from marketcore.domain.promotions.kinds import (
    BuyNPayM,
    CrossShopReduction,
    FlashSalePrice,
    FreeShipping,
    FullDiscountRule,
    FullReductionRule,
    LimitedTimeDiscount,
    MemberPrice,
    MemberPriceEntry,
    RateTier,
)
from marketcore.domain.promotions.pricing import PricingLine
from marketcore.domain.promotions.promotions import Promotion
from marketcore.domain.promotions.rules import BuyerContext, RuleKind
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.money import Money

SHOPS = ("s1", "s2", "s3")
CATEGORIES = ("c1", "c2", "c3")

# Strategies built once: building them inside every draw is most of hypothesis's cost here.
UNIT_PRICES = st.one_of(st.integers(0, 60_000), st.sampled_from([1, 99, 10_000, 33_333]))
QUANTITIES = st.integers(1, 5)
LINE_CATEGORIES = st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True)
SCOPE_CATEGORIES = st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2)
BOOLS = st.booleans()
RATES = st.integers(1, 9_999)
FEES = st.sampled_from([0, 500, 800, 1200])
GROUPS = st.sampled_from([None, None, "g1", "g2"])
PRIORITIES = st.sampled_from([None, None, 0, 150, 250])
THRESHOLDS = st.sampled_from([0, 0, 5_000, 20_000, 60_000])
LEVELS = st.integers(0, 3)
SCOPE_KINDS = st.integers(0, 3)
RULE_KINDS = st.integers(0, 6)
SHIPPING_THRESHOLDS = st.integers(0, 100_000)
TIER_THRESHOLDS = st.lists(st.integers(2, 150_000), min_size=1, max_size=3, unique=True)
RATE_THRESHOLDS = st.lists(st.integers(0, 150_000), min_size=1, max_size=3, unique=True)
RATE_TIERS = st.lists(RATES, min_size=3, max_size=3, unique=True)
REMAINING = st.one_of(st.none(), st.integers(0, 6))
FLASH = st.tuples(REMAINING, st.sampled_from(["f1", "f2"]), st.integers(0, 30_000))


@attrs.frozen
class Case:
    lines: list[PricingLine]
    promotions: list[Promotion]
    fees: dict[str, Money]
    buyer: BuyerContext

    def owner(self, promotion_id: str) -> str | None:
        for promotion in self.promotions:
            if promotion.id == promotion_id:
                return promotion.shop_id
        raise KeyError(promotion_id)


def carts(max_lines: int = 12, shops: Sequence[str] = SHOPS) -> st.SearchStrategy[list[PricingLine]]:
    def build(raw: list[tuple[str, int, int, list[str]]]) -> list[PricingLine]:
        return [
            PricingLine(f"k{index}", shop, Money(unit), quantity, f"sku{index}", tuple(categories))
            for index, (shop, unit, quantity, categories) in enumerate(raw)
        ]

    line = st.tuples(st.sampled_from(shops), UNIT_PRICES, QUANTITIES, LINE_CATEGORIES)
    return st.lists(line, min_size=1, max_size=max_lines).map(build)


@st.composite
def scopes(draw: st.DrawFn, lines: Sequence[PricingLine]) -> Scope:
    choice = draw(SCOPE_KINDS)
    if choice == 1:
        return Scope(category_ids=frozenset(draw(SCOPE_CATEGORIES)))
    if choice == 2:
        skus = [line.sku_id for line in lines]
        return Scope(sku_ids=frozenset(draw(st.lists(st.sampled_from(skus), min_size=1, max_size=3))))
    return EVERYTHING


@st.composite
def amount_tiers(draw: st.DrawFn, max_tiers: int = 3) -> list[tuple[int, int]]:
    thresholds = sorted(draw(TIER_THRESHOLDS))[:max_tiers]
    result: list[tuple[int, int]] = []
    for threshold in thresholds:
        low = result[-1][1] + 1 if result else 1
        if low >= threshold:
            break
        result.append((threshold, draw(st.integers(low, threshold - 1))))
    return result


@st.composite
def rules(draw: st.DrawFn, lines: Sequence[PricingLine], owner: str | None) -> RuleKind:
    skus = [line.sku_id for line in lines if line.shop_id == owner] or ["none"]
    if owner is None:
        if draw(BOOLS):
            return FreeShipping(Money(draw(SHIPPING_THRESHOLDS)))
        repeating = draw(BOOLS)
        if repeating:
            pair = draw(amount_tiers(1))
            cap = draw(st.one_of(st.none(), st.integers(pair[0][1], pair[0][1] * 4)))
            return CrossShopReduction(tiers(*pair), True, None if cap is None else Money(cap))
        return CrossShopReduction(tiers(*draw(amount_tiers())))
    kind = draw(RULE_KINDS)
    if kind == 0:
        if draw(BOOLS):
            pair = draw(amount_tiers(1))
            cap = draw(st.one_of(st.none(), st.integers(pair[0][1], pair[0][1] * 4)))
            return FullReductionRule(tiers(*pair), True, None if cap is None else Money(cap))
        return FullReductionRule(tiers(*draw(amount_tiers())))
    if kind == 1:
        thresholds = sorted(draw(RATE_THRESHOLDS))
        rates = sorted(draw(RATE_TIERS))
        return FullDiscountRule([RateTier(Money(t), r) for t, r in zip(thresholds, rates, strict=False)])
    if kind == 2:
        buy = draw(st.integers(2, 4))
        return BuyNPayM(buy, draw(st.integers(1, buy - 1)))
    if kind == 3:
        entries = draw(
            st.lists(
                st.tuples(st.sampled_from(skus), st.integers(1, 3), st.integers(0, 60_000)),
                min_size=1,
                max_size=4,
                unique_by=lambda e: (e[0], e[1]),
            )
        )
        return MemberPrice([MemberPriceEntry(s, level, Money(p)) for s, level, p in entries])
    if kind == 4:
        return LimitedTimeDiscount(off_bp=draw(RATES))
    if kind == 5:
        remaining, sale, flash_price = draw(FLASH)
        return FlashSalePrice(sale, draw(st.sampled_from(skus)), Money(flash_price), 3, remaining)
    return FreeShipping(Money(draw(SHIPPING_THRESHOLDS)))


@st.composite
def promotion_sets(draw: st.DrawFn, lines: Sequence[PricingLine], max_size: int = 8) -> list[Promotion]:
    shops = sorted({line.shop_id for line in lines})
    promotions = []
    for index in range(draw(st.integers(0, max_size))):
        owner = draw(st.one_of(st.sampled_from(shops), st.none()))
        rule = draw(rules(lines, owner))
        promotions.append(
            Promotion.create(
                f"p{index}",
                f"{rule.code} p{index}",
                owner,
                rule,
                None,
                None,
                scope=draw(scopes(lines)),
                group=draw(GROUPS),
                priority=draw(PRIORITIES),
            )
        )
    return promotions


@st.composite
def cases(draw: st.DrawFn, max_lines: int = 12, max_promotions: int = 8) -> Case:
    lines = draw(carts(max_lines))
    fees = {s: Money(draw(FEES)) for s in {line.shop_id for line in lines}}
    buyer = BuyerContext(
        "buyer",
        member_level=draw(LEVELS),
        flash_sale_bought={"f1": draw(LEVELS)},
    )
    return Case(lines, draw(promotion_sets(lines, max_promotions)), fees, buyer)


@st.composite
def held_coupons(draw: st.DrawFn, lines: Sequence[PricingLine], max_size: int = 8) -> list[Coupon]:
    shops = [*sorted({line.shop_id for line in lines}), "elsewhere"]
    held = []
    for index in range(draw(st.integers(0, max_size))):
        owner = draw(st.one_of(st.sampled_from(shops), st.none()))
        threshold = draw(THRESHOLDS)
        scope = draw(scopes(lines)) if draw(st.integers(0, 3)) == 0 else EVERYTHING
        if draw(BOOLS):
            held.append(coupon(f"c{index}", owner, draw(st.integers(1, 20_000)), threshold, scope=scope))
        else:
            cap = draw(st.one_of(st.none(), st.integers(1, 10_000)))
            bp = draw(st.integers(1, 5_000))
            held.append(coupon(f"c{index}", owner, percent_bp=bp, cap=cap, threshold=threshold, scope=scope))
    if draw(st.integers(0, 5)) == 0 and held:
        expired = held[0]
        held[0] = attrs.evolve(expired, valid_from=NOW.replace(year=2020), valid_until=NOW.replace(year=2021))
    return held


def one_per_owner(coupons: Sequence[Coupon]) -> list[Coupon]:
    chosen: dict[str | None, Coupon] = {}
    for held in coupons:
        chosen.setdefault(held.shop_id, held)
    return list(chosen.values())
