"""The engine's invariants on thousands of random pricings (domain.md "Pricing and promotions")."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st
from offers import NOW
from pricing_strategies import Case, cases, held_coupons, one_per_owner

from marketcore.domain.promotions.coupons import Coupon
from marketcore.domain.promotions.pricing import PricingResult, price
from marketcore.domain.promotions.promotions import Funder
from marketcore.domain.shared.money import Money


def priced(case: Case, coupons: list[Coupon], order: list[int] | None = None) -> PricingResult:
    lines = case.lines if order is None else [case.lines[i] for i in order]
    return price(lines, case.promotions, case.fees, buyer=case.buyer, coupons=coupons, at=NOW)


def check_invariants(case: Case, coupons: list[Coupon], result: PricingResult) -> None:
    owner_of = {p.id: p.shop_id for p in case.promotions} | {c.id: c.shop_id for c in coupons}
    by_offer: dict[str, int] = defaultdict(int)
    for shop in result.shops:
        per_shop: dict[str, int] = defaultdict(int)
        for line in shop.lines:
            assert line.line.shop_id == shop.shop_id
            assert Money(0) <= line.line.unit_price <= line.list_price
            left = line.subtotal.amount
            for allocation in line.allocations:
                # no discount above its base: each part fits in what the line still came to
                assert 0 < allocation.amount.amount <= left
                left -= allocation.amount.amount
                owner = owner_of[allocation.promotion_id]
                # shop offers never touch another shop's lines; platform offers are platform-funded
                assert owner is None or owner == shop.shop_id
                assert allocation.funder is (Funder.PLATFORM if owner is None else Funder.SHOP)
                per_shop[allocation.promotion_id] += allocation.amount.amount
                by_offer[allocation.promotion_id] += allocation.amount.amount
            assert line.total == Money(left) and left >= 0  # never below zero
        # each applied offer's amount is exactly what its allocations on this shop's lines sum to
        assert {a.promotion_id: a.amount.amount for a in shop.applied} == dict(per_shop)
        assert shop.discount == Money.sum(a.amount for a in shop.applied)
        assert Money(0) <= shop.shipping <= shop.shipping_fee
        waived = shop.shipping_waiver.amount if shop.shipping_waiver else Money(0)
        assert shop.shipping == shop.shipping_fee - waived
        assert shop.total == Money.sum(p.total for p in shop.lines) + shop.shipping
    for applied in result.applied:
        assert by_offer[applied.promotion_id] == applied.amount.amount  # platform offers, across shops
    # the coupon rules: one per shop, one for the platform, only chosen ones
    used = result.coupon_ids
    assert len(used) == len(set(used)) and set(used) <= {c.id for c in coupons}
    owners = [owner_of[c] for c in used]
    assert len(owners) == len(set(owners))
    for shop in result.shops:
        assert shop.coupon_id is None or owner_of[shop.coupon_id] == shop.shop_id
    assert result.total == Money.sum(s.total for s in result.shops)


@settings(max_examples=1200, deadline=None)
@given(data=st.data())
def test_pricing_invariants_hold_on_random_checkouts(data: st.DataObject) -> None:
    case = data.draw(cases())
    coupons = one_per_owner(data.draw(held_coupons(case.lines)))
    check_invariants(case, coupons, priced(case, coupons))


@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_the_result_is_the_same_whatever_order_the_lines_arrive_in(data: st.DataObject) -> None:
    case = data.draw(cases())
    coupons = one_per_owner(data.draw(held_coupons(case.lines)))
    order = data.draw(st.permutations(range(len(case.lines))))
    first, second = priced(case, coupons), priced(case, coupons, order)
    assert second.total == first.total
    assert [(s.shop_id, s.total, s.shipping) for s in sorted(second.shops, key=lambda s: s.shop_id)] == [
        (s.shop_id, s.total, s.shipping) for s in sorted(first.shops, key=lambda s: s.shop_id)
    ]
    lines_of = {p.line.key: p for s in first.shops for p in s.lines}
    for shop in second.shops:
        for line in shop.lines:
            assert line == lines_of[line.line.key]


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_offers_of_shops_not_in_the_checkout_change_nothing(data: st.DataObject) -> None:
    case = data.draw(cases())
    elsewhere = [p for p in case.promotions if p.shop_id is not None]
    for promotion in elsewhere:
        promotion.shop_id = "elsewhere"
    result = price(case.lines, elsewhere, case.fees, at=NOW)
    assert result.discount == Money(0)
    assert all(not s.skipped and not s.hints for s in result.shops)
