"""Aggregates stored as documents: a JSON body plus the columns queries filter on.

Each aggregate kind gets its own table (``id``, ``version``, ``data`` and its indexed columns)
and may claim unique lookup keys (an e-mail, an SKU id, an idempotency key) in a shared
``document_keys`` table, so uniqueness is enforced by the database under concurrency.
The memory and SQLAlchemy stores implement the same ``DocumentStore`` protocol, so one set of
repositories (``adapters/repositories.py``) serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, Literal, Protocol, TypeVar

import attrs
import msgspec

from marketcore.domain.shared.events import Aggregate

A = TypeVar("A", bound=Aggregate)
ColumnValue = str | int | bool | None

# Dict keys and sets in sorted order, so equal documents encode to equal bytes (``Snapshot``
# compares bodies as bytes). An aggregate's version and events are private fields, which
# msgspec leaves out: its encoding is its stored body.
encode_body = msgspec.json.Encoder(order="deterministic").encode


@attrs.frozen
class Column:
    name: str
    type: type[str] | type[int] | type[bool]
    # An index of its own (each one costs every insert a page): off for a column filtered on
    # only together with others, through a composite index (``DocumentSpec.indexes``).
    indexed: bool = True


@attrs.frozen
class DocumentSpec(Generic[A]):
    """How one aggregate kind is stored."""

    kind: str  # table name
    type: type[A]
    columns: Sequence[Column] = ()
    extract: Callable[[A], Mapping[str, ColumnValue]] = lambda _: {}
    keys: Callable[[A], Iterable[str]] = lambda _: ()
    # Composite indexes over ``columns``, for queries filtering on several at once.
    indexes: Sequence[tuple[str, ...]] = ()
    # Rarely changed and safe to serve from a per-process cache to writing units of work, whose
    # commit then checks the versions served (SQLAlchemy adapter; see document_cache).
    cacheable: bool = False
    # Its queries may be served from that cache too: every write of the kind bumps the kind's row
    # in ``collection_versions``, and the commit of a unit of work served from the
    # cache checks the version its rows were read at. For kinds read by every checkout and
    # rarely written (promotions, the blacklist), where a new row would change no version.
    collection_cached: bool = False

    def encode(self, aggregate: A) -> bytes:
        """The stored body, as JSON."""
        return encode_body(aggregate)

    def decode(self, data: Mapping[str, Any], version: int) -> A:
        aggregate = msgspec.convert(dict(data), self.type)
        aggregate.version = version
        return aggregate


@attrs.frozen
class Eq:
    column: str
    value: ColumnValue


@attrs.frozen
class In:
    column: str
    values: Sequence[ColumnValue]


@attrs.frozen
class Between:
    """Inclusive range; either bound may be None."""

    column: str
    low: int | None = None
    high: int | None = None


@attrs.frozen
class Contains:
    """Case-insensitive substring match on a text column."""

    column: str
    text: str


Filter = Eq | In | Between | Contains


Lock = Literal["wait", "skip"]


@attrs.frozen
class Order:
    column: str = "id"
    descending: bool = True


class DocumentStore(Protocol):
    """Documents inside one transaction. Loaded and added aggregates are tracked and
    written back by ``flush`` with an optimistic version check."""

    written: set[str]  # ids of the documents flushed so far (inserted or updated)

    def get(self, spec: DocumentSpec[A], ident: str) -> A | None: ...

    def get_by_key(self, spec: DocumentSpec[A], key: str) -> A | None: ...

    def get_by_keys(self, spec: DocumentSpec[A], keys: Sequence[str]) -> dict[str, A]:
        """The documents holding any of ``keys``, by key (missing keys are left out)."""
        ...

    def add(self, spec: DocumentSpec[A], aggregate: A) -> None: ...

    def find(
        self,
        spec: DocumentSpec[A],
        filters: Sequence[Filter] = (),
        order: Sequence[Order] = (Order(),),
        limit: int | None = None,
        offset: int = 0,
        lock: Lock | None = None,
    ) -> list[A]:
        """Matching documents in order. ``lock="wait"`` locks them for this transaction
        (``FOR UPDATE``), so a use case takes its documents' locks before any stock row's and
        transactions cannot deadlock; ``lock="skip"`` also skips rows another transaction holds
        (``SKIP LOCKED``), so parallel workers share out due work."""
        ...

    def count(self, spec: DocumentSpec[A], filters: Sequence[Filter] = (), at_most: int | None = None) -> int:
        """Matching documents, counted up to ``at_most``: a caller that compares with a limit
        stops the scan there."""
        ...

    def flush(self) -> list[Aggregate]:
        """Write every tracked aggregate; returns them (for event collection).

        New ones are inserted (a duplicate unique key raises ``DuplicateKey``); loaded ones are
        updated only if their stored version is unchanged (else ``ConcurrencyConflict``), and
        their version is bumped. Keys are re-synchronised with ``spec.keys``.
        """
        ...
