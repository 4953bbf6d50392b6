"""``DocumentStore`` over a SQLAlchemy ``Connection`` inside the caller's transaction.

Updates are optimistic: ``UPDATE ... WHERE id = :id AND version = :seen`` and a zero row count
means someone else won. Uniqueness (ids, keys) is left to the database's primary keys, which is
the only check that holds under concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Integer,
    MetaData,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from marketcore.adapters.documents import A, Between, Contains, DocumentSpec, Eq, Filter, In, Lock, Order
from marketcore.adapters.sqlalchemy.tables import NAMING_CONVENTION, document_keys, document_table
from marketcore.adapters.tracking import Tracker, Write, check_columns
from marketcore.domain.shared.errors import AlreadyExists, ConcurrencyConflict
from marketcore.domain.shared.events import Aggregate

_tables_lock = threading.Lock()
_tables_metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_for(spec: DocumentSpec[Any]) -> Table:
    """The ``Table`` object for a spec (a description only; the table must exist in the database)."""
    with _tables_lock:
        table = _tables_metadata.tables.get(spec.kind)
        if table is None:
            table = document_table(_tables_metadata, spec)
        return table


def _clause(table: Table, flt: Filter, name: str) -> ColumnElement[bool]:
    """The filter as a clause over bound parameters named after ``name``; it depends only on the
    filter's shape (``_bind``), so statements built from it can be reused for other values."""
    column = table.c[flt.column]
    match flt:
        case Eq():
            return column.is_(None) if flt.value is None else column == bindparam(name)
        case In():
            if not any(v is not None for v in flt.values):
                return false()
            return column.in_(bindparam(name, expanding=True))
        case Between():
            parts: list[ColumnElement[bool]] = [column.is_not(None)]
            if flt.low is not None:
                parts.append(column >= bindparam(f"{name}_low"))
            if flt.high is not None:
                parts.append(column <= bindparam(f"{name}_high"))
            return and_(*parts)
        case Contains():
            return func.lower(column).like(func.lower(bindparam(name)), escape="/")


def _bind(flt: Filter, name: str, params: dict[str, Any]) -> tuple[Any, ...]:
    """Puts the filter's values into ``params``; returns its shape (what decides its clause)."""
    match flt:
        case Eq():
            if flt.value is not None:
                params[name] = flt.value
            return ("eq", flt.column, flt.value is None)
        case In():
            values = [v for v in flt.values if v is not None]
            if values:
                params[name] = values
            return ("in", flt.column, bool(values))
        case Between():
            if flt.low is not None:
                params[f"{name}_low"] = flt.low
            if flt.high is not None:
                params[f"{name}_high"] = flt.high
            return ("between", flt.column, flt.low is None, flt.high is None)
        case Contains():
            escaped = flt.text.replace("/", "//").replace("%", "/%").replace("_", "/_")
            params[name] = f"%{escaped}%"
            return ("contains", flt.column)


