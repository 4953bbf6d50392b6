"""The pricing engine: deterministic, explainable, exact to the cent.

Order of application (domain.md "Pricing and promotions"):

1. unit price per line: the lowest of list price, member price, limited-time discount and
   flash-sale price (never stacked);
2. shop promotions per shop on their eligible lines: exclusivity groups in priority order, the
   best for the buyer within a group, each group on the amount the groups before it left;
3. at most one shop coupon per shop, its threshold checked after step 2;
4. platform promotions (跨店满减) over the whole checkout after step 3;
5. at most one platform coupon per checkout;
6. shipping per shop, less any free-shipping offer.

Every discount is allocated to the lines it applied to by largest remainder (weights: what the
lines came to just before it), so the parts sum to the discount exactly, a line never goes below
zero and each line keeps every allocation with the offer and who funds it. The engine works in
a canonical line order (shop, key), so nothing but the lines themselves decides the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import cached_property
from typing import Protocol, cast

import attrs

from marketcore.domain.promotions.promotions import Funder
from marketcore.domain.promotions.rules import (
    ANONYMOUS,
    REASON_TEXT,
    Applies,
    Basket,
    BuyerContext,
    DiscountRule,
    DoesNotApply,
    Nudge,
    Placement,
    Price,
    PricingLine,
    Reason,
    RuleKind,
    ShippingRule,
    UnitPriceRule,
    money_text,
    pick,
)
from marketcore.domain.promotions.scope import Scope
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money, allocate

__all__ = [
    "Allocation",
    "AppliedPromotion",
    "CouponChoice",
    "CouponTerms",
    "Evaluation",
    "Hint",
    "Offer",
    "PricedLine",
    "PricingLine",
    "PricingResult",
    "PricingRun",
    "PromotionTerms",
    "ShopPricing",
    "SkippedPromotion",
    "UnitPriceSource",
    "price",
]

MAX_LINES = 500
STAGE_SEARCH_LEAVES = 64  # exact choice within exclusivity groups up to this many paths, then greedy


# -- inputs -------------------------------------------------------------------------------------


class PromotionTerms(Protocol):
    """What the engine reads from a promotion (``Promotion``, ``FullReduction``, ``FlashSale``)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def shop_id(self) -> str | None: ...
    @property
    def rule(self) -> RuleKind: ...
    @property
    def scope(self) -> Scope: ...
    @property
    def starts_at(self) -> datetime | None: ...
    @property
    def ends_at(self) -> datetime | None: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def group(self) -> str | None: ...
    @property
    def priority(self) -> int | None: ...
    @property
    def funder(self) -> Funder: ...


