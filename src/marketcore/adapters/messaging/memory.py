"""``EventPublisher`` that keeps what it was given, for tests and integrators' own tests."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from marketcore.application.shared.ports import OutboxMessage


class InMemoryEventPublisher:
    """Records every published message in order (duplicates included, as a broker would see them).

    ``fail_next(n)`` makes the next ``n`` calls to ``publish`` raise ``ConnectionError`` before
    recording anything, like a broker that is down.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages: list[OutboxMessage] = []
        self._failures = 0

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        with self._lock:
            if self._failures:
                self._failures -= 1
                raise ConnectionError("in-memory broker unavailable (fail_next)")
            self.messages.extend(messages)

    def fail_next(self, times: int = 1) -> None:
        with self._lock:
            self._failures = times

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def close(self) -> None:
        pass
