"""Best-coupon selection: of the buyer's coupons, the combination that makes them pay least.

The rules: at most one coupon per shop, at most one platform coupon. Choices interact: a shop
coupon lowers the amount the platform's thresholds (跨店满减, the platform coupon) and the shop's
free-shipping threshold see, so picking each shop's biggest coupon is not always best. The search
is exact, by branch and bound:

- Per shop, each option (no coupon, or one of its coupons that applies after step 2) has a cost
  ``C = what its lines come to after the coupon + the least shipping it could then pay``. Shop
  options are independent of each other up to step 3, so this is computed once per option.
- For any combination ``x`` and platform coupon ``y``:
  ``total(x, y) >= sum of C(x_s) - P - Q(y)``, where ``P`` bounds what the platform promotions
  can take off and ``Q(y)`` what ``y`` can, both evaluated on the amounts after step 2 (every
  rule kind's ``ceiling`` holds for any basket of the same lines at lower amounts — the built-in
  kinds are monotone). Shipping can only be at least its floor, for the same reason.
- Start from each platform choice with every shop's cheapest option; then, per platform choice,
  walk shop options in order of their extra cost over the shop's cheapest and prune a branch as
  soon as its bound exceeds the best total found. Only surviving leaves are priced in full.

Exact for any size, fast when bounds are tight (the usual case: a few leaves for tens of coupons
over several shops). Ties go to fewer coupons (keep the rest), then to the smaller coupon ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

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
from marketcore.domain.promotions.rules import ANONYMOUS, BuyerContext, Placement
from marketcore.domain.shared.money import Currency, Money

MAX_HELD = 200


@attrs.frozen
class CouponSuggestion:
    coupon_ids: tuple[str, ...]  # the best combination (shop coupons, then the platform's)
    pricing: PricingResult  # the checkout priced with them
    saving: Money  # against using no coupon at all
    evaluated: int  # combinations priced in full by the search


class _Option:
    __slots__ = ("cost", "loss", "offer", "shop_id")

    def __init__(self, shop_id: str, offer: Offer | None, cost: int) -> None:
        self.shop_id = shop_id
        self.offer = offer
        self.cost = cost
        self.loss = 0


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
        platform = []
        seen: set[str] = set()
        for coupon in sorted(held, key=lambda c: c.id):
            if coupon.id in seen or coupon.rule.placement is not Placement.COUPON:
                continue
            seen.add(coupon.id)
            if run.coupon_window(coupon) is not None:
                continue
            if coupon.shop_id is None:
                platform.append(coupon)
            elif coupon.shop_id in shop_coupons:
                shop_coupons[coupon.shop_id].append(coupon)
        # Per shop: its options, cheapest first, each with its extra cost over the cheapest.
        self.options: list[list[_Option]] = []
        for shop_id in run.shop_ids:
            indices = run.shop_lines[shop_id]
            after = run.after_shops
            options = [
                _Option(shop_id, None, sum(after[i] for i in indices) + run.shipping_floor(shop_id, after))
            ]
            for coupon in shop_coupons[shop_id]:
                offer = run.coupon_offer(coupon)
                evaluation, parts = run.shop_coupon(offer)
                if not evaluation.discount:
                    continue
                amounts = list(after)
                for i, part in zip(offer.eligible, parts, strict=True):
                    amounts[i] -= part
                cost = sum(amounts[i] for i in indices) + run.shipping_floor(shop_id, amounts)
                options.append(_Option(shop_id, offer, cost))
            options.sort(key=lambda o: (o.cost, o.offer is not None, _offer_id(o)))
            for option in options:
                option.loss = option.cost - options[0].cost
            self.options.append(options)
        self.floor = sum(options[0].cost for options in self.options) - run.platform_ceiling()
        self.platform: list[tuple[Offer | None, int]] = [(None, 0)]
        for coupon in platform:
            offer = run.coupon_offer(coupon)
            ceiling = run.coupon_ceiling(offer)
            if ceiling > 0:  # one that can never apply only costs the buyer a coupon
                self.platform.append((offer, ceiling))
        self.best: tuple[int, int, tuple[str, ...]] | None = None
        self.best_choice: CouponChoice | None = None
        self.priced: set[tuple[str, ...]] = set()
        self.without = 0

    def best_choice_found(self) -> CouponChoice:
        cheapest = [options[0] for options in self.options]
        for platform, _ in self.platform:
            self._leaf(cheapest, platform)
        self.without = self.pricing.total(CouponChoice())
        for platform, ceiling in sorted(self.platform, key=lambda p: -p[1]):
            self._walk(0, 0, [], platform, self.floor - ceiling)
        assert self.best_choice is not None
        return self.best_choice

    def _walk(self, depth: int, loss: int, picks: list[_Option], platform: Offer | None, floor: int) -> None:
        assert self.best is not None
        if floor + loss > self.best[0]:
            return
        if depth == len(self.options):
            self._leaf(picks, platform)
            return
        for option in self.options[depth]:
            if floor + loss + option.loss > self.best[0]:
                break  # options are in order of loss: the rest cost even more
            self._walk(depth + 1, loss + option.loss, [*picks, option], platform, floor)

    def _leaf(self, picks: list[_Option], platform: Offer | None) -> None:
        choice = CouponChoice()
        for option in picks:
            if option.offer is not None:
                choice.shops[option.shop_id] = option.offer
        choice.platform = platform
        ids = tuple(sorted(choice.coupon_ids))
        if ids in self.priced:
            return
        self.priced.add(ids)
        total = self.pricing.total(choice)
        self.evaluated += 1
        key = (total, len(ids), ids)
        if self.best is None or key < self.best:
            self.best, self.best_choice = key, choice


def _offer_id(option: _Option) -> str:
    return "" if option.offer is None else option.offer.id
