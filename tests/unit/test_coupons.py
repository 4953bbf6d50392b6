"""Coupon templates and held coupons: claiming, limits, validity, lock / use / return."""

from __future__ import annotations

import json
from datetime import timedelta

import msgspec
import pytest
from offers import DAY, NOW, line

from marketcore.adapters.documents import DocumentSpec
from marketcore.domain.promotions.coupons import (
    ClaimLimits,
    Coupon,
    CouponBudgetExhausted,
    CouponClaimed,
    CouponClaimLimitReached,
    CouponLocked,
    CouponNotClaimable,
    CouponNotUsable,
    CouponReturned,
    CouponStatus,
    CouponTemplate,
    CouponUsed,
)
from marketcore.domain.promotions.kinds import FixedAmountOff, FullReductionRule, PercentOff, Tier
from marketcore.domain.promotions.pricing import price
from marketcore.domain.promotions.promotions import Funder
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Money


def template(**overrides: object) -> CouponTemplate:
    options: dict[str, object] = {
        "claim_from": NOW - DAY,
        "claim_until": NOW + DAY,
        "budget": 20,
        "per_buyer_limit": 2,
        "valid_days": 7,
    }
    options.update(overrides)
    shop = options.pop("shop_id", "s1")
    rule = options.pop("rule", FixedAmountOff(Money(1000), Money(10000)))
    return CouponTemplate.create("t1", "满100减10", shop, rule, **options)  # type: ignore[arg-type]


def claimed(t: CouponTemplate | None = None, at: object = NOW) -> Coupon:
    return (t or template()).claim("c1", "buyer", at, issued=0, claimed_by_buyer=0)  # type: ignore[arg-type]


def test_a_coupon_claimed_with_n_days_validity_runs_from_the_claim() -> None:
    coupon = claimed()
    assert (coupon.valid_from, coupon.valid_until) == (NOW, NOW + timedelta(days=7))
    assert coupon.status is CouponStatus.AVAILABLE and coupon.funder is Funder.SHOP
    (event,) = coupon.events
    assert isinstance(event, CouponClaimed) and (event.template_id, event.buyer_id) == ("t1", "buyer")


def test_a_coupon_with_a_fixed_window_keeps_the_templates_window() -> None:
    t = template(valid_days=None, valid_from=NOW - DAY, valid_until=NOW + 3 * DAY)
    coupon = claimed(t)
    assert (coupon.valid_from, coupon.valid_until) == (NOW - DAY, NOW + 3 * DAY)


def test_a_template_gives_either_a_window_or_a_number_of_days() -> None:
    with pytest.raises(InvalidInput) as error:
        template(valid_from=NOW, valid_until=NOW + DAY)
    assert error.value.field == "valid_days"
    with pytest.raises(InvalidInput):
        template(valid_days=None)


def test_claims_beyond_the_per_buyer_limit_are_refused() -> None:
    with pytest.raises(CouponClaimLimitReached):
        template().claim("c9", "buyer", NOW, issued=3, claimed_by_buyer=2)


def test_claims_beyond_the_budget_are_refused() -> None:
    with pytest.raises(CouponBudgetExhausted):
        template().claim("c9", "buyer", NOW, issued=20, claimed_by_buyer=0)


def test_claim_limits_say_what_the_conditional_update_must_enforce() -> None:
    limits = template().limits
    assert limits == ClaimLimits("t1", budget=20, per_buyer_limit=2)
    assert limits.refusal(issued=19, claimed_by_buyer=1) is None
    assert isinstance(limits.refusal(issued=20, claimed_by_buyer=0), CouponBudgetExhausted)
    assert isinstance(limits.refusal(issued=0, claimed_by_buyer=2), CouponClaimLimitReached)


def test_a_template_cannot_be_claimed_outside_its_claim_window_or_once_stopped() -> None:
    t = template()
    with pytest.raises(CouponNotClaimable):
        t.claim("c9", "buyer", NOW + 2 * DAY, issued=0, claimed_by_buyer=0)
    t.stop(NOW)
    with pytest.raises(CouponNotClaimable):
        t.claim("c9", "buyer", NOW, issued=0, claimed_by_buyer=0)


