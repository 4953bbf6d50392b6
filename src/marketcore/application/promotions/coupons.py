"""Coupon templates (shops' and the platform's) and the coupons buyers claim from them.

Claims are counted by storage (``PromotionCounters.claim``: the buyer's count and the template's
issued count in conditional updates, both or neither), so the per-buyer limit and the budget
hold under any concurrency; the template document is not touched by a claim.

A template may be edited freely until its first coupon is claimed. After that only what cannot
make one template's coupons differ or its counts lie may change: the name, the end of the claim
window, the budget (not below what is issued) and the per-buyer limit. Held coupons copy their
terms at claim time, so nothing done to a template changes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from marketcore.application.promotions.owners import authorize_owner, decode_rule, owned
from marketcore.application.promotions.ports import PromotionsUnitOfWork
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, Page, PageRequest, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.promotions.coupons import Coupon, CouponStatus, CouponTemplate
from marketcore.domain.promotions.rules import Placement, RuleKinds
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import Conflict, InvalidInput, NotFound


class CouponTemplateClaimed(Conflict):
    """A change a template cannot take once coupons have been claimed from it."""

    code = "coupon_template_claimed"


@attrs.frozen
class CouponTemplateDraft:
    name: str
    kind: str  # fixed_amount or percent_off
    params: Mapping[str, Any]
    claim_from: datetime
    claim_until: datetime
    budget: int
    per_buyer_limit: int = 1
    scope: Scope = EVERYTHING
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None


@attrs.frozen
class CouponTemplateChanges:
    """A partial update; None leaves a field as it is. Giving ``valid_days`` drops a validity
    window and giving ``valid_from``/``valid_until`` drops ``valid_days``."""

    name: str | None = None
    kind: str | None = None
    params: Mapping[str, Any] | None = None
    claim_from: datetime | None = None
    claim_until: datetime | None = None
    budget: int | None = None
    per_buyer_limit: int | None = None
    scope: Scope | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None

    SAFE_ONCE_CLAIMED = ("name", "claim_until", "budget", "per_buyer_limit")

    def given(self) -> list[str]:
        return [f.name for f in attrs.fields(type(self)) if getattr(self, f.name) is not None]


@attrs.frozen
class TemplateView:
    """A template with its counts: how many are left, and how many the asking buyer holds."""

    template: CouponTemplate
    issued: int
    claimed: int = 0

    @property
    def remaining(self) -> int:
        return max(self.template.budget - self.issued, 0)


@attrs.frozen
class HeldCoupon:
    coupon: Coupon
    at: datetime  # when it was read: ``expired`` and ``usable`` are as of then

    @property
    def expired(self) -> bool:
        return self.at >= self.coupon.valid_until

    @property
    def usable(self) -> bool:
        return self.coupon.is_usable(self.at)


_TERMS = (
    "name",
    "offer",
    "claim_from",
    "claim_until",
    "budget",
    "per_buyer_limit",
    "scope",
    "valid_from",
    "valid_until",
    "valid_days",
)


class CouponService(Service[PromotionsUnitOfWork]):
    def __init__(self, uow: UnitOfWorkFactory[PromotionsUnitOfWork], clock: Clock, kinds: RuleKinds) -> None:
        super().__init__(uow, clock)
        self._kinds = kinds

    def _build(self, ident: str, shop_id: str | None, draft: CouponTemplateDraft) -> CouponTemplate:
        return CouponTemplate.create(
            ident,
            draft.name,
            shop_id,
            decode_rule(self._kinds, draft.kind, draft.params, (Placement.COUPON,)),
            claim_from=draft.claim_from,
            claim_until=draft.claim_until,
            budget=draft.budget,
            per_buyer_limit=draft.per_buyer_limit,
            scope=draft.scope,
            valid_from=draft.valid_from,
            valid_until=draft.valid_until,
            valid_days=draft.valid_days,
        )

    # templates: shops' staff for their shop, operators with shop_id None for the platform

    def create_template(self, actor: Actor, shop_id: str | None, draft: CouponTemplateDraft) -> TemplateView:
        template = self._build(new_id(), shop_id, draft)
        with self._uow() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            uow.coupon_templates.add(template)
            uow.commit()
        return TemplateView(template, 0)

    def templates(self, actor: Actor, shop_id: str | None, page: PageRequest) -> Page[TemplateView]:
        with self._reader() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            found = uow.coupon_templates.listing(shop_id, page)
            counts = uow.promotion_counters.claim_counts([t.id for t in found.items])
        return Page([TemplateView(t, counts[t.id].issued) for t in found.items], found.next_cursor)

    def template(self, actor: Actor, shop_id: str | None, template_id: str) -> TemplateView:
        with self._reader() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            template = self._owned(uow, shop_id, template_id)
            issued = uow.promotion_counters.claim_counts([template_id])[template_id].issued
        return TemplateView(template, issued)

    def update_template(
        self, actor: Actor, shop_id: str | None, template_id: str, changes: CouponTemplateChanges
    ) -> TemplateView:
        with self._uow() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            template = self._owned(uow, shop_id, template_id, lock=True)
            issued = uow.promotion_counters.claim_counts([template_id])[template_id].issued
            if issued:
                unsafe = [name for name in changes.given() if name not in changes.SAFE_ONCE_CLAIMED]
                if unsafe:
                    raise CouponTemplateClaimed(
                        f"{issued} coupons have been claimed: only name, claim_until, budget and "
                        f"per_buyer_limit may change now, not {', '.join(unsafe)}"
                    )
                if changes.budget is not None and changes.budget < issued:
                    raise InvalidInput("budget", f"at least the {issued} already claimed")
            built = self._build(template_id, shop_id, self._merged(template, changes))
            for name in _TERMS:
                setattr(template, name, getattr(built, name))
            uow.commit()
        return TemplateView(template, issued)

    def stop_template(self, actor: Actor, shop_id: str | None, template_id: str) -> TemplateView:
        """No more claims; coupons already held stay valid."""
        with self._uow() as uow:
            authorize_owner(uow.shops, actor, shop_id)
            template = self._owned(uow, shop_id, template_id, lock=True)
            template.stop(self._clock.now())
            issued = uow.promotion_counters.claim_counts([template_id])[template_id].issued
            uow.commit()
        return TemplateView(template, issued)

    # buyers

    def available(self, actor: Actor, page: PageRequest, *, shop_id: str | None = None) -> Page[TemplateView]:
        """Templates the buyer can claim from now (newest first), with how many are left and how
        many the buyer holds; ``shop_id`` keeps one shop's. Ones the buyer has reached the limit
        of, or that are all claimed, are still listed (``claimed``, ``remaining`` say so)."""
        buyer_id = actor.require_user()
        with self._reader() as uow:
            found = uow.coupon_templates.claimable(self._clock.now(), page, shop_id=shop_id)
            counts = uow.promotion_counters.claim_counts([t.id for t in found.items], buyer_id)
        views = [TemplateView(t, counts[t.id].issued, counts[t.id].claimed) for t in found.items]
        return Page(views, found.next_cursor)

    def claim(self, actor: Actor, template_id: str) -> Coupon:
        """One coupon for the buyer; refused with ``CouponNotClaimable`` outside the template's
        claim window or once stopped, ``CouponClaimLimitReached`` or ``CouponBudgetExhausted``."""
        buyer_id = actor.require_user()
        now = self._clock.now()
        with self._uow() as uow:
            template = uow.coupon_templates.get(template_id)
            if template is None:
                raise NotFound("coupon template", template_id)
            # The counters enforce the limits atomically below; the zeros only skip the
            # template's own (racy) check of counts read earlier.
            coupon = template.claim(new_id(), buyer_id, now, issued=0, claimed_by_buyer=0)
            refusal = uow.promotion_counters.claim(template.limits, buyer_id)
            if refusal is not None:
                raise refusal
            uow.coupons.add(coupon)
            uow.commit()
        return coupon

    def held(self, coupon: Coupon) -> HeldCoupon:
        """A coupon as its holder sees it now."""
        return HeldCoupon(coupon, self._clock.now())

    def my_coupons(self, actor: Actor, status: CouponStatus | None, page: PageRequest) -> Page[HeldCoupon]:
        buyer_id = actor.require_user()
        now = self._clock.now()
        with self._reader() as uow:
            found = uow.coupons.for_buyer(buyer_id, status, page)
        return Page([HeldCoupon(c, now) for c in found.items], found.next_cursor)

    # helpers

    @staticmethod
    def _owned(
        uow: PromotionsUnitOfWork, shop_id: str | None, template_id: str, *, lock: bool = False
    ) -> CouponTemplate:
        template = uow.coupon_templates.get(template_id, lock=lock)
        if template is None:
            raise NotFound("coupon template", template_id)
        owned(template.shop_id, shop_id, "coupon template", template_id)
        return template

    def _merged(self, template: CouponTemplate, changes: CouponTemplateChanges) -> CouponTemplateDraft:
        kind = changes.kind if changes.kind is not None else template.rule.code
        params: Mapping[str, Any] = template.rule.to_params()
        if changes.params is not None:
            params = changes.params
        elif changes.kind is not None:
            params = {}  # another kind needs its own params
        window = changes.valid_from is not None or changes.valid_until is not None
        if changes.valid_days is not None and window:
            raise InvalidInput("valid_days", "give either valid_from and valid_until, or valid_days")
        if changes.valid_days is not None:
            valid_from, valid_until, valid_days = None, None, changes.valid_days
        elif window:
            valid_from = changes.valid_from if changes.valid_from is not None else template.valid_from
            valid_until = changes.valid_until if changes.valid_until is not None else template.valid_until
            valid_days = None
        else:
            valid_from, valid_until, valid_days = (
                template.valid_from,
                template.valid_until,
                template.valid_days,
            )
        return CouponTemplateDraft(
            name=changes.name if changes.name is not None else template.name,
            kind=kind,
            params=params,
            claim_from=changes.claim_from if changes.claim_from is not None else template.claim_from,
            claim_until=changes.claim_until if changes.claim_until is not None else template.claim_until,
            budget=changes.budget if changes.budget is not None else template.budget,
            per_buyer_limit=(
                changes.per_buyer_limit if changes.per_buyer_limit is not None else template.per_buyer_limit
            ),
            scope=changes.scope if changes.scope is not None else template.scope,
            valid_from=valid_from,
            valid_until=valid_until,
            valid_days=valid_days,
        )