class CouponTerms(Protocol):
    """What the engine reads from a held coupon (``Coupon``): its rule is a coupon kind."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def shop_id(self) -> str | None: ...
    @property
    def rule(self) -> RuleKind: ...
    @property
    def scope(self) -> Scope: ...
    @property
    def valid_from(self) -> datetime: ...
    @property
    def valid_until(self) -> datetime: ...
    @property
    def funder(self) -> Funder: ...


# -- outputs ------------------------------------------------------------------------------------


@attrs.frozen
class Allocation:
    """One offer's share of one line. ``promotion_id`` is the coupon's id for a coupon."""

    promotion_id: str
    label: str
    amount: Money
    funder: Funder
    kind: str = ""

    def to_plain(self) -> dict[str, str | int]:
        """Plain values, for storing on an order line."""
        return {
            "promotion_id": self.promotion_id,
            "label": self.label,
            "amount": self.amount.amount,
            "currency": self.amount.currency.value,
            "funder": self.funder.value,
            "kind": self.kind,
        }

    @classmethod
    def from_plain(cls, data: Mapping[str, str | int]) -> Allocation:
        return cls(
            str(data["promotion_id"]),
            str(data["label"]),
            Money(int(data["amount"]), Currency(str(data["currency"]))),
            Funder(str(data["funder"])),
            str(data.get("kind", "")),
        )


@attrs.frozen
class UnitPriceSource:
    """The step-1 offer whose price a line is charged at."""

    promotion_id: str
    label: str
    kind: str
    detail: str


@attrs.frozen
class PricedLine:
    """A line as priced. ``line.unit_price`` is the unit price after step 1 (what an order line
    stores); ``list_price`` the price it came in with."""

    line: PricingLine
    allocations: tuple[Allocation, ...]
    list_price: Money = attrs.field(default=attrs.Factory(lambda self: self.line.unit_price, takes_self=True))
    price_source: UnitPriceSource | None = None

    @cached_property
    def subtotal(self) -> Money:
        return self.line.subtotal

    @cached_property
    def discount(self) -> Money:
        return Money(sum(a.amount.amount for a in self.allocations), self.line.unit_price.currency)

    @cached_property
    def total(self) -> Money:
        return Money(self.subtotal.amount - self.discount.amount, self.line.unit_price.currency)

    def allocations_plain(self) -> list[dict[str, str | int]]:
        return [a.to_plain() for a in self.allocations]


@attrs.frozen
class AppliedPromotion:
    promotion_id: str
    label: str
    amount: Money
    funder: Funder
    kind: str = ""
    detail: str = ""


@attrs.frozen
class SkippedPromotion:
    """An offer that did not apply: ``reason`` is a stable code, ``detail`` says it for people;
    ``line_key`` names the line for step-1 offers."""

    promotion_id: str
    label: str
    reason: str
    detail: str = ""
    kind: str = ""
    line_key: str | None = None

    @property
    def reason_text(self) -> str:
        return REASON_TEXT.get(self.reason, self.reason)


@attrs.frozen
class Hint:
    """ "add ¥12.00 for ¥20.00 off (满减)": ``add`` more on the offer's eligible lines (or
    ``add_units`` more items) would bring a discount of ``reward``."""

    promotion_id: str
    label: str
    kind: str
    text: str
    add: Money | None = None
    reward: Money | None = None
    add_units: int | None = None


@attrs.frozen
class ShopPricing:
    shop_id: str
    lines: tuple[PricedLine, ...]
    applied: tuple[AppliedPromotion, ...]  # every discount on this shop's lines, platform shares too
    skipped: tuple[SkippedPromotion, ...]
    hints: tuple[Hint, ...]
    shipping: Money  # what the buyer pays for shipping
    shipping_fee: Money = attrs.field(default=attrs.Factory(lambda self: self.shipping, takes_self=True))
    shipping_waiver: AppliedPromotion | None = None
    coupon_id: str | None = None

    @cached_property
    def subtotal(self) -> Money:
        amount = sum([p.line.unit_price.amount * p.line.quantity for p in self.lines])
        return Money(amount, self.shipping.currency)

    @cached_property
    def discount(self) -> Money:
        amount = sum([a.amount.amount for p in self.lines for a in p.allocations])
        return Money(amount, self.shipping.currency)

    @cached_property
    def total(self) -> Money:
        return Money(
            self.subtotal.amount - self.discount.amount + self.shipping.amount, self.shipping.currency
        )


@attrs.frozen
class PricingResult:
    shops: tuple[ShopPricing, ...]
    currency: Currency
    applied: tuple[AppliedPromotion, ...] = ()  # platform promotions and coupon, whole amounts
    skipped: tuple[SkippedPromotion, ...] = ()  # platform offers, and coupons for absent shops
    hints: tuple[Hint, ...] = ()
    coupon_ids: tuple[str, ...] = ()  # the coupons that applied: lock exactly these

    @cached_property
    def subtotal(self) -> Money:
        return Money(sum(s.subtotal.amount for s in self.shops), self.currency)

    @cached_property
    def discount(self) -> Money:
        return Money(sum(s.discount.amount for s in self.shops), self.currency)

    @cached_property
    def shipping(self) -> Money:
        return Money(sum(s.shipping.amount for s in self.shops), self.currency)

    @cached_property
    def total(self) -> Money:
        return Money(sum(s.total.amount for s in self.shops), self.currency)

    def shop(self, shop_id: str) -> ShopPricing:
        for shop in self.shops:
            if shop.shop_id == shop_id:
                return shop
        raise KeyError(shop_id)


def price(
    lines: Sequence[PricingLine],
    promotions: Sequence[PromotionTerms] = (),
    shipping_fees: Mapping[str, Money] | None = None,
    currency: Currency = Currency.CNY,
    *,
    buyer: BuyerContext = ANONYMOUS,
    coupons: Sequence[CouponTerms] = (),
    at: datetime | None = None,
) -> PricingResult:
    """Price ``lines`` with the candidate ``promotions`` and the buyer's chosen ``coupons``.

    ``at`` is the pricing instant: offers outside their window, or disabled, are reported and left
    out. Without it the caller vouches that what it passes is current (the checkout's repository
    returns only active promotions). More than one coupon for a shop, or more than one platform
    coupon, is refused. Shops come out in order of first appearance, lines in input order.
    """
    run = PricingRun(lines, promotions, shipping_fees or {}, currency, buyer, at)
    return run.result(run.choose(coupons))


# -- the engine ---------------------------------------------------------------------------------


class Offer:
    """A promotion or coupon as the engine uses it: its terms resolved once per pricing, and the
    lines (canonical indices) it may apply to."""

    __slots__ = ("eligible", "funder", "group", "id", "kind", "label", "priority", "rule", "scope", "shop_id")

    def __init__(
        self, terms: PromotionTerms | CouponTerms, rule: RuleKind, group: str, priority: int
    ) -> None:
        self.id = terms.id
        self.label = terms.name
        self.kind = rule.code
        self.rule = rule
        self.shop_id = terms.shop_id
        self.scope = terms.scope
        self.funder = terms.funder
        self.group = group
        self.priority = priority
        self.eligible: Sequence[int] = ()

    def over(self, eligible: Sequence[int]) -> Offer:
        """The same offer over other lines (a platform shipping offer, once per shop)."""
        copy = Offer.__new__(Offer)
        for slot in Offer.__slots__:
            setattr(copy, slot, getattr(self, slot))
        copy.eligible = eligible
        return copy

    def skipped(self, reason: str, detail: str = "", line_key: str | None = None) -> SkippedPromotion:
        return SkippedPromotion(
            self.id, self.label, reason, detail or REASON_TEXT.get(reason, ""), self.kind, line_key
        )


class Evaluation:
    """One offer's outcome at its turn; ``discount`` is checked against its basket (0: none)."""

    __slots__ = ("discount", "offer", "outcome")

    def __init__(self, offer: Offer, outcome: Applies | DoesNotApply, discount: int) -> None:
        self.offer = offer
        self.outcome = outcome
        self.discount = discount


