"""The outbox relay: moves committed events from the outbox to the broker, at least once.

One pass (``relay_once``) is one transaction: claim the oldest unpublished rows in position order
(locked, skipping rows another relay holds), publish them through the ``EventPublisher``, which
returns only when the broker confirmed them all, then mark them published and commit. If the
publisher fails, the transaction rolls back and the rows stay unpublished for the next pass. If
the process dies after the broker confirmed but before the commit, the rows are published again
by the next pass: delivery is at least once, and consumers deduplicate by message id.
"""

from __future__ import annotations

import logging
import threading

from marketcore.application.shared.ports import Clock, EventPublisher, OutboxUnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100


class OutboxRelay:
    def __init__(
        self,
        uow: UnitOfWorkFactory[OutboxUnitOfWork],
        publisher: EventPublisher,
        clock: Clock,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self._uow = uow
        self.publisher = publisher
        self._clock = clock
        self.batch_size = batch_size

    def relay_once(self, batch_size: int | None = None) -> int:
        """Publish up to ``batch_size`` of the oldest unpublished events; return how many.

        Raises whatever the publisher or the storage raised; nothing is marked then.
        """
        limit = self.batch_size if batch_size is None else batch_size
        if limit < 1:
            raise ValueError("batch_size must be positive")
        with self._uow() as uow:
            messages = uow.outbox.claim(limit)
            if not messages:
                return 0
            self.publisher.publish(messages)
            uow.outbox.mark_published([m.position for m in messages], self._clock.now())
            uow.commit()
        return len(messages)

    def relay_all(self) -> int:
        """Pass after pass until nothing is left; return how many were published."""
        total = 0
        while published := self.relay_once():
            total += published
        return total

    def relay_forever(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Relay until ``stop`` is set: back to back while full batches come, else every ``interval``
        seconds. Failures (broker down, database restarting) are logged and retried after
        ``interval``."""
        while not stop.is_set():
            try:
                published = self.relay_once()
            except Exception:
                log.exception("outbox relay pass failed; retrying in %.1f s", interval)
                published = 0
            if published < self.batch_size:
                stop.wait(interval)
