"""``DocumentStore`` over a SQLAlchemy ``Connection`` inside the caller's transaction.

Updates are optimistic: ``UPDATE ... WHERE id = :id AND version = :seen`` and a zero row count
means someone else won. Uniqueness (ids, keys) is left to the database's primary keys, which is
the only check that holds under concurrency.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Integer,
    MetaData,
    Table,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    select,
)
from sqlalchemy.exc import IntegrityError

from marketcore.adapters.documents import A, Between, Contains, DocumentSpec, Eq, Filter, In, Lock, Order
from marketcore.adapters.sqlalchemy.document_cache import DocumentCache, Row, Rows
from marketcore.adapters.sqlalchemy.raw import (
    Batch,
    RawSql,
    pg_type,
    placeholder,
    positional,
    quote,
)
from marketcore.adapters.sqlalchemy.tables import (
    NAMING_CONVENTION,
    collection_versions,
    document_keys,
    document_table,
)
from marketcore.adapters.tracking import Tracker, Write, check_columns
from marketcore.domain.shared.errors import AlreadyExists, ConcurrencyConflict
from marketcore.domain.shared.events import Aggregate

_tables_lock = threading.Lock()
_tables_metadata = MetaData(naming_convention=NAMING_CONVENTION)


_tables: dict[str, Table] = {}  # read without the lock: a table, once made, never changes


def table_for(spec: DocumentSpec[Any]) -> Table:
    """The ``Table`` object for a spec (a description only; the table must exist in the database)."""
    table = _tables.get(spec.kind)
    if table is None:
        with _tables_lock:
            table = _tables.get(spec.kind)
            if table is None:
                table = _tables[spec.kind] = document_table(_tables_metadata, spec)
    return table


def _clause(table: Table, flt: Filter, name: str) -> ColumnElement[bool]:
    """The filter as a clause over bound parameters named after ``name``; it depends only on the
    filter's shape (``_bind``), so statements built from it can be reused for other values."""
    column = table.c[flt.column]
    match flt:
        case Eq():
            return column.is_(None) if flt.value is None else column == bindparam(name)
        case In():
            count = sum(v is not None for v in flt.values)
            if not count:
                return false()
            return column.in_([bindparam(f"{name}_{i}") for i in range(count)])
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
            for i, value in enumerate(values):
                params[f"{name}_{i}"] = value
            return ("in", flt.column, len(values))
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


# Each statement shape is compiled once per dialect to SQL text (``RawSql.text``) and executed on
# the DBAPI cursor with named parameters.


def _get(sql: RawSql, table: Table) -> str:
    return sql.text(
        ("get", table.name),
        lambda: select(table.c.version, table.c.data).where(table.c.id == bindparam("id")),
    )


def _by_key(sql: RawSql, table: Table) -> str:
    return sql.text(
        ("by_key", table.name),
        lambda: (
            select(table.c.id, table.c.version, table.c.data)
            .join(document_keys, document_keys.c.doc_id == table.c.id)
            .where(document_keys.c.key == bindparam("key"), document_keys.c.kind == bindparam("kind"))
        ),
    )


def _by_keys(sql: RawSql, table: Table, count: int) -> str:
    return sql.text(
        ("by_keys", table.name, count),
        lambda: (
            select(document_keys.c.key, table.c.id, table.c.version, table.c.data)
            .join(document_keys, document_keys.c.doc_id == table.c.id)
            .where(
                document_keys.c.key.in_([bindparam(f"k{i}") for i in range(count)]),
                document_keys.c.kind == bindparam("kind"),
            )
        ),
    )


def _update(sql: RawSql, table: Table) -> str:
    """SET data, version and the spec's columns, WHERE id and the version this transaction saw."""

    def build() -> str:
        names = [c.name for c in table.columns if c.name != "id"]
        sets = ", ".join(
            f"{column} = {placeholder(sql.name, f'p{i}')}"
            for i, column in enumerate(quote(sql.dialect, names))
        )
        where = (
            f"id = {placeholder(sql.name, 'where_id')} AND version = {placeholder(sql.name, 'where_version')}"
        )
        return f"UPDATE {quote(sql.dialect, [table.name])[0]} SET {sets} WHERE {where}"

    return sql.text(("update", table.name), build)


