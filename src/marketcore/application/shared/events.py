"""In-process subscribers to domain events, run after the transaction that recorded them committed.

A plain registry: ``subscribe(OrderPlaced, handler)``; ``dispatch(events)`` calls, for every event,
each handler subscribed to its class or to a base class (``DomainEvent`` sees everything), in
subscription order. A failing handler is logged and skipped: the transaction is already committed
and the other handlers still run. Handlers that must not miss an event across crashes should
consume the broker instead (the outbox relay delivers at least once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from marketcore.domain.shared.events import DomainEvent

E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]

log = logging.getLogger(__name__)


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: list[tuple[type[DomainEvent], Handler]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        """Call ``handler`` with every committed event that is an instance of ``event_type``."""
        if not (isinstance(event_type, type) and issubclass(event_type, DomainEvent)):
            raise TypeError(f"{event_type!r} is not a DomainEvent class")
        with self._lock:
            self._handlers = [*self._handlers, (event_type, handler)]

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        with self._lock:
            self._handlers = [(t, h) for t, h in self._handlers if (t, h) != (event_type, handler)]

    def dispatch(self, events: Iterable[DomainEvent]) -> None:
        """Hand each event to its handlers; never raises for a handler's failure."""
        handlers = self._handlers  # replaced, never mutated: safe to iterate without the lock
        for event in events:
            for event_type, handler in handlers:
                if not isinstance(event, event_type):
                    continue
                try:
                    handler(event)
                except Exception:
                    log.exception("event handler %r failed on %s", handler, type(event).__name__)
