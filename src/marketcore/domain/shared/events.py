"""Domain events: immutable facts aggregates record and the unit of work publishes."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen(kw_only=True)
class DomainEvent:
    occurred_at: datetime

    @property
    def name(self) -> str:
        return type(self).__name__


@attrs.define(eq=False)
class Aggregate:
    """Base for aggregates: identity equality, a version for optimistic locking, recorded events."""

    id: str
    version: int = attrs.field(default=0, kw_only=True)
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))
