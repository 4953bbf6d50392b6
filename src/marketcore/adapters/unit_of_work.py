"""The unit of work both storage backends share: one transaction, documents, stock and outbox.

Subclasses only open, commit and roll back their transaction; flushing, writing events to the
outbox, event collection and the repository hook live here so the backends cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Protocol, Self

import msgspec

from marketcore.adapters.counters import CounterStore, StoredPromotionCounters
from marketcore.adapters.documents import DocumentStore
from marketcore.application.inventory.ports import StockLedger
from marketcore.application.promotions.ports import PromotionCounters
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import OutboxEntry, OutboxStore
from marketcore.domain.shared.clock import require_aware
from marketcore.domain.shared.events import Aggregate, DomainEvent

AfterCommit = Callable[[list[DomainEvent]], None]
OnChange = Callable[[frozenset[str]], None]


class TouchedStockLedger(StockLedger, Protocol):
    touched: set[str]  # the SKUs whose stock this transaction changed


def outbox_entries(aggregates: Sequence[Aggregate]) -> list[OutboxEntry]:
    """One outbox entry per recorded event, aggregate by aggregate, each in recording order."""
    entries = []
    for aggregate in aggregates:
        for event in aggregate.events:
            require_aware(event.occurred_at)
            entries.append(
                OutboxEntry(
                    event_id=new_id(),
                    name=type(event).__name__,  # not event.name: a field may shadow it
                    aggregate_kind=type(aggregate).__name__,
                    aggregate_id=aggregate.id,
                    occurred_at=event.occurred_at,
                    payload=msgspec.to_builtins(event),
                )
            )
    return entries


def hand_on(
    on_change: OnChange | None,
    after_commit: AfterCommit | None,
    changed: frozenset[str],
    events: list[DomainEvent],
) -> None:
    """What a commit hands on: the ids it wrote to ``on_change`` (caches), its events to
    ``after_commit`` (in-process subscribers)."""
    if on_change is not None and changed:
        on_change(changed)
    if events and after_commit is not None:
        after_commit(events)


class StoreUnitOfWork:
    """``UnitOfWork`` over a ``DocumentStore``, a ``StockLedger``, promotion counters and an
    ``OutboxStore``.

    Re-enterable: every ``with`` block is a fresh transaction. ``commit`` writes the events of the
    saved aggregates to the outbox in the same transaction, then ends it; leaving the block without
    it rolls back (and the outbox rows with it). After a successful commit the events go to
    ``after_commit`` (the in-process event bus) and are kept until ``collect_events`` drains them.
    """

    documents: DocumentStore
    stock: StockLedger
    outbox: OutboxStore
    promotion_counters: PromotionCounters

    def __init__(self, *, after_commit: AfterCommit | None = None, on_change: OnChange | None = None) -> None:
        self._active = False
        self._events: list[DomainEvent] = []
        self._after_commit = after_commit
        self._on_change = on_change

    def __enter__(self) -> Self:
        if self._active:
            raise RuntimeError("unit of work is already in progress")
        self.documents, self._stock_changes, self.outbox = self._begin()
        self.stock = self._stock_changes
        self._active = True
        try:
            self.promotion_counters = StoredPromotionCounters(self._counters())
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
        entries = outbox_entries(saved)
        if entries:
            self.outbox.append(entries)
        # The ids written, not every one read: a checkout must not evict its buyer's cached actor.
        changed = frozenset(self.documents.written) | self._stock_changes.touched
        self._finish(commit=True)
        committed: list[DomainEvent] = []
        for aggregate in saved:
            committed.extend(aggregate.events)
            aggregate.events.clear()
        self._events.extend(committed)
        self._hand_on(changed, committed)

    def _hand_on(self, changed: frozenset[str], events: list[DomainEvent]) -> None:
        """A hook, so a write group can hand on only once its own COMMIT is done."""
        hand_on(self._on_change, self._after_commit, changed, events)

    def collect_events(self) -> list[DomainEvent]:
        events, self._events = self._events, []
        return events

    def _finish(self, *, commit: bool) -> None:
        self._active = False
        self._end(commit=commit)

    def _attach_repositories(self) -> None:
        """Hook: set repository attributes from ``self.documents`` and ``self.stock``."""

    def _begin(self) -> tuple[DocumentStore, TouchedStockLedger, OutboxStore]:
        """Open a transaction; return the document store, stock ledger and outbox bound to it."""
        raise NotImplementedError

    def _counters(self) -> CounterStore:
        """The promotion counters inside the transaction ``_begin`` opened."""
        raise NotImplementedError

    def _end(self, *, commit: bool) -> None:
        """Commit or roll back the transaction opened by ``_begin`` and release its resources."""
        raise NotImplementedError
