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
    """Base for aggregates: identity equality, a version for optimistic locking, recorded events.

    The version and the events are private fields behind properties: serialisers that skip
    private fields (msgspec) then encode exactly the stored body, with neither of them."""

    id: str
    _version: int = attrs.field(default=0, kw_only=True, alias="version")
    _events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @property
    def version(self) -> int:
        return self._version

    @version.setter
    def version(self, value: int) -> None:
        self._version = value

    @property
    def events(self) -> list[DomainEvent]:
        return self._events

    def record(self, event: DomainEvent) -> None:
        self.events.append(event)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.id == self.id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.id))
