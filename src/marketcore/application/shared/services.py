"""What every use-case service holds: a unit-of-work factory and a clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from marketcore.application.shared.ports import Clock

U = TypeVar("U")


class Service(Generic[U]):
    def __init__(self, uow: Callable[[], U], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock
