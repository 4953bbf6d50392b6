"""The slice of a unit of work inventory use cases need."""

from __future__ import annotations

from typing import Protocol

from marketcore.application.inventory.ports import StockLedger
from marketcore.application.shared.ports import UnitOfWork


class InventoryUnitOfWork(UnitOfWork, Protocol):
    stock: StockLedger