class _Output:
    """What a recorded run collects: per-line allocations (and the platform offers' parts, which
    each shop reports its share of), and per shop (None: the platform level) what applied, what did
    not and the hints."""

    def __init__(self, lines: int, currency: Currency) -> None:
        self.currency = currency
        self.allocations: list[list[Allocation]] = [[] for _ in range(lines)]
        self.platform_parts: list[tuple[Offer, Sequence[int]]] = []
        self.applied: dict[str | None, list[AppliedPromotion]] = {}
        self.skipped: dict[str | None, list[SkippedPromotion]] = {}
        self.hints: dict[str | None, list[Hint]] = {}
        self.used: set[str] = set()  # coupons that applied

    def copy(self) -> _Output:
        other = _Output(0, self.currency)
        other.allocations = [list(a) for a in self.allocations]
        other.platform_parts = list(self.platform_parts)
        other.applied = {k: list(v) for k, v in self.applied.items()}
        other.skipped = {k: list(v) for k, v in self.skipped.items()}
        other.hints = {k: list(v) for k, v in self.hints.items()}
        other.used = set(self.used)
        return other

    def allocate(self, offer: Offer, parts: Sequence[int]) -> None:
        allocations, currency = self.allocations, self.currency
        offer_id, label, funder, kind = offer.id, offer.label, offer.funder, offer.kind
        for i, part in zip(offer.eligible, parts, strict=True):
            if part:
                allocations[i].append(Allocation(offer_id, label, Money(part, currency), funder, kind))
        if offer.shop_id is None:
            self.platform_parts.append((offer, parts))

    def apply(self, where: str | None, offer: Offer, amount: int, detail: str) -> None:
        self.applied.setdefault(where, []).append(
            AppliedPromotion(
                offer.id, offer.label, Money(amount, self.currency), offer.funder, offer.kind, detail
            )
        )

    def skip(self, where: str | None, skipped: SkippedPromotion) -> None:
        self.skipped.setdefault(where, []).append(skipped)

    def hint(self, where: str | None, offer: Offer, nudge: Nudge) -> None:
        currency = self.currency
        self.hints.setdefault(where, []).append(
            Hint(
                offer.id,
                offer.label,
                offer.kind,
                f"{nudge.text} ({offer.label})",
                None if nudge.add is None else Money(nudge.add, currency),
                None if nudge.reward is None else Money(nudge.reward, currency),
                nudge.add_units,
            )
        )

    def report(self, where: str | None, evaluation: Evaluation, applied: bool) -> None:
        """Record an evaluation: applied, or skipped with its reason; and its hint."""
        offer, outcome = evaluation.offer, evaluation.outcome
        if applied:
            self.apply(where, offer, evaluation.discount, outcome.detail)
        elif isinstance(outcome, DoesNotApply):
            self.skip(where, offer.skipped(outcome.reason, outcome.detail))
        if outcome.hint is not None:
            self.hint(where, offer, outcome.hint)


class CouponChoice:
    """Coupons resolved against a run: at most one per shop and one for the platform, plus the
    ones reported as unusable (out of their window, or for a shop not in the checkout)."""

    __slots__ = ("platform", "rejected", "shops")

    def __init__(self) -> None:
        self.shops: dict[str, Offer] = {}
        self.platform: Offer | None = None
        self.rejected: list[tuple[str | None, SkippedPromotion]] = []

    @property
    def coupon_ids(self) -> tuple[str, ...]:
        ids = tuple(offer.id for offer in self.shops.values())
        return ids + ((self.platform.id,) if self.platform is not None else ())


