"""Promotion counters (coupons claimed, flash-sale units sold) over a backend's bounded counters.

The rules live here once; the memory and SQL backends only provide ``CounterStore``: raise one
counter if it stays within its limit (one conditional statement), lower counters, read them.
A counter is ``(counter, subject_id, buyer_id)``; ``buyer_id`` "" is the subject's total.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from marketcore.application.promotions.ports import ClaimCount, QuotaCount
from marketcore.domain.promotions.coupons import ClaimLimits
from marketcore.domain.promotions.flash_sales import QuotaReturn, QuotaTake
from marketcore.domain.shared.errors import Conflict, InvalidInput

COUPON_CLAIMS = "coupon_claims"
FLASH_SALE_UNITS = "flash_sale_units"
TOTAL = ""

CounterKey = tuple[str, str, str]  # counter, subject_id, buyer_id ("" = the total)


class CounterStore(Protocol):
    def raise_within(self, key: CounterKey, quantity: int, limit: int) -> bool:
        """``count += quantity`` (a missing counter counts 0) if the result is at most ``limit``,
        atomically; False (nothing changed) otherwise. Callers ensure ``quantity <= limit``."""
        ...

    def lower(self, key: CounterKey, quantity: int) -> bool:
        """``count -= quantity`` if the count is at least ``quantity``; False otherwise."""
        ...

    def read(self, counter: str, subject_ids: Sequence[str], buyer_id: str | None) -> dict[CounterKey, int]:
        """The totals of ``subject_ids`` and, given a buyer, that buyer's counts (missing: absent)."""
        ...


def _positive(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput("quantity", "a whole number of at least 1")


class StoredPromotionCounters:
    """``PromotionCounters`` over a ``CounterStore``: the buyer's counter first, then the total;
    a refused total undoes the buyer's change (this transaction holds that row), so both move or
    neither. Buyer first keeps the per-buyer refusal ahead of the budget one, as the domain
    orders them, and keeps the hot total row's lock for transactions that will pass."""

    def __init__(self, store: CounterStore) -> None:
        self._store = store

    def _raise_both(
        self, counter: str, subject: str, buyer_id: str, quantity: int, buyer_limit: int, total_limit: int
    ) -> str | None:
        """Which limit refused ("buyer", "total"), or None when both counters were raised."""
        if not buyer_id:
            raise InvalidInput("buyer_id", "required")
        if quantity > buyer_limit or not self._store.raise_within(
            (counter, subject, buyer_id), quantity, buyer_limit
        ):
            return "buyer"
        if quantity > total_limit or not self._store.raise_within(
            (counter, subject, TOTAL), quantity, total_limit
        ):
            if not self._store.lower((counter, subject, buyer_id), quantity):
                raise Conflict(f"{counter} {subject}: the buyer's count went missing mid-transaction")
            return "total"
        return None

    def claim(self, limits: ClaimLimits, buyer_id: str) -> Conflict | None:
        refused = self._raise_both(
            COUPON_CLAIMS, limits.template_id, buyer_id, 1, limits.per_buyer_limit, limits.budget
        )
        if refused == "buyer":
            return limits.refusal(0, limits.per_buyer_limit)
        if refused == "total":
            return limits.refusal(limits.budget, 0)
        return None

    def take(self, take: QuotaTake) -> Conflict | None:
        _positive(take.quantity)
        refused = self._raise_both(
            FLASH_SALE_UNITS,
            take.flash_sale_id,
            take.buyer_id,
            take.quantity,
            take.per_buyer_limit,
            take.quota,
        )
        if refused == "buyer":
            return take.refusal(0, take.per_buyer_limit)
        if refused == "total":
            return take.refusal(take.quota, 0)
        return None

    def give_back(self, returned: QuotaReturn) -> None:
        _positive(returned.quantity)
        for buyer in (returned.buyer_id, TOTAL):
            if not self._store.lower((FLASH_SALE_UNITS, returned.flash_sale_id, buyer), returned.quantity):
                raise Conflict(
                    f"flash sale {returned.flash_sale_id}: cannot give back {returned.quantity} units, "
                    "more than were taken"
                )

    def _counts(
        self, counter: str, subject_ids: Iterable[str], buyer_id: str | None
    ) -> dict[str, tuple[int, int]]:
        wanted = sorted(set(subject_ids))
        if not wanted:
            return {}
        found = self._store.read(counter, wanted, buyer_id)
        return {
            subject: (
                found.get((counter, subject, TOTAL), 0),
                found.get((counter, subject, buyer_id), 0) if buyer_id else 0,
            )
            for subject in wanted
        }

    def claim_counts(self, template_ids: Iterable[str], buyer_id: str | None = None) -> dict[str, ClaimCount]:
        counts = self._counts(COUPON_CLAIMS, template_ids, buyer_id)
        return {subject: ClaimCount(total, mine) for subject, (total, mine) in counts.items()}

    def quota_counts(
        self, flash_sale_ids: Iterable[str], buyer_id: str | None = None
    ) -> dict[str, QuotaCount]:
        counts = self._counts(FLASH_SALE_UNITS, flash_sale_ids, buyer_id)
        return {subject: QuotaCount(total, mine) for subject, (total, mine) in counts.items()}
