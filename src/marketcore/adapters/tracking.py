"""Identity map and change tracking shared by the memory and SQLAlchemy document stores.

Both stores must agree on when a write happens (only when the encoded document, its columns or
its keys changed) and on what ``flush`` returns, so the logic lives once, here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from marketcore.adapters.documents import A, ColumnValue, DocumentSpec, Filter, Order
from marketcore.domain.shared.errors import AlreadyExists, ConcurrencyConflict
from marketcore.domain.shared.events import Aggregate

Document = dict[str, Any]
Columns = dict[str, ColumnValue]
FIXED_COLUMNS = ("id", "version")


@attrs.frozen
class Snapshot:
    """What an aggregate looks like in storage: body, indexed columns and unique keys.

    The body is the JSON ``DocumentSpec.encode`` gives, so telling an unchanged document is one
    encode and one bytes comparison (a dict built and compared cost three times as much)."""

    body: bytes
    columns: Columns
    keys: frozenset[str]

    @classmethod
    def of(cls, spec: DocumentSpec[Any], aggregate: Aggregate, body: bytes | None = None) -> Snapshot:
        """``body``: the aggregate's encoding, when the caller has just made it."""
        extracted = spec.extract(aggregate)
        return cls(
            body=spec.encode(aggregate) if body is None else body,
            columns={column.name: extracted.get(column.name) for column in spec.columns},
            keys=frozenset(spec.keys(aggregate)),
        )


@attrs.define
class Tracked:
    spec: DocumentSpec[Any]
    aggregate: Aggregate
    stored: Snapshot | None  # None: added in this unit of work, not yet inserted
    stored_version: int = 0


@attrs.frozen
class Write:
    """One pending change computed at flush time."""

    tracked: Tracked
    snapshot: Snapshot

    @property
    def is_insert(self) -> bool:
        return self.tracked.stored is None

    def done(self) -> None:
        """Record a successful write: the aggregate now matches storage at the next version."""
        self.tracked.stored_version += 1
        self.tracked.aggregate.version = self.tracked.stored_version
        self.tracked.stored = self.snapshot


class Tracker:
    """Identity map: one object per (kind, id) within a unit of work."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], Tracked] = {}

    def get(self, spec: DocumentSpec[A], ident: str) -> A | None:
        tracked = self._items.get((spec.kind, ident))
        if tracked is None:
            return None
        aggregate: A = tracked.aggregate  # type: ignore[assignment]
        return aggregate

    def loaded(
        self, spec: DocumentSpec[A], ident: str, version: int, data: Document, *, locked: bool = False
    ) -> A:
        """Decode a stored row, or return the object already tracked for it. A ``locked`` read
        (the row now held for this transaction) that finds a newer version than the one tracked is
        a lost race: the caller would otherwise act, under the lock, on what it read before."""
        tracked = self._items.get((spec.kind, ident))
        if tracked is not None:
            if locked and tracked.stored is not None and tracked.stored_version != version:
                raise ConcurrencyConflict(f"{spec.kind} {ident} changed since this transaction read it")
            known: A = tracked.aggregate  # type: ignore[assignment]
            return known
        aggregate = spec.decode(data, version)
        self._items[(spec.kind, ident)] = Tracked(spec, aggregate, Snapshot.of(spec, aggregate), version)
        return aggregate

    def track(self, spec: DocumentSpec[A], aggregate: A, snapshot: Snapshot, version: int) -> None:
        """Track an aggregate decoded elsewhere (a cache) with the snapshot it was stored as."""
        self._items[(spec.kind, aggregate.id)] = Tracked(spec, aggregate, snapshot, version)

    def snapshot(self, spec: DocumentSpec[Any], ident: str) -> Snapshot | None:
        tracked = self._items.get((spec.kind, ident))
        return None if tracked is None else tracked.stored

    def added(self, spec: DocumentSpec[A], aggregate: A) -> None:
        known = self._items.get((spec.kind, aggregate.id))
        if known is not None:
            if known.aggregate is aggregate:
                return
            raise AlreadyExists(f"{spec.kind} {aggregate.id} already exists")
        self._items[(spec.kind, aggregate.id)] = Tracked(spec, aggregate, None, 0)

    def aggregates(self) -> list[Aggregate]:
        return [tracked.aggregate for tracked in self._items.values()]

    def pending(self) -> list[Write]:
        """Changed or new documents, in (kind, id) order so concurrent writers lock rows alike.

        An unchanged body means an unchanged document: columns and keys are computed from the
        same stored fields, so they are computed only when the body changed."""
        writes = []
        for key in sorted(self._items):
            tracked = self._items[key]
            body = tracked.spec.encode(tracked.aggregate)
            if tracked.stored is not None and body == tracked.stored.body:
                continue
            writes.append(Write(tracked, Snapshot.of(tracked.spec, tracked.aggregate, body)))
        return writes


def check_columns(spec: DocumentSpec[Any], filters: Sequence[Filter], order: Sequence[Order]) -> None:
    """Refuse filters or orderings on columns the spec does not index (a programming error)."""
    known = set(FIXED_COLUMNS) | {column.name for column in spec.columns}
    for name in [f.column for f in filters] + [o.column for o in order]:
        if name not in known:
            raise ValueError(f"{spec.kind} has no indexed column {name!r}")