def _insert(sql: RawSql, table: Table) -> str:
    """Positional parameters (``_values``): the driver binds a tuple faster than it looks up names."""

    def build() -> str:
        names = [c.name for c in table.columns]
        values = ", ".join([positional(sql.name)] * len(names))
        columns = ", ".join(quote(sql.dialect, names))
        return f"INSERT INTO {quote(sql.dialect, [table.name])[0]} ({columns}) VALUES ({values})"

    return sql.text(("insert", table.name), build)


def _insert_keys(sql: RawSql) -> str:
    def build() -> str:
        values = ", ".join([positional(sql.name)] * 3)  # key, kind, doc_id
        return f'INSERT INTO document_keys ("key", kind, doc_id) VALUES ({values})'

    return sql.text(("insert_keys",), build)


def _delete_keys(sql: RawSql, count: int) -> str:
    def build() -> str:
        keys = ", ".join(placeholder(sql.name, f"k{i}") for i in range(count))
        kind, doc_id = placeholder(sql.name, "kind"), placeholder(sql.name, "doc_id")
        return f'DELETE FROM document_keys WHERE "key" IN ({keys}) AND kind = {kind} AND doc_id = {doc_id}'

    return sql.text(("delete_keys", count), build)


def _find(
    sql: RawSql,
    table: Table,
    filters: Sequence[Filter],
    order: Sequence[Order],
    limit: bool,
    lock: Lock | None,
) -> tuple[str, dict[str, Any]]:
    shape, params = _where(filters)
    key = ("find", table.name, shape, tuple(order), limit, lock)

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
        if limit:  # with its OFFSET always: SQLite's compiler adds one as a literal otherwise
            query = query.limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
        if lock is not None:  # SQLite has no row locks; its one writer at a time serialises anyway
            query = query.with_for_update(skip_locked=lock == "skip")
        return query

    return sql.text(key, build), params


def _count(sql: RawSql, table: Table, filters: Sequence[Filter], bounded: bool) -> tuple[str, dict[str, Any]]:
    """``bounded``: counts at most ``:at_most`` rows, so the scan stops there."""
    shape, params = _where(filters)

    def build() -> Executable:
        if not bounded:
            return select(func.count()).select_from(table).where(*_clauses(table, filters))
        # With its OFFSET (0): SQLite's compiler adds one as a literal otherwise (see ``_find``).
        one = literal_column("1", Integer)  # no column: an index over the filters covers the scan
        rows = (
            select(one)
            .select_from(table)
            .where(*_clauses(table, filters))
            .limit(bindparam("at_most", type_=Integer))
            .offset(bindparam("skip", type_=Integer))
            .subquery()
        )
        return select(func.count()).select_from(rows)

    return sql.text(("count", table.name, shape, bounded), build), params


def _collection_version(sql: RawSql) -> str:
    return sql.text(
        ("collection_version",),
        lambda: select(collection_versions.c.version).where(collection_versions.c.id == bindparam("id")),
    )


def _all_ids(sql: RawSql, table: Table) -> str:
    return sql.text(("all_ids", table.name), lambda: select(table.c.id))


def _bump(sql: RawSql) -> str:
    return sql.text(
        ("bump",),
        lambda: (
            f"UPDATE collection_versions SET version = version + 1 WHERE id = {placeholder(sql.name, 'id')}"
        ),
    )


def _verify(sql: RawSql, shape: Sequence[tuple[str, int]]) -> str:
    """SQLite: per (table, count), how many of ``count`` (id, version) pairs are still stored."""
    counts = []
    for i, (table, count) in enumerate(shape):
        pairs = ", ".join(f"(:i{i}_{j}, :v{i}_{j})" for j in range(count))
        name = quote(sql.dialect, [table])[0]
        counts.append(
            f"(SELECT count(*) FROM {name} JOIN (VALUES {pairs}) AS c{i}"
            f" ON {name}.id = c{i}.column1 AND {name}.version = c{i}.column2)"
        )
    return "SELECT " + ", ".join(counts)


COLLECTIONS = "collection_versions"
Served = tuple[str, str, int]  # (table, id, version): a version a commit rests on


def _by_table(checks: Sequence[Served]) -> dict[str, list[dict[str, Any]]]:
    by_table: dict[str, list[dict[str, Any]]] = {}
    for table, ident, version in checks:
        by_table.setdefault(table, []).append({"id": ident, "version": version})
    return by_table


def _ids_only(filters: Sequence[Filter], order: Sequence[Order]) -> bool:
    return (
        len(filters) == 1
        and isinstance(filters[0], In)
        and filters[0].column == "id"
        and tuple(order) == (Order(),)
    )


