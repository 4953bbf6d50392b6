"""The built-in rule kinds, each registered under its stable code (see ``rules.py``).

Every built-in discount is monotone: lowering any line's amount never raises it. Their ``ceiling``
is therefore the discount itself, which keeps the best-coupon search's bounds tight.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

import attrs

from marketcore.domain.promotions.rules import (
    MAX_AMOUNT,
    Applies,
    Basket,
    BuyerContext,
    DoesNotApply,
    Nudge,
    Outcome,
    Placement,
    Price,
    PricingLine,
    Reason,
    RuleKind,
    RuleKinds,
    money_text,
    percent_of,
    rate_text,
    read_bool,
    read_currency,
    read_int,
    read_list,
    read_money,
    read_optional_money,
    read_pair,
    read_str,
)
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.money import Currency, Money

MAX_TIERS = 10
NO_THRESHOLD = Money(0)
MAX_ENTRIES = 1000


def _money(value: Money, field: str, *, minimum: int = 0, currency: Currency | None = None) -> None:
    if not isinstance(value, Money):
        raise InvalidInput(field, "an amount of money")
    if not minimum <= value.amount <= MAX_AMOUNT:
        raise InvalidInput(field, f"from {minimum} to {MAX_AMOUNT} minor units")
    if currency is not None and value.currency is not currency:
        raise InvalidInput(field, "all amounts of a rule share one currency")


def _bp(value: int, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 9_999:
        raise InvalidInput(field, "basis points off, 1 to 9999 (1500 = 15% off)")


# -- 满减 and 跨店满减 ----------------------------------------------------------------------------


@attrs.frozen
class Tier:
    threshold: Money  # spend at least this ...
    discount: Money  # ... and this much comes off


def _sorted_tiers(tiers: Iterable[Tier]) -> tuple[Tier, ...]:
    return tuple(sorted(tiers, key=lambda t: t.threshold.amount))


@attrs.frozen
class FullReductionRule:
    """满减: the highest tier the eligible amount reaches takes its discount off; ``repeating``
    (每满) takes one tier's discount off for every whole multiple of its threshold, up to ``cap``."""

    code: ClassVar[str] = "full_reduction"
    placement: ClassVar[Placement] = Placement.SHOP_PROMOTION
    default_priority: ClassVar[int] = 100

    tiers: tuple[Tier, ...] = attrs.field(converter=_sorted_tiers)
    repeating: bool = False
    cap: Money | None = None

    def __attrs_post_init__(self) -> None:
        if not 1 <= len(self.tiers) <= MAX_TIERS:
            raise InvalidInput("tiers", f"1 to {MAX_TIERS} tiers")
        currency = self.tiers[0].threshold.currency
        for index, tier in enumerate(self.tiers):
            field = f"tiers[{index}]"
            _money(tier.threshold, field, minimum=1, currency=currency)
            _money(tier.discount, field, minimum=1, currency=currency)
            if tier.discount >= tier.threshold:
                raise InvalidInput(field, "discount must be positive and below its threshold")
            if index:
                previous = self.tiers[index - 1]
                if tier.threshold == previous.threshold:
                    raise InvalidInput(field, "duplicate threshold")
                if tier.discount <= previous.discount:
                    raise InvalidInput(field, "a higher threshold must give a bigger discount")
        if self.repeating and len(self.tiers) != 1:
            raise InvalidInput("tiers", "a repeating (每满) reduction has exactly one tier")
        if self.cap is not None:
            if not self.repeating:
                raise InvalidInput("cap", "only a repeating (每满) reduction has a cap")
            _money(self.cap, "cap", minimum=1, currency=currency)
            if self.cap < self.tiers[0].discount:
                raise InvalidInput("cap", "must be at least one tier's discount")

    def amount(self, base: int) -> int:
        """The discount on an eligible amount of ``base`` (minor units)."""
        if self.repeating:
            tier = self.tiers[0]
            got = base // tier.threshold.amount * tier.discount.amount
            if self.cap is not None:
                got = min(got, self.cap.amount)
            return min(got, base)
        got = 0
        for tier in self.tiers:
            if base < tier.threshold.amount:
                break
            got = tier.discount.amount
        return min(got, base)

    def discount(self, basket: Basket) -> Outcome:
        base = basket.amount
        got = self.amount(base)
        if not basket.explain:
            return Applies(got) if got else DoesNotApply(Reason.THRESHOLD_NOT_MET)
        currency = basket.currency
        if self.repeating:
            threshold, off = self.tiers[0].threshold.amount, self.tiers[0].discount.amount
            times = base // threshold
            more = (times + 1) * off if self.cap is None else min((times + 1) * off, self.cap.amount)
            hint = None
            if more > got:
                add = (times + 1) * threshold - base
                hint = _spend_more(add, more, currency)
            every = f"{money_text(off, currency)} off every {money_text(threshold, currency)}"
            return Applies(got, every, hint) if got else DoesNotApply(Reason.THRESHOLD_NOT_MET, every, hint)
        reached: Tier | None = None
        upcoming: Tier | None = None
        for tier in self.tiers:
            if base >= tier.threshold.amount:
                reached = tier
            else:
                upcoming = tier
                break
        hint = None
        if upcoming is not None:
            add, reward = upcoming.threshold.amount - base, upcoming.discount.amount
            hint = _spend_more(add, reward, currency)
        if reached is None:
            return DoesNotApply(Reason.THRESHOLD_NOT_MET, _tier_text(self.tiers[0], currency), hint)
        return Applies(got, _tier_text(reached, currency), hint)

    def ceiling(self, basket: Basket) -> int:
        return self.amount(basket.amount)

    def to_params(self) -> dict[str, object]:
        return {
            "currency": self.tiers[0].threshold.currency.value,
            "tiers": [[t.threshold.amount, t.discount.amount] for t in self.tiers],
            "repeating": self.repeating,
            "cap": None if self.cap is None else self.cap.amount,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FullReductionRule:
        currency = read_currency(params)
        tiers = [
            Tier(Money(t, currency), Money(d, currency))
            for index, raw in enumerate(read_list(params, "tiers", MAX_TIERS))
            for t, d in (read_pair(raw, f"tiers[{index}]"),)
        ]
        return cls(tiers, read_bool(params, "repeating", False), read_optional_money(params, "cap", currency))


def _spend_more(add: int, reward: int, currency: Currency) -> Nudge:
    """ "add ¥12.00 for ¥20.00 off": the amount to add and the whole discount it brings."""
    return Nudge(f"add {money_text(add, currency)} for {money_text(reward, currency)} off", add, reward)


def _tier_text(tier: Tier, currency: Currency) -> str:
    return (
        f"{money_text(tier.discount.amount, currency)} off over {money_text(tier.threshold.amount, currency)}"
    )


@attrs.frozen
class CrossShopReduction(FullReductionRule):
    """跨店满减: a platform 满减 whose threshold counts the eligible lines of every shop."""

    code: ClassVar[str] = "cross_shop_reduction"
    placement: ClassVar[Placement] = Placement.PLATFORM_PROMOTION
    default_priority: ClassVar[int] = 100


# -- 满折 ----------------------------------------------------------------------------------------


@attrs.frozen
class RateTier:
    threshold: Money
    off_bp: int  # basis points off: 1500 = 15% off (8.5折)


def _sorted_rate_tiers(tiers: Iterable[RateTier]) -> tuple[RateTier, ...]:
    return tuple(sorted(tiers, key=lambda t: t.threshold.amount))


@attrs.frozen
class FullDiscountRule:
    """满折: over a threshold, a percentage off the eligible amount (tiered: the highest reached)."""

    code: ClassVar[str] = "full_discount"
    placement: ClassVar[Placement] = Placement.SHOP_PROMOTION
    default_priority: ClassVar[int] = 200

    tiers: tuple[RateTier, ...] = attrs.field(converter=_sorted_rate_tiers)

    def __attrs_post_init__(self) -> None:
        if not 1 <= len(self.tiers) <= MAX_TIERS:
            raise InvalidInput("tiers", f"1 to {MAX_TIERS} tiers")
        currency = self.tiers[0].threshold.currency
        for index, tier in enumerate(self.tiers):
            field = f"tiers[{index}]"
            _money(tier.threshold, field, currency=currency)
            _bp(tier.off_bp, field)
            if index:
                previous = self.tiers[index - 1]
                if tier.threshold == previous.threshold:
                    raise InvalidInput(field, "duplicate threshold")
                if tier.off_bp <= previous.off_bp:
                    raise InvalidInput(field, "a higher threshold must give a bigger rate")

    def amount(self, base: int) -> int:
        off_bp = 0
        for tier in self.tiers:
            if base < tier.threshold.amount:
                break
            off_bp = tier.off_bp
        return percent_of(base, off_bp)

    def discount(self, basket: Basket) -> Outcome:
        base = basket.amount
        got = self.amount(base)
        if not basket.explain:
            return Applies(got) if got else DoesNotApply(Reason.THRESHOLD_NOT_MET)
        currency = basket.currency
        reached: RateTier | None = None
        upcoming: RateTier | None = None
        for tier in self.tiers:
            if base >= tier.threshold.amount:
                reached = tier
            else:
                upcoming = tier
                break
        hint = None
        if upcoming is not None:
            add = upcoming.threshold.amount - base
            reward = percent_of(upcoming.threshold.amount, upcoming.off_bp)
            hint = Nudge(
                f"add {money_text(add, currency)} for {rate_text(upcoming.off_bp)} "
                f"({money_text(reward, currency)} off)",
                add,
                reward,
            )
        if reached is None:
            first = self.tiers[0]
            text = f"{rate_text(first.off_bp)} over {money_text(first.threshold.amount, currency)}"
            return DoesNotApply(Reason.THRESHOLD_NOT_MET, text, hint)
        text = f"{rate_text(reached.off_bp)} over {money_text(reached.threshold.amount, currency)}"
        if not got:
            return DoesNotApply(Reason.NOTHING_TO_DISCOUNT, text, hint)
        return Applies(got, text, hint)

    def ceiling(self, basket: Basket) -> int:
        return self.amount(basket.amount)

    def to_params(self) -> dict[str, object]:
        return {
            "currency": self.tiers[0].threshold.currency.value,
            "tiers": [[t.threshold.amount, t.off_bp] for t in self.tiers],
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FullDiscountRule:
        currency = read_currency(params)
        tiers = [
            RateTier(Money(t, currency), bp)
            for index, raw in enumerate(read_list(params, "tiers", MAX_TIERS))
            for t, bp in (read_pair(raw, f"tiers[{index}]"),)
        ]
        return cls(tiers)


# -- buy N pay M ---------------------------------------------------------------------------------


@attrs.frozen
class BuyNPayM:
    """Buy N pay M: of every N eligible units, the N - M cheapest are free."""

    code: ClassVar[str] = "buy_n_pay_m"
    placement: ClassVar[Placement] = Placement.SHOP_PROMOTION
    default_priority: ClassVar[int] = 300

    buy: int
    pay: int

    def __attrs_post_init__(self) -> None:
        if isinstance(self.buy, bool) or not isinstance(self.buy, int) or not 2 <= self.buy <= 100:
            raise InvalidInput("buy", "2 to 100 items")
        if isinstance(self.pay, bool) or not isinstance(self.pay, int) or not 1 <= self.pay < self.buy:
            raise InvalidInput("pay", "at least 1 and fewer than buy")

    def discount(self, basket: Basket) -> Outcome:
        units = basket.quantity
        free = units // self.buy * (self.buy - self.pay)
        if not basket.explain:
            got = self._free_value(basket, free)
            return Applies(got) if got else DoesNotApply(Reason.NOT_ENOUGH_ITEMS)
        offer = f"buy {self.buy} pay {self.pay}"
        short = self.buy - units % self.buy
        hint: Nudge | None = Nudge(
            f"add {short} more item{'s' if short > 1 else ''} to get {self.buy - self.pay} more free",
            add_units=short,
        )
        if not free:
            return DoesNotApply(Reason.NOT_ENOUGH_ITEMS, f"{offer}: {units} in the basket", hint)
        value = self._free_value(basket, free)
        hint = hint if units % self.buy else None
        if not value:
            return DoesNotApply(Reason.NOTHING_TO_DISCOUNT, offer, hint)
        return Applies(value, f"{offer}: {free} cheapest free", hint)

    @staticmethod
    def _free_value(basket: Basket, free: int) -> int:
        """What the ``free`` cheapest units come to."""
        value = 0
        for unit_value, count in basket.unit_amounts():
            if not free:
                break
            take = min(count, free)
            value += take * unit_value
            free -= take
        return value

    def ceiling(self, basket: Basket) -> int:
        return self._free_value(basket, basket.quantity // self.buy * (self.buy - self.pay))

    def to_params(self) -> dict[str, object]:
        return {"buy": self.buy, "pay": self.pay}

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> BuyNPayM:
        return cls(read_int(params, "buy", 2, 100), read_int(params, "pay", 1, 99))


# -- unit prices ---------------------------------------------------------------------------------


@attrs.frozen
class MemberPriceEntry:
    sku_id: str
    level: int  # buyers at this member level or above ...
    price: Money  # ... pay this per unit


def _member_entries(entries: Iterable[MemberPriceEntry]) -> tuple[MemberPriceEntry, ...]:
    return tuple(entries)


@attrs.frozen
class MemberPrice:
    """Member-level prices: a buyer pays the lowest price of the levels they have reached."""

    code: ClassVar[str] = "member_price"
    placement: ClassVar[Placement] = Placement.UNIT_PRICE

    entries: tuple[MemberPriceEntry, ...] = attrs.field(converter=_member_entries)
    _by_sku: dict[str, list[tuple[int, int]]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not 1 <= len(self.entries) <= MAX_ENTRIES:
            raise InvalidInput("entries", f"1 to {MAX_ENTRIES} entries")
        by_sku: dict[str, list[tuple[int, int]]] = {}
        currency = self.entries[0].price.currency
        for index, entry in enumerate(self.entries):
            field = f"entries[{index}]"
            if not isinstance(entry.sku_id, str) or not entry.sku_id:
                raise InvalidInput(f"{field}.sku_id", "an SKU id")
            if (
                isinstance(entry.level, bool)
                or not isinstance(entry.level, int)
                or not 1 <= entry.level <= 100
            ):
                raise InvalidInput(f"{field}.level", "a member level from 1 to 100")
            _money(entry.price, f"{field}.price", currency=currency)
            levels = by_sku.setdefault(entry.sku_id, [])
            if any(level == entry.level for level, _ in levels):
                raise InvalidInput(field, "one price per SKU and level")
            levels.append((entry.level, entry.price.amount))
        for levels in by_sku.values():
            levels.sort()
        object.__setattr__(self, "_by_sku", by_sku)

    def unit_price(self, line: PricingLine, buyer: BuyerContext) -> Price | DoesNotApply | None:
        levels = self._by_sku.get(line.sku_id)
        if not levels:
            return None
        reached = [price for level, price in levels if level <= buyer.member_level]
        currency = line.unit_price.currency
        if not reached:
            level, price = levels[0]
            return DoesNotApply(
                Reason.MEMBER_LEVEL_TOO_LOW,
                f"members of level {level} and above pay {money_text(price, currency)}",
            )
        best = min(reached)
        level = min(level for level, price in levels if price == best and level <= buyer.member_level)
        return Price(best, f"member price (level {level})")

    def to_params(self) -> dict[str, object]:
        return {
            "currency": self.entries[0].price.currency.value,
            "entries": [[e.sku_id, e.level, e.price.amount] for e in self.entries],
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> MemberPrice:
        currency = read_currency(params)
        entries = []
        for index, raw in enumerate(read_list(params, "entries", MAX_ENTRIES)):
            if not isinstance(raw, list | tuple) or len(raw) != 3:
                raise InvalidInput(f"entries[{index}]", "[sku_id, level, price]")
            sku_id, level, price = raw
            if not isinstance(sku_id, str):
                raise InvalidInput(f"entries[{index}].sku_id", "an SKU id")
            field = f"entries[{index}]"
            level = read_int({f"{field}.level": level}, f"{field}.level", 1, 100)
            entries.append(
                MemberPriceEntry(
                    sku_id, level, read_money({f"{field}.price": price}, f"{field}.price", currency)
                )
            )
        return cls(entries)


@attrs.frozen
class SkuPrice:
    sku_id: str
    price: Money


def _sku_prices(prices: Iterable[SkuPrice]) -> tuple[SkuPrice, ...]:
    return tuple(prices)


@attrs.frozen
class LimitedTimeDiscount:
    """限时折扣: within its window, a set price per SKU or a percentage off the list price of the
    lines in scope (a set price wins for its SKU)."""

    code: ClassVar[str] = "limited_time_discount"
    placement: ClassVar[Placement] = Placement.UNIT_PRICE

    off_bp: int = 0
    prices: tuple[SkuPrice, ...] = attrs.field(default=(), converter=_sku_prices)
    _by_sku: dict[str, int] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.off_bp:
            _bp(self.off_bp, "off_bp")
        elif not self.prices:
            raise InvalidInput("off_bp", "a rate off, or set prices per SKU")
        if len(self.prices) > MAX_ENTRIES:
            raise InvalidInput("prices", f"at most {MAX_ENTRIES} prices")
        by_sku: dict[str, int] = {}
        for index, entry in enumerate(self.prices):
            _money(entry.price, f"prices[{index}].price", currency=self.prices[0].price.currency)
            if entry.sku_id in by_sku:
                raise InvalidInput(f"prices[{index}]", "one price per SKU")
            by_sku[entry.sku_id] = entry.price.amount
        object.__setattr__(self, "_by_sku", by_sku)

    def unit_price(self, line: PricingLine, buyer: BuyerContext) -> Price | DoesNotApply | None:
        price = self._by_sku.get(line.sku_id)
        if price is not None:
            return Price(price, "limited-time price")
        if self.off_bp:
            unit = line.unit_price.amount
            return Price(unit - percent_of(unit, self.off_bp), f"limited-time {rate_text(self.off_bp)}")
        return None

    def to_params(self) -> dict[str, object]:
        currency = self.prices[0].price.currency.value if self.prices else Currency.CNY.value
        return {
            "currency": currency,
            "off_bp": self.off_bp,
            "prices": [[p.sku_id, p.price.amount] for p in self.prices],
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> LimitedTimeDiscount:
        currency = read_currency(params)
        prices = []
        raw_prices = params.get("prices") or []
        if not isinstance(raw_prices, list | tuple):
            raise InvalidInput("prices", "a list of [sku_id, price]")
        for index, raw in enumerate(raw_prices):
            if not isinstance(raw, list | tuple) or len(raw) != 2 or not isinstance(raw[0], str):
                raise InvalidInput(f"prices[{index}]", "[sku_id, price]")
            field = f"prices[{index}].price"
            prices.append(SkuPrice(raw[0], read_money({field: raw[1]}, field, currency)))
        off_bp = read_int(params, "off_bp", 0, 9_999, 0)
        return cls(off_bp, prices)


@attrs.frozen
class FlashSalePrice:
    """A flash sale's price for its SKU, within the buyer's limit and the quota left (when the
    caller knows it; storage enforces the quota whatever this says)."""

    code: ClassVar[str] = "flash_sale"
    placement: ClassVar[Placement] = Placement.UNIT_PRICE

    sale_id: str
    sku_id: str
    price: Money
    per_buyer_limit: int
    remaining: int | None = None

    def __attrs_post_init__(self) -> None:
        _money(self.price, "price")
        if isinstance(self.per_buyer_limit, bool) or not isinstance(self.per_buyer_limit, int):
            raise InvalidInput("per_buyer_limit", "an integer")
        if self.per_buyer_limit < 1:
            raise InvalidInput("per_buyer_limit", "at least 1")

    def unit_price(self, line: PricingLine, buyer: BuyerContext) -> Price | DoesNotApply | None:
        if line.sku_id != self.sku_id:
            return None
        bought = buyer.flash_sale_bought.get(self.sale_id, 0)
        if bought + line.quantity > self.per_buyer_limit:
            return DoesNotApply(
                Reason.PURCHASE_LIMIT_EXCEEDED,
                f"at most {self.per_buyer_limit} per buyer at the flash-sale price ({bought} bought already)",
            )
        if self.remaining is not None and line.quantity > self.remaining:
            return DoesNotApply(Reason.SOLD_OUT, f"{max(self.remaining, 0)} left at the flash-sale price")
        return Price(self.price.amount, "flash sale")

    def to_params(self) -> dict[str, object]:
        return {
            "currency": self.price.currency.value,
            "sale_id": self.sale_id,
            "sku_id": self.sku_id,
            "price": self.price.amount,
            "per_buyer_limit": self.per_buyer_limit,
            "remaining": self.remaining,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FlashSalePrice:
        currency = read_currency(params)
        remaining = params.get("remaining")
        return cls(
            read_str(params, "sale_id"),
            read_str(params, "sku_id"),
            read_money(params, "price", currency),
            read_int(params, "per_buyer_limit", 1, 1_000_000),
            None if remaining is None else read_int(params, "remaining", 0, 10**9),
        )


# -- coupons -------------------------------------------------------------------------------------


@attrs.frozen
class FixedAmountOff:
    """A fixed-amount coupon: ``value`` off once the eligible amount reaches ``threshold``
    (0: no threshold, 无门槛); never more than the eligible amount."""

    code: ClassVar[str] = "fixed_amount"
    placement: ClassVar[Placement] = Placement.COUPON
    default_priority: ClassVar[int] = 0

    value: Money
    threshold: Money = attrs.field(
        default=attrs.Factory(lambda self: Money(0, self.value.currency), takes_self=True)
    )

    def __attrs_post_init__(self) -> None:
        _money(self.value, "value", minimum=1)
        _money(self.threshold, "threshold", currency=self.value.currency)

    def amount(self, base: int) -> int:
        return min(self.value.amount, base) if base >= self.threshold.amount else 0

    def discount(self, basket: Basket) -> Outcome:
        base, currency, value = basket.amount, basket.currency, self.value.amount
        threshold = self.threshold.amount
        if not basket.explain:
            got = self.amount(base)
            return Applies(got) if got else DoesNotApply(Reason.THRESHOLD_NOT_MET)
        text = f"{money_text(value, currency)} off" + (
            f" over {money_text(threshold, currency)}" if threshold else ""
        )
        if base < threshold:
            add = threshold - base
            hint = Nudge(
                f"add {money_text(add, currency)} to use it: {money_text(value, currency)} off", add, value
            )
            return DoesNotApply(Reason.THRESHOLD_NOT_MET, text, hint)
        if not base:
            return DoesNotApply(Reason.NOTHING_TO_DISCOUNT, text)
        return Applies(min(value, base), text)

    def ceiling(self, basket: Basket) -> int:
        return self.amount(basket.amount)

    def to_params(self) -> dict[str, object]:
        return {
            "currency": self.value.currency.value,
            "value": self.value.amount,
            "threshold": self.threshold.amount,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FixedAmountOff:
        currency = read_currency(params)
        return cls(read_money(params, "value", currency), read_money(params, "threshold", currency, 0))


@attrs.frozen
class PercentOff:
    """A percentage coupon: ``off_bp`` basis points off the eligible amount over ``threshold``,
    at most ``cap``."""

    code: ClassVar[str] = "percent_off"
    placement: ClassVar[Placement] = Placement.COUPON
    default_priority: ClassVar[int] = 0

    off_bp: int
    cap: Money | None = None
    threshold: Money = NO_THRESHOLD

    def __attrs_post_init__(self) -> None:
        _bp(self.off_bp, "off_bp")
        if self.cap is not None:
            _money(self.cap, "cap", minimum=1, currency=self.threshold.currency)
        _money(self.threshold, "threshold")

    def amount(self, base: int) -> int:
        if base < self.threshold.amount:
            return 0
        got = percent_of(base, self.off_bp)
        return got if self.cap is None else min(got, self.cap.amount)

    def discount(self, basket: Basket) -> Outcome:
        base, currency = basket.amount, basket.currency
        if not basket.explain:
            got = self.amount(base)
            return Applies(got) if got else DoesNotApply(Reason.THRESHOLD_NOT_MET)
        threshold = self.threshold.amount
        cap = MAX_AMOUNT if self.cap is None else self.cap.amount
        text = rate_text(self.off_bp) + (f" over {money_text(threshold, currency)}" if threshold else "")
        if self.cap is not None:
            text += f", at most {money_text(cap, currency)}"
        if base < threshold:
            add = threshold - base
            reward = min(percent_of(threshold, self.off_bp), cap)
            hint = Nudge(
                f"add {money_text(add, currency)} to use it: {money_text(reward, currency)} off", add, reward
            )
            return DoesNotApply(Reason.THRESHOLD_NOT_MET, text, hint)
        got = self.amount(base)
        if not got:
            return DoesNotApply(Reason.NOTHING_TO_DISCOUNT, text)
        return Applies(got, text)

    def ceiling(self, basket: Basket) -> int:
        return self.amount(basket.amount)

    def to_params(self) -> dict[str, object]:
        return {
            "currency": self.threshold.currency.value,
            "off_bp": self.off_bp,
            "cap": None if self.cap is None else self.cap.amount,
            "threshold": self.threshold.amount,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> PercentOff:
        currency = read_currency(params)
        return cls(
            read_int(params, "off_bp", 1, 9_999),
            read_optional_money(params, "cap", currency),
            read_money(params, "threshold", currency, 0),
        )


# -- shipping ------------------------------------------------------------------------------------


@attrs.frozen
class FreeShipping:
    """包邮: the shop's shipping fee is waived once its eligible lines reach ``threshold``
    (after every discount); 0 waives it always."""

    code: ClassVar[str] = "free_shipping"
    placement: ClassVar[Placement] = Placement.SHIPPING

    threshold: Money = NO_THRESHOLD

    def __attrs_post_init__(self) -> None:
        _money(self.threshold, "threshold")

    def waive(self, basket: Basket, fee: int) -> Outcome:
        if not basket.explain:
            return Applies(fee) if fee and basket.amount >= self.threshold.amount else DoesNotApply("")
        currency, threshold = basket.currency, self.threshold.amount
        text = f"free shipping over {money_text(threshold, currency)}" if threshold else "free shipping"
        if not fee:
            return DoesNotApply(Reason.NO_SHIPPING_FEE, text)
        if basket.amount < threshold:
            add = threshold - basket.amount
            hint = Nudge(f"add {money_text(add, currency)} for free shipping", add, fee)
            return DoesNotApply(Reason.THRESHOLD_NOT_MET, text, hint)
        return Applies(fee, text)

    def ceiling(self, basket: Basket, fee: int) -> int:
        return fee if basket.amount >= self.threshold.amount else 0

    def to_params(self) -> dict[str, object]:
        return {"currency": self.threshold.currency.value, "threshold": self.threshold.amount}

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> FreeShipping:
        return cls(read_money(params, "threshold", read_currency(params), 0))


BUILT_IN_KINDS: tuple[type[RuleKind], ...] = (
    FullReductionRule,
    FullDiscountRule,
    BuyNPayM,
    MemberPrice,
    LimitedTimeDiscount,
    FlashSalePrice,
    CrossShopReduction,
    FreeShipping,
    FixedAmountOff,
    PercentOff,
)


def default_rule_kinds() -> RuleKinds:
    """A fresh registry of the built-in kinds, for bootstrap to extend."""
    return RuleKinds(BUILT_IN_KINDS)
