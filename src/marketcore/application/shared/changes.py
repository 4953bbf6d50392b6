"""Which aggregates and stock rows each committed unit of work wrote, for in-process caches.

A read-model cache (the HTTP product pages) subscribes and evicts what a write touched, so a
process never serves its own stale data. Writes committed by other processes are not seen here:
such caches must also expire.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

Listener = Callable[[frozenset[str]], None]

log = logging.getLogger(__name__)


class ChangeFeed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners = [*self._listeners, listener]

    def publish(self, ids: frozenset[str]) -> None:
        """Called after commit with the written ids (aggregate ids and SKU ids); never raises."""
        for listener in self._listeners:
            try:
                listener(ids)
            except Exception:
                log.exception("change listener %r failed", listener)