class PricingRun:
    """One pricing. Steps 1 and 2 run once, on construction; steps 3 to 6 depend on the coupons
    and run per choice (``total`` for the amount, ``result`` for the breakdown), so the
    best-coupon search tries many choices on one run."""

    def __init__(
        self,
        lines: Sequence[PricingLine],
        promotions: Sequence[PromotionTerms],
        shipping_fees: Mapping[str, Money],
        currency: Currency,
        buyer: BuyerContext,
        at: datetime | None,
    ) -> None:
        if not lines:
            raise InvalidInput("items", "nothing to price")
        if len(lines) > MAX_LINES:
            raise InvalidInput("items", f"at most {MAX_LINES} lines")
        self.currency = currency
        self.buyer = buyer
        self.at = at
        seen: set[str] = set()
        for index, line in enumerate(lines):
            if line.unit_price.currency is not currency:
                raise InvalidInput("currency", "all lines must share the checkout currency")
            if line.unit_price.amount < 0:
                raise InvalidInput(f"items[{index}].unit_price", "must not be negative")
            if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
                raise InvalidInput(f"items[{index}].quantity", "a whole number of at least 1")
            if line.key in seen:
                raise InvalidInput(f"items[{index}]", f"line {line.key} appears twice")
            seen.add(line.key)
        self.input_lines = lines
        self.lines: list[PricingLine] = sorted(lines, key=lambda line: (line.shop_id, line.key))
        self.shop_ids: list[str] = list(dict.fromkeys(line.shop_id for line in lines))
        # A shop's lines are a run of the canonical order: ranges, which the engine slices.
        self.everything = range(len(self.lines))
        runs: dict[str, range] = {}
        canonical: dict[str, int] = {}
        start = 0
        for index, line in enumerate(self.lines):
            canonical[line.key] = index
            if index + 1 == len(self.lines) or self.lines[index + 1].shop_id != line.shop_id:
                runs[line.shop_id] = range(start, index + 1)
                start = index + 1
        self.shop_lines: dict[str, range] = {shop: runs[shop] for shop in self.shop_ids}
        self.output_order: dict[str, list[int]] = {shop: [] for shop in self.shop_ids}  # input order
        for line in lines:
            self.output_order[line.shop_id].append(canonical[line.key])
        self.fees: dict[str, int] = {}
        for shop_id in self.shop_ids:
            fee = shipping_fees.get(shop_id, Money(0, currency))
            if fee.currency is not currency or fee.amount < 0:
                raise InvalidInput(
                    f"shipping_fees.{shop_id}", "a non-negative amount in the checkout currency"
                )
            self.fees[shop_id] = fee.amount
        self.prepared = _Output(len(self.lines), currency)  # steps 1 and 2, copied into every result
        self._coupons: dict[int, tuple[Evaluation, list[int], bool]] = {}
        self._sort_promotions(promotions)
        self._unit_prices()
        amounts = list(self.base)
        for shop_id in self.shop_ids:
            if self.shop_groups[shop_id]:
                self._stage(self.shop_groups[shop_id], amounts, shop_id, self.prepared)
        self.after_shops: list[int] = amounts

    # -- preparing -------------------------------------------------------------------------------

    def _inactive(self, starts_at: datetime | None, ends_at: datetime | None, enabled: bool) -> str | None:
        if not enabled:
            return Reason.DISABLED
        at = self.at
        if at is None:
            return None
        if starts_at is not None and at < starts_at:
            return Reason.NOT_STARTED
        if ends_at is not None and at >= ends_at:
            return Reason.ENDED
        return None

    def _eligible(self, scope: Scope, pool: Sequence[int]) -> Sequence[int]:
        """The lines of ``pool`` in ``scope`` (``pool`` itself when the scope is everything: the
        engine never changes an offer's lines)."""
        if scope.is_everything:
            return pool
        lines = self.lines
        return [i for i in pool if scope.covers(lines[i].sku_id, lines[i].category_ids, lines[i].shop_id)]

    def _sort_promotions(self, promotions: Sequence[PromotionTerms]) -> None:
        self.unit_offers: dict[str, list[Offer]] = {shop: [] for shop in self.shop_ids}
        shop_offers: dict[str, list[Offer]] = {shop: [] for shop in self.shop_ids}
        self.shipping_offers: dict[str, list[Offer]] = {shop: [] for shop in self.shop_ids}
        platform_offers: list[Offer] = []
        platform_shipping: list[Offer] = []
        everything = self.everything
        seen: set[str] = set()
        for index, terms in enumerate(promotions):
            rule = terms.rule
            placement = rule.placement
            if placement is Placement.COUPON:
                raise InvalidInput(f"promotions[{index}]", "coupons are passed as coupons")
            if terms.id in seen:
                raise InvalidInput(f"promotions[{index}]", f"promotion {terms.id} appears twice")
            seen.add(terms.id)
            shop_id = terms.shop_id
            if shop_id is None and placement in (Placement.UNIT_PRICE, Placement.SHOP_PROMOTION):
                raise InvalidInput(f"promotions[{index}].shop_id", f"a {rule.code} belongs to a shop")
            if shop_id is not None and placement is Placement.PLATFORM_PROMOTION:
                raise InvalidInput(f"promotions[{index}].shop_id", f"a {rule.code} belongs to the platform")
            if shop_id is not None and shop_id not in self.shop_lines:
                continue  # another shop's offer: nothing here for it to apply to or explain
            priority = terms.priority
            offer = Offer(
                terms,
                rule,
                terms.group or rule.code,
                getattr(rule, "default_priority", 0) if priority is None else priority,
            )
            inactive = self._inactive(terms.starts_at, terms.ends_at, terms.enabled)
            if inactive is not None:
                self.prepared.skip(shop_id, offer.skipped(inactive))
            elif placement is Placement.UNIT_PRICE:
                self.unit_offers[cast(str, shop_id)].append(offer)
            elif placement is Placement.SHOP_PROMOTION:
                offer.eligible = self._eligible(offer.scope, self.shop_lines[cast(str, shop_id)])
                shop_offers[cast(str, shop_id)].append(offer)
            elif placement is Placement.PLATFORM_PROMOTION:
                offer.eligible = self._eligible(offer.scope, everything)
                platform_offers.append(offer)
            elif placement is Placement.SHIPPING:
                if shop_id is None:
                    platform_shipping.append(offer)
                else:
                    offer.eligible = self._eligible(offer.scope, self.shop_lines[shop_id])
                    self.shipping_offers[shop_id].append(offer)
            else:
                raise InvalidInput(f"promotions[{index}]", f"unknown placement {placement}")
        # Per shop: the shop's own shipping offers first, so a tie leaves the platform's money alone.
        platform_shipping.sort(key=lambda o: o.id)
        for shop_id in self.shop_ids:
            offers = self.shipping_offers[shop_id]
            offers.sort(key=lambda o: o.id)
            for offer in platform_shipping:
                eligible = self._eligible(offer.scope, self.shop_lines[shop_id])
                if eligible:
                    offers.append(offer.over(eligible))
        self.shop_groups = {shop: _groups(offers) for shop, offers in shop_offers.items()}
        self.platform_groups = _groups(platform_offers)

    def _unit_prices(self) -> None:
        """Step 1: each line at the lowest of its candidate prices."""
        currency, out = self.currency, self.prepared
        self.unit: list[int] = []
        self.sources: list[UnitPriceSource | None] = []
        shared: dict[tuple[int, str], UnitPriceSource] = {}  # one value per offer and text
        covering = {  # each offer with the lines it covers (None: all its shop's)
            shop_id: [
                (
                    offer,
                    None
                    if offer.scope.is_everything
                    else set(self._eligible(offer.scope, self.shop_lines[shop_id])),
                )
                for offer in offers
            ]
            for shop_id, offers in self.unit_offers.items()
        }
        for i, line in enumerate(self.lines):
            unit = line.unit_price.amount
            candidates: list[tuple[int, str, Offer, str]] = []
            for offer, covered in covering[line.shop_id]:
                if covered is not None and i not in covered:
                    continue
                answer = cast(UnitPriceRule, offer.rule).unit_price(line, self.buyer)
                if isinstance(answer, DoesNotApply):
                    out.skip(line.shop_id, offer.skipped(answer.reason, answer.detail, line.key))
                    if answer.hint is not None:
                        out.hint(line.shop_id, offer, answer.hint)
                elif isinstance(answer, Price) and answer.amount >= 0:
                    candidates.append((answer.amount, offer.id, offer, answer.detail))
            if len(candidates) > 1:
                candidates.sort(key=lambda c: (c[0], c[1]))
            source = None
            if candidates and candidates[0][0] < unit:
                unit, _, offer, detail = candidates.pop(0)
                source = shared.get((id(offer), detail))
                if source is None:
                    source = shared[id(offer), detail] = UnitPriceSource(
                        offer.id, offer.label, offer.kind, detail
                    )
            for amount, _, offer, detail in candidates:
                text = f"{detail}: {money_text(amount, currency)}, the line pays {money_text(unit, currency)}"
                out.skip(line.shop_id, offer.skipped(Reason.LOWER_PRICE_APPLIED, text, line.key))
            self.unit.append(unit)
            self.sources.append(source)
        self.base = [unit * line.quantity for unit, line in zip(self.unit, self.lines, strict=True)]

    # -- evaluating -------------------------------------------------------------------------------

    def _basket(self, offer: Offer, amounts: Sequence[int], explain: bool = False) -> Basket:
        return Basket(self.currency, self.lines, self.unit, amounts, offer.eligible, explain)

    def _evaluate(self, offer: Offer, amounts: Sequence[int], explain: bool) -> Evaluation:
        if not offer.eligible:
            return Evaluation(offer, DoesNotApply(Reason.NO_ELIGIBLE_LINES), 0)
        basket = self._basket(offer, amounts, explain)
        outcome = cast(DiscountRule, offer.rule).discount(basket)
        if not isinstance(outcome, Applies):
            return Evaluation(offer, outcome, 0)
        discount = min(outcome.discount, basket.amount)
        if discount <= 0:
            return Evaluation(
                offer, DoesNotApply(Reason.NOTHING_TO_DISCOUNT, outcome.detail, outcome.hint), 0
            )
        return Evaluation(offer, outcome, discount)

    @staticmethod
    def _take(offer: Offer, discount: int, amounts: list[int]) -> list[int]:
        """Allocate ``discount`` over the offer's lines by what they come to now; lower them."""
        eligible = offer.eligible
        parts = allocate(discount, pick(amounts, eligible))
        for i, part in zip(eligible, parts, strict=True):
            amounts[i] -= part
        return parts

    def _stage(
        self, groups: list[list[Offer]], amounts: list[int], where: str | None, out: _Output | None
    ) -> None:
        """Apply exclusivity groups in order, each on what the groups before it left.

        Within a group, the member that leaves the buyer the lowest amount after the whole stage
        wins (searched exactly while there are at most ``STAGE_SEARCH_LEAVES`` paths, greedily
        beyond): a bigger discount now can cost a later group its threshold. Ties go to the
        bigger discount now, then priority, then id. ``amounts`` is lowered in place.
        """
        path: list[int] | None = None
        # A choice matters beyond its own discount only through the groups after it; in the
        # last group the biggest discount is simply best.
        if any(len(members) > 1 for members in groups[:-1]):
            path, final = self._search(groups, amounts)
            if out is None:
                amounts[:] = final
                return
        for g, members in enumerate(groups):
            evaluations = [self._evaluate(offer, amounts, out is not None) for offer in members]
            chosen: Evaluation | None = None
            if path is None:
                best = max(evaluations, key=lambda e: e.discount)  # the first of the biggest
                chosen = best if best.discount else None
            elif path[g] >= 0:
                chosen = evaluations[path[g]]
            if chosen is not None:
                parts = self._take(chosen.offer, chosen.discount, amounts)
                if out is not None:
                    out.allocate(chosen.offer, parts)
            if out is None:
                continue
            for evaluation in evaluations:
                out.report(where, evaluation, evaluation is chosen)
                if evaluation.discount and evaluation is not chosen:
                    assert chosen is not None
                    text = f"group {evaluation.offer.group}: {chosen.offer.label} is better for the buyer"
                    out.skip(where, evaluation.offer.skipped(Reason.NOT_STACKABLE, text))

    def _search(self, groups: list[list[Offer]], amounts: list[int]) -> tuple[list[int], list[int]]:
        """The member chosen in each group (-1: none applies) and the amounts they leave."""
        best: tuple[int, list[int], list[int]] | None = None
        leaves = 0

        def visit(g: int, state: list[int], path: list[int]) -> None:
            nonlocal best, leaves
            if g == len(groups):
                leaves += 1
                total = sum(state)
                if best is None or total < best[0]:
                    best = (total, path, state)
                return
            options = []
            for m, offer in enumerate(groups[g]):
                evaluation = self._evaluate(offer, state, False)
                if evaluation.discount:
                    options.append((-evaluation.discount, m, evaluation))
            if not options:
                visit(g + 1, state, [*path, -1])
                return
            options.sort(key=lambda o: (o[0], o[1]))
            last = g == len(groups) - 1
            for k, (_, m, evaluation) in enumerate(options):
                if k and (last or leaves >= STAGE_SEARCH_LEAVES):
                    break
                after = list(state)
                self._take(evaluation.offer, evaluation.discount, after)
                visit(g + 1, after, [*path, m])

        visit(0, list(amounts), [])
        assert best is not None
        return best[1], best[2]

    # -- coupons ----------------------------------------------------------------------------------

    def coupon_offer(self, coupon: CouponTerms) -> Offer:
        rule = coupon.rule
        if rule.placement is not Placement.COUPON:
            raise InvalidInput("coupons", f"{coupon.id} is not of a coupon kind ({rule.code})")
        offer = Offer(coupon, rule, rule.code, 0)
        if coupon.shop_id is None:
            offer.eligible = self._eligible(offer.scope, self.everything)
        elif coupon.shop_id in self.shop_lines:
            offer.eligible = self._eligible(offer.scope, self.shop_lines[coupon.shop_id])
        return offer

    def coupon_window(self, coupon: CouponTerms) -> str | None:
        """Why the coupon cannot be used at the pricing instant (None: it can)."""
        return self._inactive(coupon.valid_from, coupon.valid_until, True)

    def choose(self, coupons: Sequence[CouponTerms]) -> CouponChoice:
        """The buyer's coupons as a choice. Two for one shop, or two platform coupons, are
        refused; one out of its window or for a shop not in the checkout is reported, unused."""
        choice = CouponChoice()
        owners: set[str | None] = set()
        for index, coupon in enumerate(coupons):
            if coupon.shop_id in owners:
                what = "one platform coupon per checkout" if coupon.shop_id is None else "one coupon per shop"
                raise InvalidInput(f"coupons[{index}]", what)
            owners.add(coupon.shop_id)
            offer = self.coupon_offer(coupon)
            inactive = self.coupon_window(coupon)
            present = coupon.shop_id is None or coupon.shop_id in self.shop_lines
            where = coupon.shop_id if coupon.shop_id in self.shop_lines else None
            if inactive is not None:
                choice.rejected.append((where, offer.skipped(inactive)))
            elif not present:
                choice.rejected.append((None, offer.skipped(Reason.NO_ELIGIBLE_LINES, "no line of its shop")))
            elif coupon.shop_id is None:
                choice.platform = offer
            else:
                choice.shops[coupon.shop_id] = offer
        return choice

    def shop_coupon(self, offer: Offer, explain: bool = False) -> tuple[Evaluation, list[int]]:
        """Step 3 for one shop coupon: its evaluation after step 2 and its parts per eligible line
        (kept per offer: the best-coupon search asks for each many times, unexplained)."""
        cached = self._coupons.get(id(offer))
        if cached is not None and cached[0].offer is not offer:
            cached = None
        if cached is None or (explain and not cached[2]):
            evaluation = self._evaluate(offer, self.after_shops, explain)
            if cached is not None and evaluation.discount == cached[0].discount:
                parts = cached[1]  # the same discount on the same amounts: the same parts
            elif evaluation.discount:
                parts = allocate(evaluation.discount, pick(self.after_shops, offer.eligible))
            else:
                parts = []
            cached = self._coupons[id(offer)] = (evaluation, parts, explain)
        return cached[0], cached[1]

    # -- steps 3 to 6 -----------------------------------------------------------------------------

    def _shipping(
        self, shop_id: str, amounts: Sequence[int], out: _Output | None
    ) -> tuple[int, Evaluation | None]:
        """Step 6 for one shop: the fee less the biggest waiver (one offer per shop)."""
        fee = self.fees[shop_id]
        offers = self.shipping_offers[shop_id]
        if not fee or not offers:
            return fee, None
        best: Evaluation | None = None
        evaluations = []
        for offer in offers:
            if offer.eligible:
                outcome = cast(ShippingRule, offer.rule).waive(
                    self._basket(offer, amounts, out is not None), fee
                )
                waived = max(0, min(outcome.discount, fee)) if isinstance(outcome, Applies) else 0
                evaluation = Evaluation(offer, outcome, waived)
            else:
                evaluation = Evaluation(offer, DoesNotApply(Reason.NO_ELIGIBLE_LINES), 0)
            evaluations.append(evaluation)
            if evaluation.discount and (best is None or evaluation.discount > best.discount):
                best = evaluation
        if out is not None:
            for evaluation in evaluations:
                if evaluation is best:
                    continue
                out.report(shop_id, evaluation, False)
                if evaluation.discount:
                    assert best is not None
                    text = f"one shipping offer per shop: {best.offer.label} applied"
                    out.skip(shop_id, evaluation.offer.skipped(Reason.NOT_STACKABLE, text))
        return fee - (best.discount if best else 0), best

    def total(self, choice: CouponChoice) -> int:
        """What the buyer pays under ``choice``, in minor units, nothing recorded."""
        amounts = list(self.after_shops)
        for offer in choice.shops.values():
            _, parts = self.shop_coupon(offer)
            for i, part in zip(offer.eligible, parts, strict=False):
                amounts[i] -= part
        if self.platform_groups:
            self._stage(self.platform_groups, amounts, None, None)
        if choice.platform is not None:
            evaluation = self._evaluate(choice.platform, amounts, False)
            if evaluation.discount:
                self._take(choice.platform, evaluation.discount, amounts)
        shipping = 0
        for shop_id in self.shop_ids:
            shipping += self._shipping(shop_id, amounts, None)[0]
        return sum(amounts) + shipping

    def result(self, choice: CouponChoice) -> PricingResult:
        """The full breakdown under ``choice``."""
        out = self.prepared.copy()
        amounts = list(self.after_shops)
        used: list[str] = []
        for where, skipped in choice.rejected:
            out.skip(where, skipped)
        for shop_id in self.shop_ids:
            offer = choice.shops.get(shop_id)
            if offer is None:
                continue
            evaluation, parts = self.shop_coupon(offer, explain=True)
            out.report(shop_id, evaluation, bool(evaluation.discount))
            if evaluation.discount:
                for i, part in zip(offer.eligible, parts, strict=True):
                    amounts[i] -= part
                out.allocate(offer, parts)
                used.append(offer.id)
                out.used.add(offer.id)
        if self.platform_groups:
            self._stage(self.platform_groups, amounts, None, out)
        if choice.platform is not None:
            evaluation = self._evaluate(choice.platform, amounts, True)
            out.report(None, evaluation, bool(evaluation.discount))
            if evaluation.discount:
                out.allocate(choice.platform, self._take(choice.platform, evaluation.discount, amounts))
                used.append(choice.platform.id)
                out.used.add(choice.platform.id)
        shares = self._platform_shares(out)
        shops = tuple(
            self._shop_result(shop_id, amounts, choice, out, shares[shop_id]) for shop_id in self.shop_ids
        )
        return PricingResult(
            shops,
            self.currency,
            applied=tuple(out.applied.get(None, ())),
            skipped=tuple(out.skipped.get(None, ())),
            hints=tuple(out.hints.get(None, ())),
            coupon_ids=tuple(used),
        )

    def _platform_shares(self, out: _Output) -> dict[str, list[AppliedPromotion]]:
        """Each shop's share of every platform discount, in the order they first appear on its
        lines (canonical order; on one line, the order they applied in)."""
        lines, currency = self.lines, self.currency
        parts = sorted(
            (i, order, offer, part)
            for order, (offer, offer_parts) in enumerate(out.platform_parts)
            for i, part in zip(offer.eligible, offer_parts, strict=True)
            if part
        )
        found: dict[str, dict[str, tuple[Offer, int]]] = {shop_id: {} for shop_id in self.shop_ids}
        for i, _, offer, part in parts:
            shares = found[lines[i].shop_id]
            shares[offer.id] = (offer, shares[offer.id][1] + part if offer.id in shares else part)
        details = {a.promotion_id: a.detail for a in out.applied.get(None, ())}
        return {
            shop_id: [
                AppliedPromotion(
                    offer.id,
                    offer.label,
                    Money(amount, currency),
                    offer.funder,
                    offer.kind,
                    details.get(offer.id, ""),
                )
                for offer, amount in shares.values()
            ]
            for shop_id, shares in found.items()
        }

    def _shop_result(
        self,
        shop_id: str,
        amounts: Sequence[int],
        choice: CouponChoice,
        out: _Output,
        shares: list[AppliedPromotion],
    ) -> ShopPricing:
        currency, lines, units, sources = self.currency, self.lines, self.unit, self.sources
        shipping, waiver = self._shipping(shop_id, amounts, out)
        allocations = out.allocations
        priced: dict[int, PricedLine] = {}
        for i in self.shop_lines[shop_id]:
            line = lines[i]
            unit = units[i]
            at_unit = line
            if unit != line.unit_price.amount:
                at_unit = PricingLine(
                    line.key,
                    line.shop_id,
                    Money(unit, currency),
                    line.quantity,
                    line.sku_id,
                    line.category_ids,
                )
            priced[i] = PricedLine(at_unit, tuple(allocations[i]), line.unit_price, sources[i])
        waived = None
        if waiver is not None:
            offer = waiver.offer
            waived = AppliedPromotion(
                offer.id,
                offer.label,
                Money(waiver.discount, currency),
                offer.funder,
                offer.kind,
                waiver.outcome.detail,
            )
        coupon = choice.shops.get(shop_id)
        return ShopPricing(
            shop_id=shop_id,
            lines=tuple(priced[i] for i in self.output_order[shop_id]),
            applied=(*out.applied.get(shop_id, ()), *shares),
            skipped=tuple(out.skipped.get(shop_id, ())),
            hints=tuple(out.hints.get(shop_id, ())),
            shipping=Money(shipping, currency),
            shipping_fee=Money(self.fees[shop_id], currency),
            shipping_waiver=waived,
            coupon_id=coupon.id if coupon is not None and coupon.id in out.used else None,
        )

    # -- bounds for the best-coupon search -------------------------------------------------------

    def shipping_floor(self, shop_id: str, amounts: Sequence[int]) -> int:
        """The least shipping the shop can pay once its lines come to at most ``amounts``."""
        fee = self.fees[shop_id]
        waiver = 0
        for offer in self.shipping_offers[shop_id]:
            if offer.eligible:
                ceiling = cast(ShippingRule, offer.rule).ceiling(self._basket(offer, amounts), fee)
                waiver = max(waiver, min(max(ceiling, 0), fee))
        return fee - waiver

    def platform_ceiling(self, amounts: Sequence[int] | None = None) -> int:
        """The most the platform promotions (step 4) can take off once the lines come to at most
        ``amounts`` (default: what step 2 left, a bound whatever the coupons)."""
        amounts = self.after_shops if amounts is None else amounts
        total = 0
        for members in self.platform_groups:
            best = 0
            for offer in members:
                if offer.eligible:
                    best = max(best, cast(DiscountRule, offer.rule).ceiling(self._basket(offer, amounts)))
            total += best
        return total

    def ceiling_at(self, offer: Offer, amounts: Sequence[int], amount: int) -> int:
        """A platform offer's ceiling on ``amounts``, its eligible lines coming to ``amount``."""
        basket = Basket(self.currency, self.lines, self.unit, amounts, offer.eligible, False, amount)
        return max(0, cast(DiscountRule, offer.rule).ceiling(basket))

    def coupon_ceiling(self, offer: Offer, amounts: Sequence[int] | None = None) -> int:
        """The most a platform coupon can take off once the lines come to at most ``amounts``."""
        if not offer.eligible:
            return 0
        amounts = self.after_shops if amounts is None else amounts
        return max(0, cast(DiscountRule, offer.rule).ceiling(self._basket(offer, amounts)))


def _groups(offers: list[Offer]) -> list[list[Offer]]:
    """Exclusivity groups, highest priority first (a group's priority is its highest member's),
    ties by group name; members by priority, then id."""
    by_group: dict[str, list[Offer]] = {}
    for offer in offers:
        by_group.setdefault(offer.group, []).append(offer)
    groups = [sorted(members, key=lambda o: (-o.priority, o.id)) for members in by_group.values()]
    groups.sort(key=lambda members: (-members[0].priority, members[0].group))
    return groups
