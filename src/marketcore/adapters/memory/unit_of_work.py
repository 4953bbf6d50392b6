"""Unit of work over a ``MemoryDatabase``: holds the database lock from enter to commit/exit."""

from __future__ import annotations

from marketcore.adapters.counters import CounterStore
from marketcore.adapters.documents import DocumentStore
from marketcore.adapters.memory.store import (
    MemoryCounterStore,
    MemoryDatabase,
    MemoryDocumentStore,
    MemoryOutbox,
    MemoryStockLedger,
    MemoryTransaction,
)
from marketcore.adapters.unit_of_work import AfterCommit, OnChange, StoreUnitOfWork, TouchedStockLedger
from marketcore.application.shared.ports import OutboxStore


class MemoryUnitOfWork(StoreUnitOfWork):
    def __init__(
        self,
        database: MemoryDatabase,
        *,
        after_commit: AfterCommit | None = None,
        on_change: OnChange | None = None,
    ) -> None:
        super().__init__(after_commit=after_commit, on_change=on_change)
        self.database = database
        self._transaction: MemoryTransaction | None = None

    def _begin(self) -> tuple[DocumentStore, TouchedStockLedger, OutboxStore]:
        self._transaction = tx = self.database.begin()
        return MemoryDocumentStore(tx), MemoryStockLedger(tx), MemoryOutbox(tx)

    def _counters(self) -> CounterStore:
        assert self._transaction is not None
        return MemoryCounterStore(self._transaction)

    def _end(self, *, commit: bool) -> None:
        transaction, self._transaction = self._transaction, None
        if transaction is None:
            return
        if commit:
            transaction.commit()
        else:
            transaction.rollback()
