"""Ports every context shares: the clock, the unit of work, pages of results, the outbox and the
event publisher."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar

import attrs

from marketcore.domain.shared.events import DomainEvent

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


@attrs.frozen
class PageRequest:
    limit: int = 20
    cursor: str | None = None


@attrs.frozen
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


U_co = TypeVar("U_co", covariant=True)


class UnitOfWorkFactory(Protocol[U_co]):
    """Opens units of work. ``read_only`` ones never commit; storage may then skip write locks
    (SQLite readers run beside the one writer instead of queueing behind it). ``cached`` ones
    may be served rarely-changing documents (shops, products) from a per-process cache, and
    their commit raises ``ConcurrencyConflict`` if one of those has changed since: only for use
    cases that retry on it."""

    def __call__(self, *, read_only: bool = False, cached: bool = False) -> U_co: ...


class UnitOfWork(Protocol):
    """One transaction per use case. Leaving the block without ``commit`` rolls back."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Persist every aggregate loaded or added; raises ConcurrencyConflict on a stale version."""
        ...

    def collect_events(self) -> list[DomainEvent]:
        """Events recorded by the aggregates this unit of work saved, in order."""
        ...


@attrs.frozen(kw_only=True)
class OutboxEntry:
    """One domain event as the unit of work writes it to the outbox (before storage numbers it)."""

    event_id: str
    name: str  # the event's class name; the broker's routing key
    aggregate_kind: str  # the recording aggregate's class name
    aggregate_id: str
    occurred_at: datetime  # timezone-aware UTC
    payload: Mapping[str, Any]  # the event as JSON-compatible builtins


@attrs.frozen(kw_only=True)
class OutboxMessage(OutboxEntry):
    """A stored outbox row. ``position`` is the publication order; ``published_at`` is set only once
    the broker confirmed the message."""

    position: int
    published_at: datetime | None = None


class OutboxStore(Protocol):
    """The outbox inside one transaction."""

    def append(self, entries: Sequence[OutboxEntry]) -> None:
        """Store entries in order; each gets the next, strictly greater position."""
        ...

    def claim(self, limit: int) -> list[OutboxMessage]:
        """The oldest unpublished messages in position order, locked until the transaction ends.

        Rows another open transaction has claimed are skipped (``FOR UPDATE SKIP LOCKED`` where the
        database has it), so several relays can run side by side without publishing a row twice
        in one pass.
        """
        ...

    def mark_published(self, positions: Sequence[int], at: datetime) -> None: ...

    def messages(self, *, after: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """Stored messages with ``position > after`` in position order, published or not."""
        ...

    def count_unpublished(self) -> int: ...


class OutboxUnitOfWork(Protocol):
    """The slice of the unit of work the outbox relay needs."""

    outbox: OutboxStore

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class EventPublisher(Protocol):
    """Sends outbox messages to a broker."""

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        """Send ``messages`` in order; return only once the broker confirmed every one of them.

        Raises on any failure (the caller then treats the whole batch as unpublished and sends it
        again later, so consumers must deduplicate by ``event_id``).
        """
        ...

    def close(self) -> None: ...
