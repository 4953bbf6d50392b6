"""Rule kinds: the pricing engine's extension point, each a class with a stable ``code``.

A rule is the kind-specific part of an offer (the tiers of a 满减, the rate of a 满折, the value of a
coupon); the offer around it (owner, scope, window, exclusivity group, priority, funder) is the same
for every kind, so the engine handles scope, time, stacking and allocation once. A kind declares
its ``placement`` — the step of domain.md's order it runs in — and implements that step's method:

- ``unit_price`` (step 1): a candidate unit price for one line; the lowest candidate wins.
- ``discount`` and ``ceiling`` (steps 2 to 5): a discount on a :class:`Basket` of eligible lines,
  and an upper bound the best-coupon search prunes with.
- ``waive`` and ``ceiling`` (step 6): how much of a shop's shipping fee is waived.

Kinds are registered by code in a :class:`RuleKinds` registry (bootstrap fills one; an integrator
registers their own class), which turns stored ``(code, params)`` pairs back into rules. Amounts a
rule sees and returns are integers in the minor units of ``basket.currency``: the engine turns them
into :class:`Money` at its edge, checks them (never below zero, never above the basket) and
allocates them; a rule never allocates.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar, Protocol

import attrs

from marketcore.domain.shared.errors import AlreadyExists, InvalidInput
from marketcore.domain.shared.money import Currency, Money


class Placement(enum.StrEnum):
    """Where in the order of application (domain.md) a kind runs."""

    UNIT_PRICE = "unit_price"  # 1. lowest of list, member, limited-time and flash-sale prices
    SHOP_PROMOTION = "shop_promotion"  # 2. per shop, exclusivity groups in priority order
    COUPON = "coupon"  # 3. one per shop (a shop's coupon) / 5. one per checkout (the platform's)
    PLATFORM_PROMOTION = "platform_promotion"  # 4. across shops, threshold over the checkout
    SHIPPING = "shipping"  # 6. waives (part of) a shop's shipping fee


class Reason(enum.StrEnum):
    """Stable codes for why an offer did not apply. Integrators' kinds may return their own."""

    THRESHOLD_NOT_MET = "threshold_not_met"
    NOT_ENOUGH_ITEMS = "not_enough_items"
    NOT_STACKABLE = "not_stackable"
    NO_ELIGIBLE_LINES = "no_eligible_lines"
    NOTHING_TO_DISCOUNT = "nothing_to_discount"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    DISABLED = "disabled"
    LOWER_PRICE_APPLIED = "lower_price_applied"
    MEMBER_LEVEL_TOO_LOW = "member_level_too_low"
    PURCHASE_LIMIT_EXCEEDED = "purchase_limit_exceeded"
    SOLD_OUT = "sold_out"
    NO_SHIPPING_FEE = "no_shipping_fee"


REASON_TEXT: Mapping[str, str] = {
    Reason.THRESHOLD_NOT_MET: "the amount has not reached the threshold",
    Reason.NOT_ENOUGH_ITEMS: "not enough items in the offer",
    Reason.NOT_STACKABLE: "another offer of the same exclusivity group is better for the buyer",
    Reason.NO_ELIGIBLE_LINES: "no line of this checkout is in the offer's scope",
    Reason.NOTHING_TO_DISCOUNT: "what the offer applies to is already free",
    Reason.NOT_STARTED: "the offer has not started",
    Reason.ENDED: "the offer has ended",
    Reason.DISABLED: "the offer is switched off",
    Reason.LOWER_PRICE_APPLIED: "unit prices never stack: a lower price applied",
    Reason.MEMBER_LEVEL_TOO_LOW: "the buyer's member level is below the offer's",
    Reason.PURCHASE_LIMIT_EXCEEDED: "more than the per-buyer limit",
    Reason.SOLD_OUT: "the quota is sold out",
    Reason.NO_SHIPPING_FEE: "there is no shipping fee to waive",
}

_SYMBOLS = {Currency.CNY: "¥", Currency.USD: "$", Currency.EUR: "€"}


