"""What every use-case service holds: a unit-of-work factory and a clock."""

from __future__ import annotations

from typing import Generic, TypeVar

from marketcore.application.shared.ports import Clock, UnitOfWorkFactory

U = TypeVar("U")


class Service(Generic[U]):
    def __init__(self, uow: UnitOfWorkFactory[U], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _reader(self) -> U:
        """A unit of work for a use case that only reads."""
        return self._uow(read_only=True)
