"""Best-coupon selection: of the buyer's coupons, the combination that makes them pay least.

The rules: at most one coupon per shop, at most one platform coupon. Choices interact: a shop
coupon lowers the amount the platform's thresholds (跨店满减, the platform coupon) and the shop's
free-shipping threshold see, so picking each shop's biggest coupon is not always best. The search
is exact, by branch and bound:

- Per shop, each option (no coupon, or one of its coupons that applies after step 2) has a cost
  ``C = what its lines come to after the coupon + the least shipping it could then pay``. Shop
  options are independent of each other up to step 3, so this is computed once per option.
- For any combination ``x`` and platform choice ``y``:
  ``total(x, y) >= sum of C(x_s) - P(x) - Q(y, x)``, where ``P`` bounds what the platform
  promotions can take off and ``Q`` what ``y`` can, each a rule's ``ceiling`` on the amounts the
  coupons of ``x`` leave. A ceiling holds for any basket of the same lines at lower amounts (the
  built-in kinds are monotone), and steps 4 and 5 only lower amounts, so the bound is sound;
  the shipping floor holds for the same reason. On amounts after step 2 it bounds every ``x``.
- Price every shop's cheapest option with the most promising platform choice first; then, per
  platform choice, walk shop options in order of their extra cost over the shop's cheapest,
  prune as soon as ``sum of cheapest C + extra cost so far - P - Q`` (on the step-2 amounts)
  exceeds the best total found, and at a leaf take ``P`` and ``Q`` again on its own amounts before
  pricing it in full. Shops with a single option (no usable coupon) are not branched on.

Exact for any size, fast when bounds are tight (the usual case: a few leaves for tens of coupons
over several shops). Ties go to fewer coupons (keep the rest), then to the smaller coupon ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import overload

import attrs

from marketcore.domain.promotions.pricing import (
    CouponChoice,
    CouponTerms,
    Offer,
    PricingLine,
    PricingResult,
    PricingRun,
    PromotionTerms,
)
from marketcore.domain.promotions.rules import ANONYMOUS, BuyerContext, Placement, pick
from marketcore.domain.shared.money import Currency, Money

MAX_HELD = 200


@attrs.frozen
class CouponSuggestion:
    coupon_ids: tuple[str, ...]  # the best combination (shop coupons, then the platform's)
    pricing: PricingResult  # the checkout priced with them
    saving: Money  # against using no coupon at all
    evaluated: int  # combinations priced in full by the search


class _Option:
    """One shop's choice (no coupon, or one coupon): its parts on the shop's lines, what it
    lowers the eligible amount of each set of lines the platform offers cover by (``cuts``), and
    what it costs the buyer."""

    __slots__ = ("cost", "cuts", "loss", "offer", "parts", "shop_id")

    def __init__(self, shop_id: str, offer: Offer | None, parts: list[int], cost: int) -> None:
        self.shop_id = shop_id
        self.offer = offer
        self.parts = parts
        self.cost = cost
        self.loss = 0
        self.cuts: list[int] = []


def best_coupons(
    lines: Sequence[PricingLine],
    promotions: Sequence[PromotionTerms],
    shipping_fees: Mapping[str, Money] | None,
    held: Sequence[CouponTerms],
    currency: Currency = Currency.CNY,
    *,
    buyer: BuyerContext = ANONYMOUS,
    at: datetime | None = None,
) -> CouponSuggestion:
    """The coupons of ``held`` the buyer should use on these lines, and the pricing with them.

    Coupons out of their window at ``at``, of shops not in the checkout, or not applicable after
    step 2 are never suggested. ``held`` should be the buyer's usable coupons (not locked or used).
    """
    run = PricingRun(lines, promotions, shipping_fees or {}, currency, buyer, at)
    search = _Search(run, held[:MAX_HELD])
    choice = search.best_choice_found()
    result = run.result(choice)
    return CouponSuggestion(
        coupon_ids=choice.coupon_ids,
        pricing=result,
        saving=Money(search.without - result.total.amount, currency),
        evaluated=search.evaluated,
    )


class _Search:
    def __init__(self, run: PricingRun, held: Sequence[CouponTerms]) -> None:
        self.pricing = run
        self.evaluated = 0
        shop_coupons: dict[str, list[CouponTerms]] = {shop: [] for shop in run.shop_ids}
        platform_coupons = []
        seen: set[str] = set()
        for coupon in sorted(held, key=lambda c: c.id):
            if coupon.id in seen or coupon.rule.placement is not Placement.COUPON:
                continue
            seen.add(coupon.id)
            if run.coupon_window(coupon) is not None:
                continue
            if coupon.shop_id is None:
                platform_coupons.append(coupon)
            elif coupon.shop_id in shop_coupons:
                shop_coupons[coupon.shop_id].append(coupon)
        after = run.after_shops
        # The platform offers the bound watches: every member of the platform promotion groups,
        # then every platform coupon that could ever apply.
        self.watched: list[Offer] = [offer for members in run.platform_groups for offer in members]
        self.groups: list[list[int]] = []
        for members in run.platform_groups:
            start = sum(len(g) for g in self.groups)
            self.groups.append(list(range(start, start + len(members))))
        # Platform choices (None, or a coupon with its index in ``watched``), most promising first.
        self.platform: list[tuple[Offer | None, int]] = [(None, -1)]
        ceilings: dict[int, int] = {-1: 0}
        for coupon in platform_coupons:
            offer = run.coupon_offer(coupon)
            ceiling = run.coupon_ceiling(offer)
            if ceiling > 0:  # one that can never apply only costs the buyer a coupon
                ceilings[len(self.watched)] = ceiling
                self.platform.append((offer, len(self.watched)))
                self.watched.append(offer)
        self.platform.sort(key=lambda p: -ceilings[p[1]])
        # Watched offers over the same lines share one running amount (unscoped ones all cover
        # every line): ``covers[k]`` is offer k's set of lines.
        sets: dict[tuple[int, ...], int] = {}
        self.covers = [sets.setdefault(tuple(o.eligible), len(sets)) for o in self.watched]
        self.bases = [sum([after[i] for i in lines]) for lines in sets]
        everything = len(run.lines)
        watched_sets = [None if len(lines) == everything else set(lines) for lines in sets]
        # Per shop: its options, cheapest first, each with its extra cost over the cheapest.
        self.options: list[list[_Option]] = []
        for shop_id in run.shop_ids:
            indices = run.shop_lines[shop_id]
            bare = sum(pick(after, indices)) + run.shipping_floor(shop_id, after)
            options = [_Option(shop_id, None, [], bare)]
            for coupon in shop_coupons[shop_id]:
                offer = run.coupon_offer(coupon)
                evaluation, parts = run.shop_coupon(offer)
                if not evaluation.discount:
                    continue
                amounts = list(after)
                for i, part in zip(offer.eligible, parts, strict=True):
                    amounts[i] -= part
                cost = sum(pick(amounts, indices)) + run.shipping_floor(shop_id, amounts)
                option = _Option(shop_id, offer, parts, cost)
                whole = sum(parts)
                option.cuts = [
                    whole
                    if eligible is None
                    else sum(part for i, part in zip(offer.eligible, parts, strict=True) if i in eligible)
                    for eligible in watched_sets
                ]
                options.append(option)
            options.sort(key=lambda o: (o.cost, o.offer is not None, _offer_id(o)))
            for option in options:
                option.loss = option.cost - options[0].cost
                option.cuts = option.cuts or [0] * len(sets)
            self.options.append(options)
        self.cheapest = sum(options[0].cost for options in self.options)
        self.choices = [options for options in self.options if len(options) > 1]  # the others: no coupon
        self.best: tuple[int, int, tuple[str, ...]] | None = None
        self.best_choice: CouponChoice | None = None
        self.priced: dict[tuple[str, ...], int] = {}  # totals by the sorted coupon ids
        self.without = 0
        self.current: list[int] = []  # per set of lines, what it comes to at the current node

    def best_choice_found(self) -> CouponChoice:
        run = self.pricing
        # The first incumbent: every shop's cheapest option with the most promising platform choice.
        self._leaf([options[0] for options in self.choices], self.platform[0][0])
        self.without = self._total(CouponChoice(), ())
        for platform, watched in self.platform:
            self.current = list(self.bases)
            floor = self.cheapest - self._ceiling(watched, run.after_shops)
            self._walk(0, 0, [], platform, watched, floor)
        assert self.best_choice is not None
        return self.best_choice

    def _ceiling(self, platform: int, amounts: Sequence[int]) -> int:
        """The most the platform's discounts can take off below the current node: their ceilings
        on the amounts the coupons chosen so far leave (the lines of shops not chosen yet at their
        step-2 amounts, which choosing coupons can only lower)."""
        run, current, watched, covers = self.pricing, self.current, self.watched, self.covers
        ceiling = 0
        for group in self.groups:
            ceiling += max(run.ceiling_at(watched[k], amounts, current[covers[k]]) for k in group)
        if platform >= 0:
            ceiling += run.ceiling_at(watched[platform], amounts, current[covers[platform]])
        return ceiling

    def _walk(
        self, depth: int, loss: int, picks: list[_Option], platform: Offer | None, watched: int, floor: int
    ) -> None:
        """Depth first over the shops with a choice. Any total below a node is at least ``floor``
        (every shop at its cheapest option, less the platform's ceiling at the root) plus the
        losses chosen so far; at a leaf the ceiling is taken again on the amounts its coupons
        leave, which often spares pricing it in full. Only the sets' amounts are kept up to date
        on the way: the lines' own amounts are built for a leaf if a rule reads them."""
        assert self.best is not None
        if depth == len(self.choices):
            bound = self.cheapest + loss - self._ceiling(watched, _Lowered(self.pricing.after_shops, picks))
            if bound <= self.best[0]:
                self._leaf(picks, platform, bound)
            return
        current = self.current
        for option in self.choices[depth]:
            if floor + loss + option.loss > self.best[0]:
                break  # options are in order of loss: the rest cost even more
            cuts = option.cuts
            for k, cut in enumerate(cuts):
                current[k] -= cut
            picks.append(option)
            self._walk(depth + 1, loss + option.loss, picks, platform, watched, floor)
            picks.pop()
            for k, cut in enumerate(cuts):
                current[k] += cut

    def _leaf(self, picks: list[_Option], platform: Offer | None, bound: int = 0) -> None:
        """Price the combination unless it cannot beat the best found: its total is at least
        ``bound``, and ties are broken by the coupons, known before pricing."""
        choice = CouponChoice()
        for option in picks:
            if option.offer is not None:
                choice.shops[option.shop_id] = option.offer
        choice.platform = platform
        ids = tuple(sorted(choice.coupon_ids))
        if self.best is not None and (bound, len(ids), ids) >= self.best:
            return
        key = (self._total(choice, ids), len(ids), ids)
        if self.best is None or key < self.best:
            self.best, self.best_choice = key, choice

    def _total(self, choice: CouponChoice, ids: tuple[str, ...]) -> int:
        total = self.priced.get(ids)
        if total is None:
            total = self.priced[ids] = self.pricing.total(choice)
            self.evaluated += 1
        return total


def _offer_id(option: _Option) -> str:
    return "" if option.offer is None else option.offer.id


class _Lowered(Sequence[int]):
    """The step-2 amounts less the parts of the options picked, worked out on first reading: a
    built-in kind's ceiling reads only the total its basket is given, never single lines."""

    __slots__ = ("_after", "_amounts", "_picks")

    def __init__(self, after: list[int], picks: Sequence[_Option]) -> None:
        self._after = after
        self._picks = list(picks)
        self._amounts: list[int] | None = None

    def _list(self) -> list[int]:
        if self._amounts is None:
            amounts = list(self._after)
            for option in self._picks:
                if option.offer is not None:
                    for i, part in zip(option.offer.eligible, option.parts, strict=True):
                        amounts[i] -= part
            self._amounts = amounts
        return self._amounts

    def __len__(self) -> int:
        return len(self._after)

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        return self._list()[index]
