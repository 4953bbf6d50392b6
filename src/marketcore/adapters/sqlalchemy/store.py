"""``DocumentStore`` over a SQLAlchemy ``Connection`` inside the caller's transaction.

Updates are optimistic: ``UPDATE ... WHERE id = :id AND version = :seen`` and a zero row count
means someone else won. Uniqueness (ids, keys) is left to the database's primary keys, which is
the only check that holds under concurrency.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    MetaData,
    Select,
    Table,
    and_,
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


def _condition(table: Table, flt: Filter) -> ColumnElement[bool]:
    column = table.c[flt.column]
    match flt:
        case Eq():
            return column.is_(None) if flt.value is None else column == flt.value
        case In():
            values = [v for v in flt.values if v is not None]
            return column.in_(values) if values else false()
        case Between():
            parts: list[ColumnElement[bool]] = [column.is_not(None)]
            if flt.low is not None:
                parts.append(column >= flt.low)
            if flt.high is not None:
                parts.append(column <= flt.high)
            return and_(*parts)
        case Contains():
            return column.icontains(flt.text, autoescape=True)


class SqlAlchemyDocumentStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._tracker = Tracker()
        self._key_ids: dict[tuple[str, str], str] = {}

    def get(self, spec: DocumentSpec[A], ident: str) -> A | None:
        known = self._tracker.get(spec, ident)
        if known is not None:
            return known
        table = table_for(spec)
        row = self._connection.execute(
            select(table.c.version, table.c.data).where(table.c.id == ident)
        ).first()
        if row is None:
            return None
        return self._tracker.loaded(spec, ident, row.version, row.data)

    def get_by_key(self, spec: DocumentSpec[A], key: str) -> A | None:
        """One statement (the key joined to its document), none if this unit of work saw it."""
        known_id = self._key_ids.get((spec.kind, key))
        if known_id is not None:
            return self.get(spec, known_id)
        table = table_for(spec)
        row = self._connection.execute(
            select(table.c.id, table.c.version, table.c.data)
            .join(document_keys, document_keys.c.doc_id == table.c.id)
            .where(document_keys.c.key == key, document_keys.c.kind == spec.kind)
        ).first()
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
            table = table_for(spec)
            rows = self._connection.execute(
                select(document_keys.c.key, table.c.id, table.c.version, table.c.data)
                .join(document_keys, document_keys.c.doc_id == table.c.id)
                .where(document_keys.c.key.in_(unknown), document_keys.c.kind == spec.kind)
            ).all()
            for row in rows:
                self._key_ids[(spec.kind, row.key)] = row.id
                found[row.key] = self._tracker.loaded(spec, row.id, row.version, row.data)
        return found

    def add(self, spec: DocumentSpec[A], aggregate: A) -> None:
        self._tracker.added(spec, aggregate)

    def _filtered(
        self, spec: DocumentSpec[Any], query: Select[Any], filters: Sequence[Filter]
    ) -> Select[Any]:
        table = table_for(spec)
        return query.where(*(_condition(table, f) for f in filters))

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
        table = table_for(spec)
        query = self._filtered(spec, select(table.c.id, table.c.version, table.c.data), filters)
        keys = [*order, Order("id", order[-1].descending if order else True)]
        # NULLs sort as the smallest value everywhere (SQLite's default, and the memory store's).
        query = query.order_by(
            *(
                table.c[o.column].desc().nulls_last()
                if o.descending
                else table.c[o.column].asc().nulls_first()
                for o in keys
            )
        )
        if limit is not None:
            query = query.limit(limit)
        if offset:
            query = query.offset(offset)
        if lock is not None:  # SQLite has no row locks; its one writer at a time serialises anyway
            query = query.with_for_update(skip_locked=lock == "skip")
        rows = self._connection.execute(query).all()
        return [self._tracker.loaded(spec, row.id, row.version, row.data) for row in rows]

    def count(self, spec: DocumentSpec[A], filters: Sequence[Filter] = ()) -> int:
        check_columns(spec, filters, ())
        table = table_for(spec)
        query = self._filtered(spec, select(func.count()).select_from(table), filters)
        return int(self._connection.execute(query).scalar_one())

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
        return self._tracker.aggregates()

    def _update(self, write: Write, values: dict[str, Any]) -> None:
        spec, aggregate = write.tracked.spec, write.tracked.aggregate
        table = table_for(spec)
        result = self._connection.execute(
            update(table)
            .where(table.c.id == aggregate.id, table.c.version == write.tracked.stored_version)
            .values(**values)
        )
        if result.rowcount != 1:
            raise ConcurrencyConflict(f"{spec.kind} {aggregate.id} was changed by someone else")

    def _changed_keys(self, write: Write) -> list[dict[str, str]]:
        """Deletes keys the document gave up; returns the rows of the keys it newly claims."""
        spec, ident = write.tracked.spec, write.tracked.aggregate.id
        old = write.tracked.stored.keys if write.tracked.stored else frozenset()
        gone, new = sorted(old - write.snapshot.keys), sorted(write.snapshot.keys - old)
        if gone:
            self._connection.execute(
                delete(document_keys).where(
                    document_keys.c.key.in_(gone),
                    document_keys.c.kind == spec.kind,
                    document_keys.c.doc_id == ident,
                )
            )
        return [{"key": key, "kind": spec.kind, "doc_id": ident} for key in new]
