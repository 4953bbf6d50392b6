"""Encoded public product pages, served to anonymous readers without touching the database.

Product detail is the most read page of a marketplace and changes rarely. A page is kept until a
unit of work committed in this process writes the product, its shop or one of its SKUs' stock
(``ChangeFeed``), or until ``ttl`` passes, which bounds how stale a page can be after a write by
another process. Only the anonymous view is cached: signed-in readers may be the shop's staff or
an operator, who see more.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs
from litestar import Request

PAGES = "product_pages"  # the app state key


@attrs.frozen
class _Page:
    body: bytes
    depends_on: frozenset[str]
    expires: float


class ProductPages:
    def __init__(
        self, ttl_seconds: float, max_pages: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._max_pages = max_pages
        self._clock = clock
        self._lock = threading.Lock()
        self._pages: dict[str, _Page] = {}
        self._readers: dict[str, set[str]] = {}  # dependency id -> product ids whose page uses it
        self._generation = 0
        # Recent evictions, so a page read from the database before a write committed is not cached
        # after it (the read and the eviction race when the page was not cached yet).
        self._recent: collections.deque[tuple[int, frozenset[str]]] = collections.deque(maxlen=512)

    @property
    def enabled(self) -> bool:
        return self._ttl > 0

    def get(self, product_id: str) -> bytes | None:
        page = self._pages.get(product_id)
        if page is None or page.expires <= self._clock():
            return None
        return page.body

    def ticket(self) -> int:
        """Take before reading the page's data; hand to ``put``."""
        return self._generation

    def put(self, ticket: int, product_id: str, depends_on: Iterable[str], body: bytes) -> None:
        if not self.enabled:
            return
        needs = frozenset(depends_on) | {product_id}
        with self._lock:
            if self._recent and self._recent[0][0] > ticket + 1:
                return  # more evictions since the read than we remember: cannot tell, skip
            if any(generation > ticket and ids & needs for generation, ids in self._recent):
                return  # written while we read: the body may be stale already
            self._drop(product_id)
            if len(self._pages) >= self._max_pages:
                self._drop(next(iter(self._pages)))  # the oldest cached
            self._pages[product_id] = _Page(body, needs, self._clock() + self._ttl)
            for ident in needs:
                self._readers.setdefault(ident, set()).add(product_id)

    def evict(self, written: frozenset[str]) -> None:
        """``ChangeFeed`` listener: drop every page that shows something just written."""
        with self._lock:
            self._generation += 1
            self._recent.append((self._generation, written))
            for ident in written & self._readers.keys():
                for product_id in list(self._readers.get(ident, ())):
                    self._drop(product_id)

    def _drop(self, product_id: str) -> None:
        page = self._pages.pop(product_id, None)
        if page is None:
            return
        for ident in page.depends_on:
            readers = self._readers.get(ident)
            if readers is not None:
                readers.discard(product_id)
                if not readers:
                    del self._readers[ident]


def product_pages(request: Request[Any, Any, Any]) -> ProductPages:
    """The app's cache (app state, not a dependency: see ``auth.provide_actor``)."""
    pages: ProductPages = request.app.state[PAGES]
    return pages
