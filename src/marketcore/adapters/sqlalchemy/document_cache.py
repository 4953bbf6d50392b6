"""A per-process cache of rarely-changing documents (``DocumentSpec.cacheable``: shops, products)
and of query results over rarely-changing kinds (``DocumentSpec.collection_cached``: promotions,
the blacklist), each tagged with the kind's collection version it was read at.

Units of work opened with ``cached=True`` (writers that retry on a conflict, i.e. checkout) read
these from here instead of the database, and their commit checks that every version they were
served is still the stored one: on PostgreSQL in the same statement as their writes
(``Batch.check``), on SQLite in one statement just before COMMIT, under the write lock the
transaction holds since its BEGIN IMMEDIATE. A stale entry makes the commit a
``ConcurrencyConflict``, the use case is retried and the entry is gone. So the cache saves round
trips without ever letting a commit rest on a document that has changed. Entries go when this
process writes them, when a check finds them stale, when a unit of work that used them fails
(its error may come from a stale entry), and after ``MAX_AGE`` seconds. Read-only units of work
never use it: nothing would check what they read. Query results go when this process writes
their kind, when a commit finds their collection version stale, and after ``MAX_AGE`` too.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import attrs
from sqlalchemy import Engine

from marketcore.adapters.tracking import Snapshot

MAX_AGE = 1.0
MAX_ENTRIES = 10_000


@attrs.frozen
class Entry:
    version: int
    # What the tracker compares against at flush (never mutated); each unit of work decodes
    # its own aggregate from its body.
    snapshot: Snapshot
    at: float


@attrs.frozen
class Row:
    ident: str
    version: int
    snapshot: Snapshot


@attrs.frozen
class Rows:
    """A query's rows, or (``ids``) every id of the kind, at one version of its collection."""

    collection_version: int
    rows: tuple[Row, ...] = ()
    ids: frozenset[str] = frozenset()
    at: float = attrs.field(factory=time.monotonic)


class DocumentCache:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}
        self._key_ids: dict[tuple[str, str], str] = {}
        self._queries: dict[str, dict[Any, Rows]] = {}  # kind -> query (text and values) -> rows

    def query(self, kind: str, key: Any) -> Rows | None:
        rows = self._queries.get(kind, {}).get(key)
        if rows is None or time.monotonic() - rows.at > MAX_AGE:
            return None
        return rows

    def put_query(self, kind: str, key: Any, rows: Rows) -> None:
        queries = self._queries.setdefault(kind, {})
        if len(queries) >= MAX_ENTRIES:
            queries.clear()
        queries[key] = rows

    def evict_kind(self, kind: str) -> None:
        """Forget every query result over ``kind`` (it was written, or found stale)."""
        self._queries.pop(kind, None)

    def get(self, kind: str, ident: str) -> Entry | None:
        entry = self._entries.get((kind, ident))
        if entry is None:
            return None
        if time.monotonic() - entry.at > MAX_AGE:
            self._entries.pop((kind, ident), None)
            return None
        return entry

    def id_for_key(self, kind: str, key: str) -> str | None:
        return self._key_ids.get((kind, key))

    def put(self, kind: str, ident: str, version: int, snapshot: Snapshot) -> None:
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
            self._key_ids.clear()
        self._entries[(kind, ident)] = Entry(version, snapshot, time.monotonic())
        for key in snapshot.keys:
            self._key_ids[(kind, key)] = ident

    def evict(self, kind: str, ident: str) -> None:
        entry = self._entries.pop((kind, ident), None)
        if entry is not None:
            for key in entry.snapshot.keys:
                self._key_ids.pop((kind, key), None)


_caches: weakref.WeakKeyDictionary[Engine, DocumentCache] = weakref.WeakKeyDictionary()


def cache_for(engine: Engine) -> DocumentCache:
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches.setdefault(engine, DocumentCache())
    return cache
