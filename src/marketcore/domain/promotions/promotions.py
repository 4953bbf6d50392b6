"""Shop promotions. The skeleton has one kind: tiered full reduction (满减, spend X get Y off)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime

import attrs

from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.events import Aggregate
from marketcore.domain.shared.money import Money
from marketcore.domain.shared.text import require_text


class Funder(enum.StrEnum):
    SHOP = "shop"
    PLATFORM = "platform"


@attrs.frozen
class Tier:
    threshold: Money  # spend at least this ...
    discount: Money  # ... and this much comes off


@attrs.define(eq=False)
class FullReduction(Aggregate):
    """满减 for one shop's lines: the highest tier whose threshold the shop subtotal reaches applies."""

    shop_id: str
    name: str
    tiers: list[Tier]
    starts_at: datetime
    ends_at: datetime
    enabled: bool = True

    @classmethod
    def create(
        cls,
        id: str,
        shop_id: str,
        name: str,
        tiers: Sequence[tuple[int, int]],
        starts_at: datetime,
        ends_at: datetime,
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
        return cls(
            id,
            shop_id=shop_id,
            name=require_text("name", name, 60),
            tiers=built,
            starts_at=starts_at,
            ends_at=ends_at,
        )

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
