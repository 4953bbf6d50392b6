"""The unit of work both storage backends share: one transaction, documents and stock inside it.

Subclasses only open, commit and roll back their transaction; flushing, event collection and
the repository hook live here so the backends cannot drift apart.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from marketcore.adapters.documents import DocumentStore
from marketcore.application.inventory.ports import StockLedger
from marketcore.domain.shared.events import DomainEvent


class StoreUnitOfWork:
    """``UnitOfWork`` over a ``DocumentStore`` and a ``StockLedger``.

    Re-enterable: every ``with`` block is a fresh transaction. ``commit`` ends the transaction;
    leaving the block without it rolls back. Events of saved aggregates are kept until
    ``collect_events`` drains them, so they can be published after the block.
    """

    documents: DocumentStore
    stock: StockLedger

    def __init__(self) -> None:
        self._active = False
        self._events: list[DomainEvent] = []

    def __enter__(self) -> Self:
        if self._active:
            raise RuntimeError("unit of work is already in progress")
        self.documents, self.stock = self._begin()
        self._active = True
        try:
            self._attach_repositories()
        except BaseException:
            self._finish(commit=False)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._active:
            self._finish(commit=False)

    def commit(self) -> None:
        if not self._active:
            raise RuntimeError("commit outside a unit of work (or committed twice)")
        saved = self.documents.flush()
        self._finish(commit=True)
        for aggregate in saved:
            self._events.extend(aggregate.events)
            aggregate.events.clear()

    def collect_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    def _finish(self, *, commit: bool) -> None:
        self._active = False
        self._end(commit=commit)

    def _attach_repositories(self) -> None:
        """Hook: set repository attributes from ``self.documents`` and ``self.stock``."""

    def _begin(self) -> tuple[DocumentStore, StockLedger]:
        """Open a transaction; return the document store and stock ledger bound to it."""
        raise NotImplementedError

    def _end(self, *, commit: bool) -> None:
        """Commit or roll back the transaction opened by ``_begin`` and release its resources."""
        raise NotImplementedError
