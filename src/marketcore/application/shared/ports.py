"""Ports every context shares: the clock, the unit of work, pages of results."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Generic, Protocol, Self, TypeVar

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
