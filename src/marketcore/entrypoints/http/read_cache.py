"""Per-process caches of read models that this process's own writes keep exact.

An entry names the ids it was built from (a product page: the product, its shop and its SKUs; a
signed-in actor: the user). It is dropped as soon as a unit of work committed in this process
writes one of them (``ChangeFeed``), or when ``ttl`` passes, which bounds how stale an entry can be
after a write by another process.

Two live on the app: anonymous product pages (the most read page of a marketplace, and it changes
rarely; signed-in readers may be the shop's staff or an operator, who see more, so only the
anonymous view is kept) and the actor behind each signed-in user id.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs
from litestar import Request

PAGES = "product_pages"  # the app state key

V = TypeVar("V")


@attrs.frozen
class _Entry(Generic[V]):
    value: V
    depends_on: frozenset[str]
    expires: float


class ReadCache(Generic[V]):
    def __init__(
        self, ttl_seconds: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry[V]] = {}
        self._readers: dict[str, set[str]] = {}  # id -> keys of the entries built from it
        self._generation = 0
        # Recent evictions, so a page read from the database before a write committed is not cached
        # after it (the read and the eviction race when the page was not cached yet).
        self._recent: collections.deque[tuple[int, frozenset[str]]] = collections.deque(maxlen=512)

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None or entry.expires <= self._clock():
            return None
        return entry.value

    def ticket(self) -> int:
        """Take before reading the entry's data; hand to ``put``."""
        return self._generation

    def put(self, ticket: int, key: str, depends_on: Iterable[str], value: V) -> None:
        """Keep ``value`` unless something it was built from was written since ``ticket``."""
        if not self.enabled:
            return
        needs = frozenset(depends_on)
        with self._lock:
            if self._recent and self._recent[0][0] > ticket + 1:
                return  # more evictions since the read than we remember: cannot tell, skip
            if any(generation > ticket and ids & needs for generation, ids in self._recent):
                return  # written while we read: the value may be stale already
            self._drop(key)
            if len(self._entries) >= self._max_entries:
                self._drop(next(iter(self._entries)))  # the oldest
            self._entries[key] = _Entry(value, needs, self._clock() + self._ttl)
            for ident in needs:
                self._readers.setdefault(ident, set()).add(key)

    def evict(self, written: frozenset[str]) -> None:
        """``ChangeFeed`` listener: drop every entry built from something just written."""
        with self._lock:
            self._generation += 1
            self._recent.append((self._generation, written))
            for ident in written & self._readers.keys():
                for key in list(self._readers.get(ident, ())):
                    self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for ident in entry.depends_on:
            readers = self._readers.get(ident)
            if readers is not None:
                readers.discard(key)
                if not readers:
                    del self._readers[ident]


def product_pages(request: Request[Any, Any, Any]) -> ReadCache[bytes]:
    """The app's page cache (app state, not a dependency: see ``auth.provide_actor``)."""
    pages: ReadCache[bytes] = request.app.state[PAGES]
    return pages