@functools.lru_cache(maxsize=4096)
def money_text(amount: int, currency: Currency) -> str:
    """``¥12.00``: how hints and details show an amount (cached: thresholds and tiers repeat)."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{_SYMBOLS.get(currency, currency.value + ' ')}{units}.{cents:02d}"


@functools.lru_cache(maxsize=1024)
def rate_text(off_bp: int) -> str:
    """``15% off`` for 1500 basis points; ``12.5% off`` for 1250 (cached: a limited-time discount
    says it for every line)."""
    whole, rest = divmod(off_bp, 100)
    return f"{whole}% off" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "% off"


def percent_of(amount: int, off_bp: int) -> int:
    """The discount of ``off_bp`` basis points on ``amount``, rounded down to the cent (the
    offer never gives more than it promises)."""
    return amount * off_bp // 10_000


# -- what a rule sees ---------------------------------------------------------------------------


def pick(values: Sequence[int], indices: Sequence[int]) -> Sequence[int]:
    """``values`` at ``indices``: a slice when the indices are a range (the engine keeps a shop's
    lines, and every line, as ranges of its canonical order), which is several times faster."""
    if isinstance(indices, range):
        return values[indices.start : indices.stop : indices.step]
    return [values[i] for i in indices]


def _id_tuple(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class PricingLine:
    """One line to price. ``key`` is the caller's line identity (the SKU id in a checkout) and
    must be unique in a pricing; ``category_ids`` are the line's leaf category and its ancestors,
    so a scope naming a parent category covers it."""

    key: str
    shop_id: str
    unit_price: Money
    quantity: int
    sku_id: str = attrs.field(default=attrs.Factory(lambda self: self.key, takes_self=True))
    category_ids: tuple[str, ...] = attrs.field(default=(), converter=_id_tuple)

    @property
    def subtotal(self) -> Money:
        return self.unit_price * self.quantity


@attrs.frozen
class BuyerContext:
    """What the engine knows about the buyer: their member level (0 = not a member) and how many
    units of each flash sale they have bought already (for the per-buyer limit)."""

    buyer_id: str | None = None
    member_level: int = 0
    flash_sale_bought: Mapping[str, int] = attrs.field(factory=dict, hash=False)

    def __attrs_post_init__(self) -> None:
        if isinstance(self.member_level, bool) or not isinstance(self.member_level, int):
            raise InvalidInput("member_level", "an integer")
        if not 0 <= self.member_level <= 100:
            raise InvalidInput("member_level", "0 (not a member) to 100")


ANONYMOUS = BuyerContext()


@attrs.frozen
class BasketLine:
    key: str
    sku_id: str
    shop_id: str
    category_ids: tuple[str, ...]
    quantity: int
    unit_price: int  # after step 1
    amount: int  # what the line comes to now, after the offers applied before this one


class Basket:
    """The lines an offer applies to, at their amounts after the offers before it.

    Built by the engine for each evaluation; cheap until a rule asks for ``lines``. ``explain``
    is False while the engine only searches (best choices within a group, best coupons): a rule
    may then leave ``detail`` and ``hint`` out, as nobody will read them.
    """

    __slots__ = ("_amount", "_amounts", "_indices", "_lines", "_units", "currency", "explain")

    def __init__(
        self,
        currency: Currency,
        lines: Sequence[PricingLine],
        units: Sequence[int],
        amounts: Sequence[int],
        indices: Sequence[int],
        explain: bool = True,
        amount: int = -1,  # what the lines at ``indices`` come to, when the engine knows it already
    ) -> None:
        self.currency = currency
        self._lines = lines
        self._units = units
        self._amounts = amounts
        self._indices = indices
        self._amount = amount
        self.explain = explain

    @property
    def amount(self) -> int:
        """What the eligible lines come to now, in minor units."""
        if self._amount < 0:
            amounts = self._amounts
            self._amount = sum(pick(amounts, self._indices))
        return self._amount

    @property
    def quantity(self) -> int:
        lines = self._lines
        return sum([lines[i].quantity for i in self._indices])

    @property
    def lines(self) -> tuple[BasketLine, ...]:
        built = []
        for i in self._indices:
            line = self._lines[i]
            built.append(
                BasketLine(
                    line.key,
                    line.sku_id,
                    line.shop_id,
                    line.category_ids,
                    line.quantity,
                    self._units[i],
                    self._amounts[i],
                )
            )
        return tuple(built)

    def unit_amounts(self) -> list[tuple[int, int]]:
        """Each unit's share of its line's amount now, as (value, how many units), cheapest first.

        A line of ``q`` units coming to ``a`` has ``a % q`` units worth ``a // q + 1`` and the
        rest worth ``a // q``: the shares sum to ``a`` exactly.
        """
        counts: dict[int, int] = {}
        for i in self._indices:
            quantity, amount = self._lines[i].quantity, self._amounts[i]
            low, high = divmod(amount, quantity)
            if high:
                counts[low + 1] = counts.get(low + 1, 0) + high
            if quantity - high:
                counts[low] = counts.get(low, 0) + quantity - high
        return sorted(counts.items())


# -- what a rule answers ------------------------------------------------------------------------


@attrs.frozen
class Nudge:
    """What the buyer could do to get (more of) an offer: ``text`` says it, ``add`` is the money
    to add to the eligible amount (minor units), ``add_units`` the items, ``reward`` the discount
    they would then get (the whole discount of that tier, not the increase)."""

    text: str
    add: int | None = None
    reward: int | None = None
    add_units: int | None = None


@attrs.frozen
class Price:
    amount: int
    detail: str = ""


@attrs.frozen
class Applies:
    discount: int
    detail: str = ""
    hint: Nudge | None = None


@attrs.frozen
class DoesNotApply:
    reason: str
    detail: str = ""
    hint: Nudge | None = None


Outcome = Applies | DoesNotApply


# -- the protocols a kind implements ------------------------------------------------------------


class RuleKind(Protocol):
    """A rule kind: a frozen value with a stable ``code``, storable as plain ``params``."""

    code: ClassVar[str]
    placement: ClassVar[Placement]

    def to_params(self) -> dict[str, object]: ...

    @classmethod
    def from_params(cls, params: Mapping[str, object]) -> RuleKind: ...


class UnitPriceRule(RuleKind, Protocol):
    def unit_price(self, line: PricingLine, buyer: BuyerContext) -> Price | DoesNotApply | None:
        """A candidate unit price for ``line`` (minor units), why there is none for this buyer, or
        None when the rule says nothing about this line."""
        ...


class DiscountRule(RuleKind, Protocol):
    default_priority: ClassVar[int]  # groups apply from the highest priority down

    def discount(self, basket: Basket) -> Outcome:
        """The discount on ``basket`` (checked and allocated by the engine) or why there is none."""
        ...

    def ceiling(self, basket: Basket) -> int:
        """An amount the discount never exceeds on ``basket`` or on any basket of the same lines at
        lower or equal amounts. ``basket.amount`` is always a correct answer; a tighter one makes
        the best-coupon search faster. (The built-in kinds are monotone: their discount itself.)"""
        ...


class ShippingRule(RuleKind, Protocol):
    def waive(self, basket: Basket, fee: int) -> Outcome:
        """How much of the shop's shipping ``fee`` is waived, given the shop's eligible lines."""
        ...

    def ceiling(self, basket: Basket, fee: int) -> int:
        """The most it could waive on ``basket`` or on the same lines at lower amounts."""
        ...


# -- the registry -------------------------------------------------------------------------------

_CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")


class RuleKinds:
    """Rule kinds by code. Bootstrap builds one (``default_rule_kinds()`` plus the deployment's
    own); storage and the HTTP layer decode ``(code, params)`` through it."""

    def __init__(self, kinds: Iterable[type[RuleKind]] = ()) -> None:
        self._kinds: dict[str, type[RuleKind]] = {}
        for kind in kinds:
            self.register(kind)

    def register(self, kind: type[RuleKind]) -> None:
        code = getattr(kind, "code", None)
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidInput("code", "a rule kind's code is 2-40 of a-z, 0-9 and _, starting with a letter")
        if not isinstance(getattr(kind, "placement", None), Placement):
            raise InvalidInput("placement", f"rule kind {code} must declare its Placement")
        if code in self._kinds:
            raise AlreadyExists(f"rule kind {code} is already registered")
        self._kinds[code] = kind

    def get(self, code: str) -> type[RuleKind]:
        kind = self._kinds.get(code)
        if kind is None:
            raise InvalidInput("kind", f"unknown rule kind {code!r}; known: {', '.join(self.codes())}")
        return kind

    def decode(self, code: str, params: Mapping[str, object]) -> RuleKind:
        if not isinstance(params, Mapping):
            raise InvalidInput("params", "an object")
        return self.get(code).from_params(params)

    @staticmethod
    def encode(rule: RuleKind) -> dict[str, object]:
        """``{"kind": code, "params": {...}}``, plain values only."""
        return {"kind": rule.code, "params": rule.to_params()}

    def codes(self) -> tuple[str, ...]:
        return tuple(sorted(self._kinds))

    def __contains__(self, code: object) -> bool:
        return code in self._kinds


# -- reading params (bad input names its field) -------------------------------------------------


def read_int(params: Mapping[str, object], name: str, low: int, high: int, default: int | None = None) -> int:
    value = params.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(name, "an integer")
    if not low <= value <= high:
        raise InvalidInput(name, f"from {low} to {high}")
    return value


def read_bool(params: Mapping[str, object], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise InvalidInput(name, "true or false")
    return value


def read_str(params: Mapping[str, object], name: str, max_length: int = 100) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= max_length:
        raise InvalidInput(name, f"a string of 1 to {max_length} characters")
    return value


def read_currency(params: Mapping[str, object]) -> Currency:
    value = params.get("currency", Currency.CNY.value)
    try:
        return Currency(str(value))
    except ValueError:
        raise InvalidInput("currency", f"one of {', '.join(c.value for c in Currency)}") from None


def read_money(
    params: Mapping[str, object], name: str, currency: Currency, default: int | None = None
) -> Money:
    return Money(read_int(params, name, 0, MAX_AMOUNT, default), currency)


def read_optional_money(params: Mapping[str, object], name: str, currency: Currency) -> Money | None:
    if params.get(name) is None:
        return None
    return read_money(params, name, currency)


def read_list(params: Mapping[str, object], name: str, max_length: int = 100) -> list[object]:
    value = params.get(name)
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= max_length:
        raise InvalidInput(name, f"a list of 1 to {max_length} entries")
    return list(value)


def read_pair(value: object, name: str) -> tuple[int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) for v in value)
    ):
        raise InvalidInput(name, "a pair of integers")
    first, second = value
    assert isinstance(first, int) and isinstance(second, int)
    return first, second


MAX_AMOUNT = 10**12  # minor units: ten billion yuan, far above any basket
