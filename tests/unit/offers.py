"""Builders for pricing tests: lines, promotions of every kind and held coupons, in a few words."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from marketcore.domain.promotions.coupons import Coupon, CouponOffer
from marketcore.domain.promotions.kinds import (
    CrossShopReduction,
    FixedAmountOff,
    FullReductionRule,
    PercentOff,
    Tier,
)
from marketcore.domain.promotions.pricing import PricingLine
from marketcore.domain.promotions.promotions import FullReduction, Promotion
from marketcore.domain.promotions.rules import RuleKind
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.money import Money

NOW = datetime(2026, 11, 11, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def line(
    key: str, shop: str, unit: int, qty: int = 1, *, sku: str | None = None, cats: Iterable[str] = ()
) -> PricingLine:
    return PricingLine(key, shop, Money(unit), qty, sku or key, tuple(cats))


def reduction(id: str, shop: str, *tiers: tuple[int, int], **options: object) -> FullReduction:
    return FullReduction.create(id, shop, f"满减 {id}", list(tiers), NOW - DAY, NOW + DAY, **options)  # type: ignore[arg-type]


def tiers(*pairs: tuple[int, int]) -> list[Tier]:
    return [Tier(Money(t), Money(d)) for t, d in pairs]


def offer(
    id: str,
    shop: str | None,
    rule: RuleKind,
    *,
    scope: Scope = EVERYTHING,
    group: str | None = None,
    priority: int | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Promotion:
    return Promotion.create(
        id, f"{rule.code} {id}", shop, rule, starts_at, ends_at, scope=scope, group=group, priority=priority
    )


def cross_shop(
    id: str, *pairs: tuple[int, int], repeating: bool = False, cap: int | None = None
) -> Promotion:
    return offer(id, None, CrossShopReduction(tiers(*pairs), repeating, None if cap is None else Money(cap)))


def shop_reduction(id: str, shop: str, *pairs: tuple[int, int], **options: object) -> Promotion:
    return offer(id, shop, FullReductionRule(tiers(*pairs)), **options)  # type: ignore[arg-type]


def coupon(
    id: str,
    shop: str | None,
    value: int | None = None,
    threshold: int = 0,
    *,
    percent_bp: int | None = None,
    cap: int | None = None,
    scope: Scope = EVERYTHING,
    valid_from: datetime = NOW - DAY,
    valid_until: datetime = NOW + DAY,
) -> Coupon:
    rule: FixedAmountOff | PercentOff
    if percent_bp is not None:
        rule = PercentOff(percent_bp, None if cap is None else Money(cap), Money(threshold))
    else:
        assert value is not None
        rule = FixedAmountOff(Money(value), Money(threshold))
    return Coupon(
        id,
        template_id=f"t-{id}",
        buyer_id="buyer",
        name=f"coupon {id}",
        shop_id=shop,
        offer=CouponOffer.of(rule),
        valid_from=valid_from,
        valid_until=valid_until,
        claimed_at=valid_from,
        scope=scope,
    )
