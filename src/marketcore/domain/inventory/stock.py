"""Stock per SKU and its movement ledger. ``on_hand`` always equals the sum of movements."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from marketcore.domain.shared.errors import Conflict


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class MovementKind(enum.StrEnum):
    ADJUST = "adjust"  # merchant sets or corrects on_hand
    RESERVE = "reserve"  # checkout holds units; on_hand unchanged
    RELEASE = "release"  # hold dropped (cancel, timeout); on_hand unchanged
    COMMIT = "commit"  # paid: held units leave on_hand
    DEDUCT = "deduct"  # paid, deduct-on-payment mode: units leave on_hand without a hold
    RESTOCK = "restock"  # returned goods back on the shelf


@attrs.frozen
class StockLevel:
    sku_id: str
    shop_id: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@attrs.frozen
class MovementTotals:
    """What a SKU's movements add up to; the ledger check compares them with the stock row."""

    sku_id: str
    on_hand: int
    reserved: int


@attrs.frozen
class StockMovement:
    """One change. ``on_hand_delta`` sums to on_hand; ``reserved_delta`` sums to reserved."""

    id: str
    sku_id: str
    kind: MovementKind
    on_hand_delta: int
    reserved_delta: int
    reason: str
    reference: str
    at: datetime
