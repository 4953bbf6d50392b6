"""Unit of work over a ``MemoryDatabase``: holds the database lock from enter to commit/exit."""

from __future__ import annotations

from marketcore.adapters.documents import DocumentStore
from marketcore.adapters.memory.store import (
    MemoryDatabase,
    MemoryDocumentStore,
    MemoryStockLedger,
    MemoryTransaction,
)
from marketcore.adapters.unit_of_work import StoreUnitOfWork
from marketcore.application.inventory.ports import StockLedger


class MemoryUnitOfWork(StoreUnitOfWork):
    def __init__(self, database: MemoryDatabase) -> None:
        super().__init__()
        self.database = database
        self._transaction: MemoryTransaction | None = None

    def _begin(self) -> tuple[DocumentStore, StockLedger]:
        self._transaction = self.database.begin()
        return MemoryDocumentStore(self._transaction), MemoryStockLedger(self._transaction)

    def _end(self, *, commit: bool) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is None:
            return
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
