"""Coupon templates and the coupons buyers hold.

A template (platform's or a shop's) says what a coupon gives (a coupon rule kind: fixed amount,
or percent with a cap; its threshold), where it applies (scope), when it can be claimed and how
long a claimed coupon stays valid (a fixed window, or N days from the claim), how many one buyer
may hold and how many may be issued in all (the budget).

Claiming is counted by storage, not by this aggregate: two counters (issued per template, claimed
per template and buyer) are raised in one conditional update, ``WHERE issued < budget AND
claimed < per_buyer_limit``, so concurrent claims can never overshoot. ``ClaimLimits`` is what
that update enforces; ``CouponTemplate.claim`` checks the counts the caller read (a fast refusal)
and builds the coupon. A held coupon moves ``available -> locked`` (by one checkout) ``-> used``
(when that checkout is paid), or back ``locked -> available`` when the checkout is cancelled or
times out before payment. Locking is guarded by the coupon's version (or ``WHERE status =
'available'``): of two checkouts racing for one coupon, one wins.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from functools import cached_property

import attrs

from marketcore.domain.promotions.kinds import FixedAmountOff, PercentOff
from marketcore.domain.promotions.promotions import Funder
from marketcore.domain.promotions.rules import RuleKind
from marketcore.domain.promotions.scope import EVERYTHING, Scope
from marketcore.domain.shared.errors import Conflict, InvalidInput
from marketcore.domain.shared.events import Aggregate, DomainEvent
from marketcore.domain.shared.money import Money
from marketcore.domain.shared.text import require_text

MAX_VALID_DAYS = 365
MAX_BUDGET = 100_000_000
MAX_PER_BUYER = 100

CouponRule = FixedAmountOff | PercentOff


@attrs.frozen
class CouponOffer:
    """What a coupon gives, as plain fields (so templates and coupons store as documents): a
    fixed ``value``, or ``off_bp`` basis points off up to ``cap``; over ``threshold``."""

    threshold: Money
    value: Money | None = None
    off_bp: int | None = None
    cap: Money | None = None

    @classmethod
    def of(cls, rule: RuleKind) -> CouponOffer:
        if isinstance(rule, FixedAmountOff):
            return cls(rule.threshold, value=rule.value)
        if isinstance(rule, PercentOff):
            return cls(rule.threshold, off_bp=rule.off_bp, cap=rule.cap)
        raise InvalidInput("kind", "a coupon is fixed_amount or percent_off")

    @cached_property
    def rule(self) -> CouponRule:
        if self.value is not None:
            return FixedAmountOff(self.value, self.threshold)
        assert self.off_bp is not None
        return PercentOff(self.off_bp, self.cap, self.threshold)


class CouponNotClaimable(Conflict):
    code = "coupon_not_claimable"


class CouponClaimLimitReached(Conflict):
    code = "coupon_claim_limit_reached"


class CouponBudgetExhausted(Conflict):
    code = "coupon_budget_exhausted"


class CouponNotUsable(Conflict):
    code = "coupon_not_usable"


class CouponStatus(enum.StrEnum):
    AVAILABLE = "available"
    LOCKED = "locked"  # held by one checkout until it is paid, cancelled or times out
    USED = "used"


class TemplateStatus(enum.StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"  # no more claims; coupons already held stay valid


@attrs.frozen(kw_only=True)
class CouponClaimed(DomainEvent):
    coupon_id: str
    template_id: str
    buyer_id: str


@attrs.frozen(kw_only=True)
class CouponLocked(DomainEvent):
    coupon_id: str
    checkout_id: str


@attrs.frozen(kw_only=True)
class CouponUsed(DomainEvent):
    coupon_id: str
    checkout_id: str


@attrs.frozen(kw_only=True)
class CouponReturned(DomainEvent):
    """Back to the buyer: its checkout was cancelled or timed out before payment."""

    coupon_id: str
    checkout_id: str


@attrs.frozen(kw_only=True)
class CouponTemplateStopped(DomainEvent):
    template_id: str


@attrs.frozen
class ClaimLimits:
    """What storage enforces, atomically, when it records a claim."""

    template_id: str
    budget: int  # coupons issued from the template never exceed this
    per_buyer_limit: int  # coupons one buyer claims from it never exceed this

    def refusal(self, issued: int, claimed_by_buyer: int) -> Conflict | None:
        """Why a claim on these counts must be refused (None: it may go ahead)."""
        if claimed_by_buyer >= self.per_buyer_limit:
            return CouponClaimLimitReached(f"at most {self.per_buyer_limit} of this coupon per buyer")
        if issued >= self.budget:
            return CouponBudgetExhausted("all of this coupon have been claimed")
        return None


def _aware(field: str, value: datetime | None) -> None:
    if value is not None and value.tzinfo is None:
        raise InvalidInput(field, "must carry a timezone")


def _count(field: str, value: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidInput(field, f"a whole number from 1 to {high}")
    return value


@attrs.define(eq=False)
class CouponTemplate(Aggregate):
    name: str
    shop_id: str | None  # None: a platform coupon, funded by the platform
    offer: CouponOffer
    claim_from: datetime
    claim_until: datetime
    budget: int
    per_buyer_limit: int = 1
    scope: Scope = EVERYTHING
    valid_from: datetime | None = None  # a fixed validity window ...
    valid_until: datetime | None = None
    valid_days: int | None = None  # ... or this many days from the claim
    status: TemplateStatus = TemplateStatus.ACTIVE

    @classmethod
    def create(
        cls,
        id: str,
        name: str,
        shop_id: str | None,
        rule: RuleKind,
        *,
        claim_from: datetime,
        claim_until: datetime,
        budget: int,
        per_buyer_limit: int = 1,
        scope: Scope = EVERYTHING,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        valid_days: int | None = None,
    ) -> CouponTemplate:
        for field, value in (
            ("claim_from", claim_from),
            ("claim_until", claim_until),
            ("valid_from", valid_from),
            ("valid_until", valid_until),
        ):
            _aware(field, value)
        if claim_until <= claim_from:
            raise InvalidInput("claim_until", "must be after claim_from")
        window = valid_from is not None or valid_until is not None
        if window == (valid_days is not None):
            raise InvalidInput("valid_days", "give either valid_from and valid_until, or valid_days")
        if window:
            if valid_from is None or valid_until is None:
                raise InvalidInput("valid_until", "a validity window needs both ends")
            if valid_until <= valid_from:
                raise InvalidInput("valid_until", "must be after valid_from")
            if valid_until <= claim_from:
                raise InvalidInput("valid_until", "coupons would expire before they can be claimed")
        else:
            _count("valid_days", valid_days or 0, MAX_VALID_DAYS)
        return cls(
            id,
            name=require_text("name", name, 60),
            shop_id=shop_id,
            offer=CouponOffer.of(rule),
            claim_from=claim_from,
            claim_until=claim_until,
            budget=_count("budget", budget, MAX_BUDGET),
            per_buyer_limit=_count("per_buyer_limit", per_buyer_limit, MAX_PER_BUYER),
            scope=scope,
            valid_from=valid_from,
            valid_until=valid_until,
            valid_days=valid_days,
        )

    @property
    def rule(self) -> CouponRule:
        return self.offer.rule

    @property
    def funder(self) -> Funder:
        return Funder.PLATFORM if self.shop_id is None else Funder.SHOP

    @property
    def limits(self) -> ClaimLimits:
        return ClaimLimits(self.id, self.budget, self.per_buyer_limit)

    def is_claimable(self, at: datetime) -> bool:
        if self.status is not TemplateStatus.ACTIVE or not self.claim_from <= at < self.claim_until:
            return False
        return self.valid_until is None or at < self.valid_until

    def claim(
        self, coupon_id: str, buyer_id: str, at: datetime, *, issued: int, claimed_by_buyer: int
    ) -> Coupon:
        """A coupon for ``buyer_id``, given the counts storage holds now (its conditional update
        re-checks them atomically: see ``limits``)."""
        if not self.is_claimable(at):
            raise CouponNotClaimable(f"coupon {self.name} cannot be claimed now")
        refusal = self.limits.refusal(issued, claimed_by_buyer)
        if refusal is not None:
            raise refusal
        if self.valid_days is not None:
            valid_from, valid_until = at, at + timedelta(days=self.valid_days)
        else:
            assert self.valid_from is not None and self.valid_until is not None
            valid_from, valid_until = self.valid_from, self.valid_until
        coupon = Coupon(
            coupon_id,
            template_id=self.id,
            buyer_id=buyer_id,
            name=self.name,
            shop_id=self.shop_id,
            offer=self.offer,
            scope=self.scope,
            valid_from=valid_from,
            valid_until=valid_until,
            claimed_at=at,
        )
        coupon.record(
            CouponClaimed(occurred_at=at, coupon_id=coupon_id, template_id=self.id, buyer_id=buyer_id)
        )
        return coupon

    def stop(self, at: datetime) -> None:
        if self.status is TemplateStatus.STOPPED:
            return
        self.status = TemplateStatus.STOPPED
        self.record(CouponTemplateStopped(occurred_at=at, template_id=self.id))


@attrs.define(eq=False)
class Coupon(Aggregate):
    """A coupon a buyer holds: a copy of its template's terms, so editing or stopping the
    template never changes coupons already claimed."""

    template_id: str
    buyer_id: str
    name: str
    shop_id: str | None
    offer: CouponOffer
    valid_from: datetime
    valid_until: datetime
    claimed_at: datetime
    scope: Scope = EVERYTHING
    status: CouponStatus = CouponStatus.AVAILABLE
    checkout_id: str | None = None  # the checkout holding or having used it
    used_at: datetime | None = None

    @property
    def rule(self) -> CouponRule:
        return self.offer.rule

    @property
    def funder(self) -> Funder:
        return Funder.PLATFORM if self.shop_id is None else Funder.SHOP

    def is_valid(self, at: datetime) -> bool:
        return self.valid_from <= at < self.valid_until

    def is_usable(self, at: datetime) -> bool:
        return self.status is CouponStatus.AVAILABLE and self.is_valid(at)

    def lock(self, checkout_id: str, at: datetime) -> None:
        """Hold it for ``checkout_id``; again for the same checkout is a no-op (a retry)."""
        if self.status is CouponStatus.LOCKED and self.checkout_id == checkout_id:
            return
        if self.status is not CouponStatus.AVAILABLE:
            raise CouponNotUsable(f"coupon {self.id} is {self.status}")
        if not self.is_valid(at):
            raise CouponNotUsable(f"coupon {self.id} is not valid now")
        self.status, self.checkout_id = CouponStatus.LOCKED, checkout_id
        self.record(CouponLocked(occurred_at=at, coupon_id=self.id, checkout_id=checkout_id))

    def use(self, checkout_id: str, at: datetime) -> None:
        """Its checkout was paid. Once per checkout however many shop orders it was split into:
        a second call for the same checkout changes nothing."""
        if self.status is CouponStatus.USED and self.checkout_id == checkout_id:
            return
        if self.status is not CouponStatus.LOCKED or self.checkout_id != checkout_id:
            raise CouponNotUsable(f"coupon {self.id} is not held by checkout {checkout_id}")
        self.status, self.used_at = CouponStatus.USED, at
        self.record(CouponUsed(occurred_at=at, coupon_id=self.id, checkout_id=checkout_id))

    def release(self, checkout_id: str, at: datetime) -> None:
        """Its checkout was cancelled or timed out before payment: back to the buyer (even if
        it has expired since — it then simply cannot be used). A used coupon is not returned."""
        if self.status is CouponStatus.AVAILABLE:
            return
        if self.status is not CouponStatus.LOCKED or self.checkout_id != checkout_id:
            raise CouponNotUsable(f"coupon {self.id} is not held by checkout {checkout_id}")
        self.status, self.checkout_id = CouponStatus.AVAILABLE, None
        self.record(CouponReturned(occurred_at=at, coupon_id=self.id, checkout_id=checkout_id))
