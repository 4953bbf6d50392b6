"""Promotions as stored offers: a rule kind plus owner, scope, window, exclusivity group, priority.

``FullReduction`` is the walking skeleton's 满减 document; it keeps loading (the fields added since
have defaults) and is priced like any other offer. ``Promotion`` holds any registered rule kind.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import attrs

from marketcore.domain.promotions.kinds import FullReductionRule, Tier
from marketcore.domain.promotions.rules import Placement, RuleKind
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.events import Aggregate
from marketcore.domain.shared.money import Money
from marketcore.domain.shared.text import require_text

__all__ = ["FullReduction", "Funder", "Promotion", "Tier", "check_group", "check_priority"]


class Funder(enum.StrEnum):
    """Who pays for a discount: settlement pays platform-funded discounts to the shop."""

    SHOP = "shop"
    PLATFORM = "platform"


def check_group(group: str | None) -> str | None:
    if group is None:
        return None
    return require_text("group", group, 40)


def check_priority(priority: int | None) -> int | None:
    if priority is None:
        return None
    if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
        raise InvalidInput("priority", "an integer from -1000 to 1000 (higher applies first)")
    return priority


def _check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(field, "must carry a timezone")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidInput("ends_at", "must be after starts_at")


@attrs.define(eq=False)
class FullReduction(Aggregate):
    """满减 for one shop's lines: the highest tier whose threshold the eligible amount reaches
    applies; ``repeating`` makes it 每满 (one tier, taken off per multiple, up to ``cap``)."""

    shop_id: str
    name: str
    tiers: list[Tier]
    starts_at: datetime
    ends_at: datetime
    enabled: bool = True
    repeating: bool = False
    cap: Money | None = None
    scope: Scope = EVERYTHING
    group: str | None = None  # None: the exclusivity group of every 满减 of the shop
    priority: int | None = None  # None: the kind's default

    @classmethod
    def create(
        cls,
        id: str,
        shop_id: str,
        name: str,
        tiers: Sequence[tuple[int, int]],
        starts_at: datetime,
        ends_at: datetime,
        *,
        repeating: bool = False,
        cap: int | None = None,
        scope: Scope = EVERYTHING,
        group: str | None = None,
        priority: int | None = None,
    ) -> FullReduction:
        if not tiers:
            raise InvalidInput("tiers", "at least one tier")
        built: list[Tier] = []
        for index, (threshold, discount) in enumerate(sorted(tiers)):
            if not 0 < discount < threshold:
                raise InvalidInput(f"tiers[{index}]", "discount must be positive and below its threshold")
            if built and discount <= built[-1].discount.amount:
                raise InvalidInput(f"tiers[{index}]", "a higher threshold must give a bigger discount")
            if built and threshold == built[-1].threshold.amount:
                raise InvalidInput(f"tiers[{index}]", "duplicate threshold")
            built.append(Tier(Money(threshold), Money(discount)))
        if ends_at <= starts_at:
            raise InvalidInput("ends_at", "must be after starts_at")
        cap_money = None if cap is None else Money(cap)
        FullReductionRule(built, repeating, cap_money)  # the rule's own checks (每满, cap)
        return cls(
            id,
            shop_id=shop_id,
            name=require_text("name", name, 60),
            tiers=built,
            starts_at=starts_at,
            ends_at=ends_at,
            repeating=repeating,
            cap=cap_money,
            scope=scope,
            group=check_group(group),
            priority=check_priority(priority),
        )

    @property
    def rule(self) -> FullReductionRule:
        return FullReductionRule(self.tiers, self.repeating, self.cap)

    @property
    def funder(self) -> Funder:
        return Funder.SHOP

    def is_active(self, at: datetime) -> bool:
        return self.enabled and self.starts_at <= at < self.ends_at

    def best_tier(self, subtotal: Money) -> Tier | None:
        reached = [tier for tier in self.tiers if subtotal >= tier.threshold]
        return reached[-1] if reached else None

    def next_tier(self, subtotal: Money) -> Tier | None:
        for tier in self.tiers:
            if subtotal < tier.threshold:
                return tier
        return None

    def as_promotion(self) -> Promotion:
        """The same offer as a generic ``Promotion`` (for moving old documents over)."""
        return Promotion(
            self.id,
            name=self.name,
            shop_id=self.shop_id,
            rule=self.rule,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            scope=self.scope,
            group=self.group,
            priority=self.priority,
            enabled=self.enabled,
        )


@attrs.define(eq=False)
class Promotion(Aggregate):
    """An offer of any registered rule kind except coupons (those come from coupon templates).

    ``shop_id`` None makes it the platform's: platform promotions (跨店满减) and platform
    free-shipping offers. Who funds it follows the owner. The window is half-open,
    ``starts_at <= at < ends_at``; None leaves that side open (a standing member price).
    """

    name: str
    shop_id: str | None
    rule: RuleKind
    starts_at: datetime | None
    ends_at: datetime | None
    scope: Scope = EVERYTHING
    group: str | None = None
    priority: int | None = None
    enabled: bool = True

    @classmethod
    def create(
        cls,
        id: str,
        name: str,
        shop_id: str | None,
        rule: RuleKind,
        starts_at: datetime | None,
        ends_at: datetime | None,
        *,
        scope: Scope = EVERYTHING,
        group: str | None = None,
        priority: int | None = None,
    ) -> Promotion:
        placement = rule.placement
        if placement is Placement.COUPON:
            raise InvalidInput("kind", "coupons are issued from coupon templates, not as promotions")
        if placement in (Placement.UNIT_PRICE, Placement.SHOP_PROMOTION) and shop_id is None:
            raise InvalidInput("shop_id", f"a {rule.code} belongs to a shop")
        if placement is Placement.PLATFORM_PROMOTION and shop_id is not None:
            raise InvalidInput("shop_id", f"a {rule.code} belongs to the platform")
        _check_window(starts_at, ends_at)
        return cls(
            id,
            name=require_text("name", name, 60),
            shop_id=shop_id,
            rule=rule,
            starts_at=starts_at,
            ends_at=ends_at,
            scope=scope,
            group=check_group(group),
            priority=check_priority(priority),
        )

    @property
    def funder(self) -> Funder:
        return Funder.PLATFORM if self.shop_id is None else Funder.SHOP

    def is_active(self, at: datetime) -> bool:
        if not self.enabled:
            return False
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )
