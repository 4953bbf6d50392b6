"""The pricing engine: deterministic and explainable.

Order of application (domain.md): unit price, then shop promotions per shop, ... then shipping.
Every discount is allocated to the lines it applies to by largest remainder, so the parts sum to
the discount exactly, and each line records which promotion took how much and who funds it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from marketcore.domain.promotions.promotions import FullReduction, Funder
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money


@attrs.frozen
class PricingLine:
    key: str  # the caller's line identity (an SKU id in a checkout)
    shop_id: str
    unit_price: Money
    quantity: int

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


@attrs.frozen
class Allocation:
    promotion_id: str
    label: str
    amount: Money
    funder: Funder


@attrs.frozen
class PricedLine:
    line: PricingLine
    allocations: tuple[Allocation, ...]

    @property
    def discount(self) -> Money:
        return Money.sum((a.amount for a in self.allocations), self.line.unit_price.currency)

    @property
    def total(self) -> Money:
        return self.line.subtotal - self.discount


@attrs.frozen
class AppliedPromotion:
    promotion_id: str
    label: str
    amount: Money
    funder: Funder


@attrs.frozen
class SkippedPromotion:
    promotion_id: str
    label: str
    reason: str


@attrs.frozen
class ShopPricing:
    shop_id: str
    lines: tuple[PricedLine, ...]
    applied: tuple[AppliedPromotion, ...]
    skipped: tuple[SkippedPromotion, ...]
    hints: tuple[str, ...]
    shipping: Money

    @property
    def subtotal(self) -> Money:
        return Money.sum((p.line.subtotal for p in self.lines), self.shipping.currency)

    @property
    def discount(self) -> Money:
        return Money.sum((p.discount for p in self.lines), self.shipping.currency)

    @property
    def total(self) -> Money:
        return self.subtotal - self.discount + self.shipping


@attrs.frozen
class PricingResult:
    shops: tuple[ShopPricing, ...]
    currency: Currency

    @property
    def subtotal(self) -> Money:
        return Money.sum((s.subtotal for s in self.shops), self.currency)

    @property
    def discount(self) -> Money:
        return Money.sum((s.discount for s in self.shops), self.currency)

    @property
    def shipping(self) -> Money:
        return Money.sum((s.shipping for s in self.shops), self.currency)

    @property
    def total(self) -> Money:
        return Money.sum((s.total for s in self.shops), self.currency)


def price(
    lines: Sequence[PricingLine],
    promotions: Sequence[FullReduction],
    shipping_fees: Mapping[str, Money],
    currency: Currency = Currency.CNY,
) -> PricingResult:
    """Price lines grouped by shop. ``promotions`` must already be the active ones.

    Shops come out in order of first appearance; lines keep their input order, so the result is
    independent of anything but the input.
    """
    if not lines:
        raise InvalidInput("items", "nothing to price")
    by_shop: dict[str, list[PricingLine]] = {}
    for line in lines:
        if line.unit_price.currency is not currency:
            raise InvalidInput("currency", "all lines must share the checkout currency")
        by_shop.setdefault(line.shop_id, []).append(line)
    shops = tuple(
        _price_shop(
            shop_id,
            shop_lines,
            [p for p in promotions if p.shop_id == shop_id],
            shipping_fees.get(shop_id, Money.zero(currency)),
        )
        for shop_id, shop_lines in by_shop.items()
    )
    return PricingResult(shops, currency)


def _price_shop(
    shop_id: str, lines: list[PricingLine], promotions: list[FullReduction], shipping: Money
) -> ShopPricing:
    allocations: list[list[Allocation]] = [[] for _ in lines]
    applied: list[AppliedPromotion] = []
    skipped: list[SkippedPromotion] = []
    hints: list[str] = []
    subtotal = Money.sum((line.subtotal for line in lines), shipping.currency)
    # Full reductions share one exclusivity group: the best for the buyer wins.
    ranked = sorted(
        promotions,
        key=lambda p: (-(t.discount.amount if (t := p.best_tier(subtotal)) else 0), p.id),
    )
    winner: FullReduction | None = None
    for promotion in ranked:
        tier = promotion.best_tier(subtotal)
        nxt = promotion.next_tier(subtotal)
        if nxt is not None:
            hints.append(f"add {nxt.threshold - subtotal} more for {nxt.discount} off ({promotion.name})")
        if tier is None:
            skipped.append(SkippedPromotion(promotion.id, promotion.name, "threshold_not_met"))
        elif winner is None:
            winner = promotion
            amount = tier.discount.min(subtotal)
            parts = amount.allocate([line.subtotal.amount for line in lines])
            for index, part in enumerate(parts):
                if part.amount:
                    allocations[index].append(Allocation(promotion.id, promotion.name, part, Funder.SHOP))
            applied.append(AppliedPromotion(promotion.id, promotion.name, amount, Funder.SHOP))
        else:
            skipped.append(SkippedPromotion(promotion.id, promotion.name, "not_stackable"))
    return ShopPricing(
        shop_id=shop_id,
        lines=tuple(PricedLine(line, tuple(a)) for line, a in zip(lines, allocations, strict=True)),
        applied=tuple(applied),
        skipped=tuple(skipped),
        hints=tuple(hints),
        shipping=shipping,
    )
