"""Inventory ports. Stock changes are atomic conditional updates in storage, never read-modify-write."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from marketcore.domain.inventory.stock import MovementTotals, StockLevel, StockMovement


class StockLedger(Protocol):
    """Stock rows and their movements, within the caller's unit of work.

    Callers touching several SKUs in one transaction must do so in sorted SKU order so
    concurrent transactions lock rows in the same order and cannot deadlock.
    """

    def create(self, sku_id: str, shop_id: str, on_hand: int, at: datetime, reference: str) -> None:
        """A stock row for a new SKU; a positive ``on_hand`` writes an ``adjust`` movement."""
        ...

    def get_many(self, sku_ids: Iterable[str]) -> dict[str, StockLevel]: ...

    def reserve(self, sku_id: str, quantity: int, reference: str, at: datetime) -> bool:
        """Hold ``quantity`` units if that many are available; False (and no change) otherwise."""
        ...

    def reserve_many(
        self, quantities: Mapping[str, int], reference: str, at: datetime
    ) -> dict[str, StockLevel]:
        """Hold each SKU's quantity if that many are available, in SKU order and in one round
        trip; returns the levels after the hold of the SKUs held. A SKU left out (too little
        available, or no stock row) is unchanged, but the others stay held: a caller wanting all
        or nothing raises and lets its unit of work roll back."""
        ...

    def release(self, sku_id: str, quantity: int, reference: str, at: datetime) -> None:
        """Drop a hold of ``quantity`` units."""
        ...

    def transfer(
        self, sku_id: str, quantity: int, from_reference: str, to_reference: str, at: datetime
    ) -> None:
        """Hand ``quantity`` reserved units from one holder to another (a flash sale's set-aside
        to the order buying them, or back): a release and a reserve movement; the stock row, and
        so what others can reserve, does not change. The caller vouches the holder has them."""
        ...

    def commit(self, sku_id: str, quantity: int, reference: str, at: datetime) -> None:
        """Turn a hold into a sale: on_hand and reserved both fall by ``quantity``."""
        ...

    def deduct(self, sku_id: str, quantity: int, reference: str, at: datetime) -> bool:
        """Take ``quantity`` units off the shelf without a prior hold, if that many are
        available; False (and no change) otherwise."""
        ...

    def restock(self, sku_id: str, quantity: int, reason: str, reference: str, at: datetime) -> None:
        """Put units back on the shelf (returned goods, or a deduction undone)."""
        ...

    def adjust(self, sku_id: str, delta: int, reason: str, reference: str, at: datetime) -> bool:
        """Change on_hand by ``delta`` unless that would leave it below what is reserved."""
        ...

    def movements(self, sku_id: str) -> list[StockMovement]:
        """Every movement of the SKU, oldest first."""
        ...

    def levels(self, after: str | None, limit: int) -> list[StockLevel]:
        """Stock rows in SKU order, starting after ``after``: for walking the whole ledger."""
        ...

    def movement_totals(self, sku_ids: Iterable[str]) -> dict[str, MovementTotals]:
        """The sums of on_hand and reserved deltas of each SKU's movements."""
        ...