def _where(filters: Sequence[Filter]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    params: dict[str, Any] = {}
    shape = tuple(_bind(flt, f"f{index}", params) for index, flt in enumerate(filters))
    return shape, params


def _clauses(table: Table, filters: Sequence[Filter]) -> list[ColumnElement[bool]]:
    return [_clause(table, flt, f"f{index}") for index, flt in enumerate(filters)]


# Statements are built once per shape and executed with parameters: building a SQLAlchemy construct
# and computing its cache key costs several times what executing a prebuilt one does.
_statements: dict[tuple[Any, ...], Executable] = {}


def _statement(key: tuple[Any, ...], build: Callable[[], Executable]) -> Executable:
    statement = _statements.get(key)
    if statement is None:
        statement = _statements.setdefault(key, build())
    return statement


def _get(table: Table) -> Executable:
    return _statement(
        ("get", table.name),
        lambda: select(table.c.version, table.c.data).where(table.c.id == bindparam("id")),
    )


def _by_key(table: Table) -> Executable:
    return _statement(
        ("by_key", table.name),
        lambda: (
            select(table.c.id, table.c.version, table.c.data)
            .join(document_keys, document_keys.c.doc_id == table.c.id)
            .where(document_keys.c.key == bindparam("key"), document_keys.c.kind == table.name)
        ),
    )


def _by_keys(table: Table) -> Executable:
    return _statement(
        ("by_keys", table.name),
        lambda: (
            select(document_keys.c.key, table.c.id, table.c.version, table.c.data)
            .join(document_keys, document_keys.c.doc_id == table.c.id)
            .where(
                document_keys.c.key.in_(bindparam("keys", expanding=True)),
                document_keys.c.kind == table.name,
            )
        ),
    )


def _update(table: Table) -> Executable:
    """SET comes from the parameters' names (data, version, the spec's columns)."""
    return _statement(
        ("update", table.name),
        lambda: update(table).where(
            table.c.id == bindparam("where_id"), table.c.version == bindparam("where_version")
        ),
    )


def _delete_keys() -> Executable:
    return _statement(
        ("delete_keys",),
        lambda: delete(document_keys).where(
            document_keys.c.key.in_(bindparam("keys", expanding=True)),
            document_keys.c.kind == bindparam("kind"),
            document_keys.c.doc_id == bindparam("doc_id"),
        ),
    )


def _find(
    table: Table,
    filters: Sequence[Filter],
    order: Sequence[Order],
    limit: bool,
    offset: bool,
    lock: Lock | None,
) -> tuple[Executable, dict[str, Any]]:
    shape, params = _where(filters)
    key = ("find", table.name, shape, tuple(order), limit, offset, lock)

    def build() -> Executable:
        keys = [*order, Order("id", order[-1].descending if order else True)]
        # NULLs sort as the smallest value everywhere (SQLite's default, and the memory store's).
        query = (
            select(table.c.id, table.c.version, table.c.data)
            .where(*_clauses(table, filters))
            .order_by(
                *(
                    table.c[o.column].desc().nulls_last()
                    if o.descending
                    else table.c[o.column].asc().nulls_first()
                    for o in keys
                )
            )
        )
        if limit:
            query = query.limit(bindparam("limit", type_=Integer))
        if offset:
            query = query.offset(bindparam("offset", type_=Integer))
        if lock is not None:  # SQLite has no row locks; its one writer at a time serialises anyway
            query = query.with_for_update(skip_locked=lock == "skip")
        return query

    return _statement(key, build), params


def _count(table: Table, filters: Sequence[Filter]) -> tuple[Executable, dict[str, Any]]:
    shape, params = _where(filters)
    key = ("count", table.name, shape)
    return _statement(
        key, lambda: select(func.count()).select_from(table).where(*_clauses(table, filters))
    ), params


class SqlAlchemyDocumentStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._tracker = Tracker()
        self.written: set[str] = set()
        self._key_ids: dict[tuple[str, str], str] = {}

    def get(self, spec: DocumentSpec[A], ident: str) -> A | None:
        known = self._tracker.get(spec, ident)
        if known is not None:
            return known
        row = self._connection.execute(_get(table_for(spec)), {"id": ident}).first()
        if row is None:
            return None
        return self._tracker.loaded(spec, ident, row.version, row.data)

    def get_by_key(self, spec: DocumentSpec[A], key: str) -> A | None:
        """One statement (the key joined to its document), none if this unit of work saw it."""
        known_id = self._key_ids.get((spec.kind, key))
        if known_id is not None:
            return self.get(spec, known_id)
        row = self._connection.execute(_by_key(table_for(spec)), {"key": key}).first()
        if row is None:
            return None
        self._key_ids[(spec.kind, key)] = row.id
        return self._tracker.loaded(spec, row.id, row.version, row.data)

    def get_by_keys(self, spec: DocumentSpec[A], keys: Sequence[str]) -> dict[str, A]:
        """One statement for all the keys this unit of work has not resolved yet."""
        found: dict[str, A] = {}
        unknown: list[str] = []
        for key in dict.fromkeys(keys):
            known_id = self._key_ids.get((spec.kind, key))
            aggregate = self.get(spec, known_id) if known_id is not None else None
            if aggregate is not None:
                found[key] = aggregate
            else:
                unknown.append(key)
        if unknown:
            rows = self._connection.execute(_by_keys(table_for(spec)), {"keys": unknown}).all()
            for row in rows:
                self._key_ids[(spec.kind, row.key)] = row.id
                found[row.key] = self._tracker.loaded(spec, row.id, row.version, row.data)
        return found

    def add(self, spec: DocumentSpec[A], aggregate: A) -> None:
        self._tracker.added(spec, aggregate)

    def find(
        self,
        spec: DocumentSpec[A],
        filters: Sequence[Filter] = (),
        order: Sequence[Order] = (Order(),),
        limit: int | None = None,
        offset: int = 0,
        lock: Lock | None = None,
    ) -> list[A]:
        check_columns(spec, filters, order)
        statement, params = _find(table_for(spec), filters, order, limit is not None, bool(offset), lock)
        if limit is not None:
            params["limit"] = limit
        if offset:
            params["offset"] = offset
        rows = self._connection.execute(statement, params).all()
        locked = lock is not None
        return [self._tracker.loaded(spec, row.id, row.version, row.data, locked=locked) for row in rows]

    def count(self, spec: DocumentSpec[A], filters: Sequence[Filter] = ()) -> int:
        check_columns(spec, filters, ())
        statement, params = _count(table_for(spec), filters)
        return int(self._connection.execute(statement, params).scalar_one())

    def flush(self) -> list[Aggregate]:
        """Updates one by one (each needs its row count), inserts one multi-row statement per
        table, new keys in one statement. A failure leaves the transaction unusable, which is
        fine: the unit of work rolls back whatever a flush raises."""
        writes = self._tracker.pending()
        inserts: dict[Table, list[dict[str, Any]]] = {}
        new_keys: list[dict[str, str]] = []
        try:
            for write in writes:
                spec, aggregate, snapshot = write.tracked.spec, write.tracked.aggregate, write.snapshot
                values = {
                    "data": snapshot.data,
                    **snapshot.columns,
                    "version": write.tracked.stored_version + 1,
                }
                if write.is_insert:
                    inserts.setdefault(table_for(spec), []).append({"id": aggregate.id, **values})
                else:
                    self._update(write, values)
                new_keys += self._changed_keys(write)
            for table, rows in inserts.items():
                self._connection.execute(insert(table), rows)
            if new_keys:
                self._connection.execute(insert(document_keys), new_keys)
        except IntegrityError as error:
            raise AlreadyExists(f"an id or unique key is already taken: {error.orig}") from error
        for write in writes:
            write.done()
            self.written.add(write.tracked.aggregate.id)
        return self._tracker.aggregates()

    def _update(self, write: Write, values: dict[str, Any]) -> None:
        spec, aggregate = write.tracked.spec, write.tracked.aggregate
        params = {**values, "where_id": aggregate.id, "where_version": write.tracked.stored_version}
        result = self._connection.execute(_update(table_for(spec)), params)
        if result.rowcount != 1:
            raise ConcurrencyConflict(f"{spec.kind} {aggregate.id} was changed by someone else")

    def _changed_keys(self, write: Write) -> list[dict[str, str]]:
        """Deletes keys the document gave up; returns the rows of the keys it newly claims."""
        spec, ident = write.tracked.spec, write.tracked.aggregate.id
        old = write.tracked.stored.keys if write.tracked.stored else frozenset()
        gone, new = sorted(old - write.snapshot.keys), sorted(write.snapshot.keys - old)
        if gone:
            self._connection.execute(_delete_keys(), {"keys": gone, "kind": spec.kind, "doc_id": ident})
        return [{"key": key, "kind": spec.kind, "doc_id": ident} for key in new]
