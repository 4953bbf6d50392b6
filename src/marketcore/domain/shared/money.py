"""Money as integer minor units plus a currency; never floats."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

import attrs

from marketcore.domain.shared.errors import InvalidInput


class Currency(enum.StrEnum):
    CNY = "CNY"
    USD = "USD"
    EUR = "EUR"


@attrs.frozen(order=False)
class Money:
    amount: int
    currency: Currency = Currency.CNY

    def __attrs_post_init__(self) -> None:
        if type(self.amount) is int:  # the common case, checked first: money is made all the time
            return
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidInput("amount", "money amounts are integers in minor units")

    @classmethod
    def zero(cls, currency: Currency = Currency.CNY) -> Money:
        return cls(0, currency)

    @classmethod
    def sum(cls, items: Iterable[Money], currency: Currency = Currency.CNY) -> Money:
        """One ``Money`` at the end, not one per item (order totals are summed on every read)."""
        amount = 0
        for item in items:
            same_currency(currency, item.currency)
            amount += item.amount
        return cls(amount, currency)

    def _same(self, other: Money) -> None:
        same_currency(self.currency, other.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int) -> Money:
        return Money(self.amount * factor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount

    def min(self, other: Money) -> Money:
        return self if self <= other else other

    def allocate(self, weights: Sequence[int]) -> list[Money]:
        """Split by weights with largest-remainder rounding: the parts always sum to the whole."""
        return [Money(part, self.currency) for part in allocate(self.amount, weights)]

    def __str__(self) -> str:
        sign = "-" if self.amount < 0 else ""
        units, cents = divmod(abs(self.amount), 100)
        return f"{sign}{units}.{cents:02d} {self.currency}"


def same_currency(expected: Currency, found: Currency) -> None:
    """Amounts in different currencies never add up."""
    if found is not expected:
        raise InvalidInput("currency", f"cannot combine {expected} and {found}")


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Largest-remainder split of ``total`` in proportion to non-negative ``weights``.

    Parts sum exactly to ``total``; each part has the sign of ``total``; ties in the remainder go
    to the earlier weight, so the result is deterministic.
    """
    if not weights:
        raise InvalidInput("weights", "cannot allocate over nothing")
    if min(weights) < 0:
        raise InvalidInput("weights", "weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise InvalidInput("weights", "weights must not all be zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    left = magnitude - sum(floors)
    if left:
        remainders = [magnitude * w % weight_sum for w in weights]
        # A stable sort, descending: equal remainders keep index order, so ties go to the earlier.
        for index in sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)[:left]:
            floors[index] += 1
    return floors if sign > 0 else [-part for part in floors]