def test_a_held_coupon_keeps_its_terms_when_the_template_stops() -> None:
    t = template()
    coupon = claimed(t)
    t.stop(NOW)
    assert coupon.is_usable(NOW + DAY)


def test_only_coupon_kinds_make_coupon_templates() -> None:
    with pytest.raises(InvalidInput) as error:
        template(rule=FullReductionRule([Tier(Money(100), Money(10))]))
    assert error.value.field == "kind"


def test_a_coupon_is_locked_by_one_checkout_then_used_when_it_is_paid() -> None:
    coupon = claimed()
    coupon.lock("checkout-1", NOW)
    assert (coupon.status, coupon.checkout_id) == (CouponStatus.LOCKED, "checkout-1")
    coupon.use("checkout-1", NOW)
    assert (coupon.status, coupon.used_at) == (CouponStatus.USED, NOW)
    assert [type(e) for e in coupon.events] == [CouponClaimed, CouponLocked, CouponUsed]


def test_a_coupon_locked_by_one_checkout_cannot_be_locked_by_another() -> None:
    coupon = claimed()
    coupon.lock("checkout-1", NOW)
    coupon.lock("checkout-1", NOW)  # a retry of the same checkout
    with pytest.raises(CouponNotUsable):
        coupon.lock("checkout-2", NOW)
    with pytest.raises(CouponNotUsable):
        coupon.use("checkout-2", NOW)


def test_a_coupon_used_by_a_checkout_split_into_several_orders_is_used_once() -> None:
    coupon = claimed(template(shop_id=None))
    coupon.lock("checkout-1", NOW)
    coupon.use("checkout-1", NOW)
    coupon.use("checkout-1", NOW + timedelta(seconds=1))  # the second shop order's payment event
    assert sum(isinstance(e, CouponUsed) for e in coupon.events) == 1
    assert coupon.used_at == NOW


def test_a_coupon_returns_to_the_buyer_when_its_checkout_is_cancelled_before_payment() -> None:
    coupon = claimed()
    coupon.lock("checkout-1", NOW)
    coupon.release("checkout-1", NOW)
    assert (coupon.status, coupon.checkout_id) == (CouponStatus.AVAILABLE, None)
    assert isinstance(coupon.events[-1], CouponReturned)
    coupon.lock("checkout-2", NOW)  # usable again


def test_a_used_coupon_is_not_returned() -> None:
    coupon = claimed()
    coupon.lock("checkout-1", NOW)
    coupon.use("checkout-1", NOW)
    with pytest.raises(CouponNotUsable):
        coupon.release("checkout-1", NOW)


def test_an_expired_coupon_cannot_be_locked() -> None:
    coupon = claimed()
    with pytest.raises(CouponNotUsable):
        coupon.lock("checkout-1", NOW + timedelta(days=8))


def test_a_claimed_coupon_prices_as_its_template_says() -> None:
    scoped = template(
        rule=PercentOff(1000, Money(1500), Money(0)), scope=Scope(category_ids=frozenset({"phones"}))
    )
    coupon = claimed(scoped)
    lines = [line("a", "s1", 20000, cats=("phones",)), line("b", "s1", 20000, cats=("cases",))]
    result = price(lines, coupons=[coupon], at=NOW)
    assert [p.discount.amount for p in result.shops[0].lines] == [1500, 0]  # 10% of 200, capped at 15
    assert result.coupon_ids == ("c1",)


def test_templates_and_coupons_store_as_plain_documents_and_load_back() -> None:
    percent = template(rule=PercentOff(1000, Money(1500), Money(5000)), shop_id=None)
    for aggregate in (template(), percent, claimed(), claimed(percent)):
        spec = DocumentSpec("coupons", type(aggregate))
        data = msgspec.json.decode(spec.encode(aggregate))
        assert json.loads(json.dumps(data)) == data
        loaded = spec.decode(data, 2)
        assert (loaded.rule, loaded.scope, loaded.shop_id) == (
            aggregate.rule,
            aggregate.scope,
            aggregate.shop_id,
        )
