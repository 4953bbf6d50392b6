"""Bodies of the promotion, coupon and member-level routes, and their mapping to the services.

A rule is ``kind`` (a registered code) plus ``params`` (plain JSON the kind validates, naming
``params.<field>`` when wrong). ``tiers`` is the skeleton's 满减 shorthand, still accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from marketcore.application.promotions.coupons import (
    CouponTemplateChanges,
    CouponTemplateDraft,
    HeldCoupon,
    TemplateView,
)
from marketcore.application.promotions.promotions import PromotionDraft
from marketcore.domain.identity.users import User
from marketcore.domain.promotions.kinds import FullReductionRule
from marketcore.domain.promotions.promotions import Promotion
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.errors import InvalidInput
from marketcore.entrypoints.http.schemas import AwareDatetime, In, Out

# --------------------------------------------------------------------------- requests


class ScopeIn(In):
    sku_ids: list[str] = msgspec.field(default_factory=list)
    category_ids: list[str] = msgspec.field(default_factory=list)
    shop_ids: list[str] = msgspec.field(default_factory=list)

    def to_scope(self) -> Scope:
        return Scope(frozenset(self.sku_ids), frozenset(self.category_ids), frozenset(self.shop_ids))


def _scope(scope: ScopeIn | None) -> Scope:
    return EVERYTHING if scope is None else scope.to_scope()


class TierIn(In):
    threshold: int
    discount: int


class PromotionIn(In):
    name: str
    kind: str = "full_reduction"
    params: dict[str, Any] | None = None
    tiers: list[TierIn] | None = None  # shorthand for params.tiers of a 满减
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    scope: ScopeIn | None = None
    group: str | None = None
    priority: int | None = None
    enabled: bool = True

    def to_draft(self) -> PromotionDraft:
        if self.params is not None and self.tiers is not None:
            raise InvalidInput("tiers", "give params or tiers, not both")
        params: dict[str, Any] = dict(self.params or {})
        if self.tiers is not None:
            params = {"tiers": [[t.threshold, t.discount] for t in self.tiers]}
        return PromotionDraft(
            name=self.name,
            kind=self.kind,
            params=params,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            scope=_scope(self.scope),
            group=self.group,
            priority=self.priority,
            enabled=self.enabled,
        )


class CouponTemplateIn(In):
    name: str
    kind: str
    params: dict[str, Any]
    claim_from: AwareDatetime
    claim_until: AwareDatetime
    budget: int
    per_buyer_limit: int = 1
    scope: ScopeIn | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = None

    def to_draft(self) -> CouponTemplateDraft:
        return CouponTemplateDraft(
            name=self.name,
            kind=self.kind,
            params=self.params,
            claim_from=self.claim_from,
            claim_until=self.claim_until,
            budget=self.budget,
            per_buyer_limit=self.per_buyer_limit,
            scope=_scope(self.scope),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            valid_days=self.valid_days,
        )


class CouponTemplatePatchIn(In):
    name: str | None = None
    kind: str | None = None
    params: dict[str, Any] | None = None
    claim_from: AwareDatetime | None = None
    claim_until: AwareDatetime | None = None
    budget: int | None = None
    per_buyer_limit: int | None = None
    scope: ScopeIn | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    valid_days: int | None = None

    def to_changes(self) -> CouponTemplateChanges:
        return CouponTemplateChanges(
            name=self.name,
            kind=self.kind,
            params=self.params,
            claim_from=self.claim_from,
            claim_until=self.claim_until,
            budget=self.budget,
            per_buyer_limit=self.per_buyer_limit,
            scope=None if self.scope is None else self.scope.to_scope(),
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            valid_days=self.valid_days,
        )


class MemberLevelIn(In):
    level: int


# --------------------------------------------------------------------------- responses


class ScopeOut(Out):
    sku_ids: list[str]
    category_ids: list[str]
    shop_ids: list[str]


class TierOut(Out):
    threshold: int
    discount: int


class PromotionOut(Out):
    id: str
    shop_id: str | None  # None: the platform's
    kind: str
    name: str
    currency: str
    params: dict[str, Any]
    tiers: list[TierOut]  # a 满减's tiers (the skeleton's shape); [] for other kinds
    starts_at: datetime | None  # None: open at that end
    ends_at: datetime | None
    scope: ScopeOut
    group: str | None
    priority: int | None
    enabled: bool
    funder: str


class CouponTemplateOut(Out):
    id: str
    shop_id: str | None
    name: str
    kind: str
    currency: str
    params: dict[str, Any]
    claim_from: datetime
    claim_until: datetime
    budget: int
    per_buyer_limit: int
    issued: int
    remaining: int
    scope: ScopeOut
    valid_from: datetime | None
    valid_until: datetime | None
    valid_days: int | None
    status: str
    funder: str


class AvailableCouponOut(Out):
    template: CouponTemplateOut
    claimed: int  # by the asking buyer
    can_claim: bool


class CouponOut(Out):
    id: str
    template_id: str
    shop_id: str | None
    name: str
    kind: str
    currency: str
    params: dict[str, Any]
    scope: ScopeOut
    valid_from: datetime
    valid_until: datetime
    claimed_at: datetime
    status: str  # available, locked (by a checkout awaiting payment) or used
    expired: bool
    usable: bool
    checkout_id: str | None
    used_at: datetime | None
    funder: str


class MemberLevelOut(Out):
    user_id: str
    member_level: int


def scope_out(scope: Scope) -> ScopeOut:
    return ScopeOut(sorted(scope.sku_ids), sorted(scope.category_ids), sorted(scope.shop_ids))


def _currency(params: dict[str, Any]) -> str:
    return str(params.get("currency", "CNY"))


def promotion_out(p: Promotion) -> PromotionOut:
    params = p.rule.to_params()
    tiers = p.rule.tiers if isinstance(p.rule, FullReductionRule) else []
    return PromotionOut(
        id=p.id,
        shop_id=p.shop_id,
        kind=p.rule.code,
        name=p.name,
        currency=_currency(params),
        params=params,
        tiers=[TierOut(t.threshold.amount, t.discount.amount) for t in tiers],
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        scope=scope_out(p.scope),
        group=p.group,
        priority=p.priority,
        enabled=p.enabled,
        funder=str(p.funder),
    )


def template_out(view: TemplateView) -> CouponTemplateOut:
    t = view.template
    params = t.rule.to_params()
    return CouponTemplateOut(
        id=t.id,
        shop_id=t.shop_id,
        name=t.name,
        kind=t.rule.code,
        currency=_currency(params),
        params=params,
        claim_from=t.claim_from,
        claim_until=t.claim_until,
        budget=t.budget,
        per_buyer_limit=t.per_buyer_limit,
        issued=view.issued,
        remaining=view.remaining,
        scope=scope_out(t.scope),
        valid_from=t.valid_from,
        valid_until=t.valid_until,
        valid_days=t.valid_days,
        status=str(t.status),
        funder=str(t.funder),
    )


def available_out(view: TemplateView) -> AvailableCouponOut:
    can_claim = view.remaining > 0 and view.claimed < view.template.per_buyer_limit
    return AvailableCouponOut(template_out(view), view.claimed, can_claim)


def coupon_out(held: HeldCoupon) -> CouponOut:
    c = held.coupon
    params = c.rule.to_params()
    return CouponOut(
        id=c.id,
        template_id=c.template_id,
        shop_id=c.shop_id,
        name=c.name,
        kind=c.rule.code,
        currency=_currency(params),
        params=params,
        scope=scope_out(c.scope),
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        claimed_at=c.claimed_at,
        status=str(c.status),
        expired=held.expired,
        usable=held.usable,
        checkout_id=c.checkout_id,
        used_at=c.used_at,
        funder=str(c.funder),
    )


def member_level_out(user: User) -> MemberLevelOut:
    return MemberLevelOut(user.id, user.member_level)