_WHERE_VERSION = ("where_version", "integer")


@functools.cache
def _pg_columns(table: Table) -> tuple[tuple[str, str], ...]:
    return tuple((column.name, pg_type(column)) for column in table.columns)


@functools.cache
def _param_names(table: Table) -> tuple[tuple[str, str], ...]:
    """(parameter, column) in the table's column order: ``("p0", "id")``, ``("p1", "version")`` ..."""
    return tuple((f"p{i}", column.name) for i, column in enumerate(table.columns))


def _values(table: Table, row: dict[str, Any]) -> tuple[Any, ...]:
    """The row's values in the table's column order (``_insert``), the body as JSON text."""
    return tuple(
        [str(row[name], "utf-8") if name == "data" else row[name] for _, name in _param_names(table)]
    )


def _params(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row's values as ``p0``, ``p1`` ... in the table's column order, the body as JSON text."""
    return {p: str(row[name], "utf-8") if name == "data" else row[name] for p, name in _param_names(table)}


class SqlAlchemyDocumentStore:
    """``cache``: serve cacheable documents from it (writing units of work on PostgreSQL);
    ``check_served`` then puts the versions served into the commit's batch. ``evicts``: a cache
    this store does not serve from but whose entries it drops when it writes them, so that the
    process's next cached checkout does not first lose a round to its own earlier write."""

    def __init__(
        self,
        connection: Connection,
        sql: RawSql | None = None,
        cache: DocumentCache | None = None,
        evicts: DocumentCache | None = None,
    ) -> None:
        self._sql = sql or RawSql(connection)
        self._cache = cache
        self._evicts = cache or evicts
        self._served: dict[tuple[str, str], int] = {}  # (kind, id) -> version served from the cache
        self._collections: set[tuple[str, int]] = set()  # (kind, collection version) queries used
        self._tracker = Tracker()
        self.written: set[str] = set()
        self.bumped: set[str] = set()  # the collection_cached kinds flushed (their version bumped)
        self._key_ids: dict[tuple[str, str], str] = {}

    def _loaded(
        self, spec: DocumentSpec[A], ident: str, version: int, data: Any, *, locked: bool = False
    ) -> A:
        known = self._tracker.get(spec, ident)
        if known is not None:
            if locked:  # a newer row under the lock than the one read before is a lost race
                return self._tracker.loaded(spec, ident, version, data, locked=True)
            return known
        data = self._sql.load_json(data)
        aggregate = self._tracker.loaded(spec, ident, version, data)
        if self._cache is not None and spec.cacheable:
            snapshot = self._tracker.snapshot(spec, ident)
            if snapshot is not None:
                self._cache.put(spec.kind, ident, version, snapshot)
        return aggregate

    def _cached(self, spec: DocumentSpec[A], ident: str, key: str | None = None) -> A | None:
        """The document from the cache (``key``: only if it still holds that key)."""
        if self._cache is None or not spec.cacheable:
            return None
        entry = self._cache.get(spec.kind, ident)
        if entry is None or (key is not None and key not in entry.snapshot.keys):
            return None
        aggregate = msgspec.json.decode(entry.snapshot.body, type=spec.type)
        aggregate.version = entry.version
        self._tracker.track(spec, aggregate, entry.snapshot, entry.version)
        self._served[(spec.kind, ident)] = entry.version
        return aggregate

    def _cached_by_key(self, spec: DocumentSpec[A], key: str) -> A | None:
        if self._cache is None or not spec.cacheable:
            return None
        ident = self._cache.id_for_key(spec.kind, key)
        if ident is None:
            return None
        found = self._tracker.get(spec, ident) or self._cached(spec, ident, key)
        if found is not None:
            self._key_ids[(spec.kind, key)] = ident
        return found

    def check_served(self, batch: Batch) -> None:
        """Adds to ``batch`` a check of every version served from the cache and not written
        since (a written one was checked by its UPDATE)."""
        for kind, versions in _by_table(self._to_check()).items():
            if kind == COLLECTIONS:
                kinds = ", ".join(sorted(row["id"] for row in versions))
                batch.check(kind, versions, f"{kinds} changed since this process cached a query")
            else:
                batch.check(kind, versions, f"{kind} changed since this process cached it")

    def verify_served(self, verified: set[Served] | None = None) -> None:
        """SQLite: the same checks as ``check_served``, as one statement before COMMIT. The
        transaction holds SQLite's write lock since its BEGIN IMMEDIATE, so nothing can change
        between this check and the commit. ``verified``: what a write group's transaction has
        shown already and not written since, so not checked again; what passes is added."""
        checks = self._to_check()
        if verified:
            checks = [check for check in checks if check not in verified]
        if checks:
            by_table = _by_table(checks)
            params: dict[str, Any] = {}
            for i, versions in enumerate(by_table.values()):
                for j, row in enumerate(versions):
                    params[f"i{i}_{j}"], params[f"v{i}_{j}"] = row["id"], row["version"]
            shape = tuple((table, len(versions)) for table, versions in by_table.items())
            text = self._sql.text(("verify", shape), lambda: _verify(self._sql, shape))
            found = self._sql.execute(text, params).fetchone()
            for (table, versions), count in zip(by_table.items(), found, strict=True):
                if count != len(versions):
                    raise ConcurrencyConflict(f"{table} changed since this process cached it")
        if verified is not None:
            verified.update(checks)

    def _to_check(self) -> list[Served]:
        """The versions served from the cache and not written since, and the collection
        versions the cached queries used, in order."""
        checks = [(kind, ident, v) for (kind, ident), v in self._served.items() if ident not in self.written]
        checks += [(COLLECTIONS, kind, version) for kind, version in self._collections]
        return sorted(checks)

    def evict_served(self) -> None:
        """Forget the cache entries this unit of work used (it failed, maybe because of one)."""
        if self._cache is not None:
            for kind, ident in self._served:
                self._cache.evict(kind, ident)
            for kind, _ in self._collections:
                self._cache.evict_kind(kind)

    def get(self, spec: DocumentSpec[A], ident: str) -> A | None:
        known = self._tracker.get(spec, ident) or self._cached(spec, ident)
        if known is not None:
            return known
        row = self._sql.execute(_get(self._sql, table_for(spec)), {"id": ident}).fetchone()
        if row is None:
            return None
        return self._loaded(spec, ident, row[0], row[1])

    def get_by_key(self, spec: DocumentSpec[A], key: str) -> A | None:
        """One statement (the key joined to its document), none if this unit of work saw it."""
        known_id = self._key_ids.get((spec.kind, key))
        if known_id is not None:
            return self.get(spec, known_id)
        cached = self._cached_by_key(spec, key)
        if cached is not None:
            return cached
        row = self._sql.execute(
            _by_key(self._sql, table_for(spec)), {"key": key, "kind": spec.kind}
        ).fetchone()
        if row is None:
            return None
        self._key_ids[(spec.kind, key)] = row[0]
        return self._loaded(spec, row[0], row[1], row[2])

    def get_by_keys(self, spec: DocumentSpec[A], keys: Sequence[str]) -> dict[str, A]:
        """One statement for all the keys this unit of work has not resolved yet."""
        found: dict[str, A] = {}
        unknown: list[str] = []
        for key in dict.fromkeys(keys):
            known_id = self._key_ids.get((spec.kind, key))
            aggregate = self.get(spec, known_id) if known_id is not None else None
            if aggregate is None:
                aggregate = self._cached_by_key(spec, key)
            if aggregate is not None:
                found[key] = aggregate
            else:
                unknown.append(key)
        if unknown:
            text = _by_keys(self._sql, table_for(spec), len(unknown))
            params = {f"k{i}": key for i, key in enumerate(unknown)} | {"kind": spec.kind}
            rows = self._sql.execute(text, params).fetchall()
            for key, ident, version, data in rows:
                self._key_ids[(spec.kind, key)] = ident
                found[key] = self._loaded(spec, ident, version, data)
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
        if (
            self._cache is not None
            and spec.collection_cached
            and limit is None
            and not offset
            and lock is None
        ):
            cached = self._find_in_collection(spec, filters, order)
            if cached is not None:
                return cached
        if (
            self._cache is not None
            and spec.cacheable
            and _ids_only(filters, order)
            and limit is None
            and not offset
            and lock is None
        ):
            assert isinstance(filters[0], In)
            return self._find_ids(spec, [v for v in filters[0].values if isinstance(v, str)])
        return self._select(spec, filters, order, limit, offset, lock)

    def _select(
        self,
        spec: DocumentSpec[A],
        filters: Sequence[Filter],
        order: Sequence[Order],
        limit: int | None = None,
        offset: int = 0,
        lock: Lock | None = None,
    ) -> list[A]:
        text, params = _find(
            self._sql, table_for(spec), filters, order, limit is not None or bool(offset), lock
        )
        if limit is not None:
            params["limit"] = limit
        elif offset:  # an OFFSET needs a LIMIT on SQLite: none is NULL on PostgreSQL, -1 on SQLite
            params["limit"] = None if self._sql.postgres else -1
        params["offset"] = offset
        rows = self._sql.execute(text, params).fetchall()
        locked = lock is not None
        return [self._loaded(spec, ident, version, data, locked=locked) for ident, version, data in rows]

    def _find_in_collection(
        self, spec: DocumentSpec[A], filters: Sequence[Filter], order: Sequence[Order]
    ) -> list[A] | None:
        """``find`` over a ``collection_cached`` kind from the cache, tagged with the collection
        version read before the rows (so the rows are never older than the version the commit
        checks); None when the kind has no collection version, which caches nothing. An
        ``In("id", ...)`` lookup is answered from every id of the kind: a miss, the usual
        answer of the blacklist, costs no statement."""
        assert self._cache is not None
        table = table_for(spec)
        if _ids_only(filters, order):
            rows = self._cache.query(spec.kind, "ids")
            if rows is None:
                version = self._read_collection_version(spec.kind)
                if version is None:
                    return None
                ids = frozenset(row[0] for row in self._sql.execute(_all_ids(self._sql, table)).fetchall())
                rows = Rows(version, ids=ids)
                self._cache.put_query(spec.kind, "ids", rows)
            self._collections.add((spec.kind, rows.collection_version))
            assert isinstance(filters[0], In)
            wanted = [value for value in filters[0].values if value in rows.ids]
            return self._select(spec, [In("id", wanted)], order) if wanted else []
        text, params = _find(self._sql, table, filters, order, False, None)
        key = (text, tuple(sorted(params.items())))
        rows = self._cache.query(spec.kind, key)
        if rows is not None:
            self._collections.add((spec.kind, rows.collection_version))
            return [self._tracker.get(spec, row.ident) or self._serve(spec, row) for row in rows.rows]
        version = self._read_collection_version(spec.kind)
        if version is None:
            return None
        found = self._sql.execute(text, params).fetchall()
        untracked = not any(self._tracker.get(spec, ident) for ident, _, _ in found)
        aggregates = [self._loaded(spec, ident, v, data) for ident, v, data in found]
        if untracked:  # the snapshots are then those of the rows just read
            cached = []
            for ident, v, _ in found:
                snapshot = self._tracker.snapshot(spec, ident)
                assert snapshot is not None
                cached.append(Row(ident, v, snapshot))
            self._cache.put_query(spec.kind, key, Rows(version, tuple(cached)))
        self._collections.add((spec.kind, version))
        return aggregates

    def _read_collection_version(self, kind: str) -> int | None:
        row = self._sql.execute(_collection_version(self._sql), {"id": kind}).fetchone()
        return None if row is None else int(row[0])

    def _serve(self, spec: DocumentSpec[A], row: Row) -> A:
        aggregate = spec.decode(msgspec.json.decode(row.snapshot.body), row.version)
        self._tracker.track(spec, aggregate, row.snapshot, row.version)
        return aggregate

    def _find_ids(self, spec: DocumentSpec[A], ids: list[str]) -> list[A]:
        """``find([In("id", ids)])`` with what the cache holds taken from it."""
        found: dict[str, A] = {}
        missing = []
        for ident in dict.fromkeys(ids):
            aggregate = self._tracker.get(spec, ident) or self._cached(spec, ident)
            if aggregate is not None:
                found[ident] = aggregate
            else:
                missing.append(ident)
        if missing:
            text, params = _find(self._sql, table_for(spec), [In("id", missing)], (Order(),), False, None)
            for ident, version, data in self._sql.execute(text, params).fetchall():
                found[ident] = self._loaded(spec, ident, version, data)
        return [found[ident] for ident in sorted(found, reverse=True)]

    def count(self, spec: DocumentSpec[A], filters: Sequence[Filter] = (), at_most: int | None = None) -> int:
        check_columns(spec, filters, ())
        if at_most is not None and at_most < 1:
            return 0
        text, params = _count(self._sql, table_for(spec), filters, at_most is not None)
        if at_most is not None:
            params["at_most"], params["skip"] = at_most, 0
        return int(self._sql.execute(text, params).fetchone()[0])

    def flush(self) -> list[Aggregate]:
        """Updates one by one (each needs its row count), inserts one executemany per table,
        new keys in one more; while the unit of work commits on PostgreSQL, the inserts (and a
        lone update) join its ``Batch`` instead. A failure leaves the transaction unusable,
        which is fine: the unit of work rolls back whatever a flush raises."""
        writes = self._tracker.pending()
        batch = self._sql.batch
        lone_update = sum(not write.is_insert for write in writes) == 1
        inserts: dict[Table, list[dict[str, Any]]] = {}
        new_keys: list[dict[str, Any]] = []
        try:
            for write in writes:
                table = table_for(write.tracked.spec)
                row = self._row(write)
                if write.is_insert:
                    inserts.setdefault(table, []).append(row)
                elif batch is not None and lone_update:
                    row["where_version"] = write.tracked.stored_version
                    batch.update(
                        table.name, (*_pg_columns(table), _WHERE_VERSION), row, self._conflict(write)
                    )
                else:
                    self._update(table, write, row)
                new_keys += self._changed_keys(write)
            for table, rows in inserts.items():
                if batch is not None:
                    batch.insert(table.name, _pg_columns(table), rows)
                else:
                    values = [_values(table, row) for row in rows]
                    self._sql.execute_many(_insert(self._sql, table), values)
            if new_keys and batch is not None:
                batch.insert("document_keys", _pg_columns(document_keys), new_keys)
            elif new_keys:
                key_rows = [(key["key"], key["kind"], key["doc_id"]) for key in new_keys]
                self._sql.execute_many(_insert_keys(self._sql), key_rows)
            self._bump(sorted({w.tracked.spec.kind for w in writes if w.tracked.spec.collection_cached}))
        except IntegrityError as error:
            raise AlreadyExists(f"an id or unique key is already taken: {error.orig}") from error
        for write in writes:
            write.done()
            self.written.add(write.tracked.aggregate.id)
            if self._evicts is not None and write.tracked.spec.cacheable:
                self._evicts.evict(write.tracked.spec.kind, write.tracked.aggregate.id)
        return self._tracker.aggregates()

    def _bump(self, kinds: list[str]) -> None:
        """A new collection version for each written ``collection_cached`` kind, and this
        process's cached queries over it are forgotten."""
        if not kinds:
            return
        self.bumped.update(kinds)
        batch = self._sql.batch
        if batch is not None:
            batch.bump(COLLECTIONS, kinds)
        else:
            for kind in kinds:
                self._sql.execute(_bump(self._sql), {"id": kind})
        if self._evicts is not None:
            for kind in kinds:
                self._evicts.evict_kind(kind)

    @staticmethod
    def _row(write: Write) -> dict[str, Any]:
        return {
            "id": write.tracked.aggregate.id,
            "version": write.tracked.stored_version + 1,
            "data": msgspec.Raw(write.snapshot.body),  # a batch embeds it in its JSON as it is
            **write.snapshot.columns,
        }

    @staticmethod
    def _conflict(write: Write) -> str:
        return f"{write.tracked.spec.kind} {write.tracked.aggregate.id} was changed by someone else"

    def _update(self, table: Table, write: Write, row: dict[str, Any]) -> None:
        # The UPDATE's SET skips ``id`` (p0): its parameters are the others, renumbered.
        values = _params(table, row)
        params = {f"p{i - 1}": values[f"p{i}"] for i in range(1, len(values))}
        params["where_id"], params["where_version"] = row["id"], write.tracked.stored_version
        if self._sql.execute(_update(self._sql, table), params).rowcount != 1:
            raise ConcurrencyConflict(self._conflict(write))

    def _changed_keys(self, write: Write) -> list[dict[str, str]]:
        """Deletes keys the document gave up; returns the rows of the keys it newly claims."""
        spec, ident = write.tracked.spec, write.tracked.aggregate.id
        old = write.tracked.stored.keys if write.tracked.stored else frozenset()
        gone, new = sorted(old - write.snapshot.keys), sorted(write.snapshot.keys - old)
        if gone:
            params = {f"k{i}": key for i, key in enumerate(gone)} | {"kind": spec.kind, "doc_id": ident}
            self._sql.execute(_delete_keys(self._sql, len(gone)), params)
        return [{"key": key, "kind": spec.kind, "doc_id": ident} for key in new]
