"""Hot-path statements as SQL text on the DBAPI cursor, inside SQLAlchemy's transaction.

Executing a prebuilt SQLAlchemy construct still costs about twice what the driver does (cache
lookups, parameter processing, result wrapping). The store, the stock ledger and the outbox
therefore compile each statement shape once per dialect to text with named parameters and run
it on the connection's own DBAPI cursor. What SQLAlchemy gave them is kept: statements are
announced to ``before_cursor_execute`` listeners (the statement budget counts them), and driver
errors become SQLAlchemy's ``DBAPIError`` subclasses (``IntegrityError`` ...), which the callers
and the unit of work already translate.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import attrs
import msgspec
from sqlalchemy import ClauseElement, Connection, Dialect, Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

Params = dict[str, Any] | tuple[Any, ...]

# SQLite compiles with named parameters (``:name``) so both drivers take the same dict;
# psycopg's dialect already uses ``%(name)s``. The hot inserts bind tuples (``positional``).
_sqlite_named = sqlite.dialect(paramstyle="named")
_texts: dict[tuple[str, Any], str] = {}
_texts_lock = threading.Lock()


def _compile_dialect(dialect: Dialect) -> Dialect:
    return _sqlite_named if dialect.name == "sqlite" else dialect


def placeholder(dialect_name: str, name: str) -> str:
    return f":{name}" if dialect_name == "sqlite" else f"%({name})s"


def positional(dialect_name: str) -> str:
    """A positional parameter's placeholder (its value comes from a tuple)."""
    return "?" if dialect_name == "sqlite" else "%s"


@functools.lru_cache(maxsize=64)
def sqlite_time(value: datetime) -> str:
    """What SQLAlchemy's ``UtcDateTime`` stores on SQLite: naive UTC, microseconds. Cached: a
    checkout stamps its outbox rows and stock movements with one moment (equal datetimes are
    one instant, so they share one text whatever their time zone)."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


_postgres = postgresql.dialect()  # type: ignore[no-untyped-call]


def pg_type(column: Any) -> str:
    """The column's PostgreSQL type, as a batch's ``jsonb_to_recordset`` declares it."""
    return str(column.type.compile(dialect=_postgres)).split(" COLLATE ")[0]


@attrs.define
class _Part:
    kind: str  # "insert", "update", "check" or "bump"
    table: str
    columns: tuple[tuple[str, str], ...]  # (name, PostgreSQL type) of the rows' fields
    rows: list[dict[str, Any]]
    message: str = ""  # for an update: the conflict reported when a row was not updated


class Batch:
    """PostgreSQL: a unit of work's writes at commit, sent as one data-modifying CTE.

    Each part becomes ``INSERT ... SELECT ... FROM jsonb_to_recordset(:rows)`` (or an
    ``UPDATE ... FROM`` it, counted with ``RETURNING``), so all of a commit's rows (documents,
    keys, outbox, stock movements) travel in one statement and are JSON-encoded once. Updates
    join only while there is at most one: several in one statement would lock their rows in no
    fixed order, so the store writes them one by one, in order, as before.
    """

    def __init__(self) -> None:
        self.parts: list[_Part] = []

    def insert(self, table: str, columns: Sequence[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
        self.parts.append(_Part("insert", table, tuple(columns), rows))

    def update(
        self, table: str, columns: Sequence[tuple[str, str]], row: dict[str, Any], message: str
    ) -> None:
        self.parts.append(_Part("update", table, tuple(columns), [row], message))

    def check(self, table: str, versions: list[dict[str, Any]], message: str) -> None:
        """Each ``{"id", "version"}`` must still be the stored version (documents served from
        the cache); counted like an update."""
        self.parts.append(_Part("check", table, (("id", "text"), ("version", "integer")), versions, message))

    def bump(self, table: str, ids: list[str]) -> None:
        """``version = version + 1`` for each row of ``ids`` (collection versions); not counted."""
        self.parts.append(_Part("bump", table, (("id", "text"),), [{"id": ident} for ident in ids]))

    def run(self, sql: RawSql) -> list[str]:
        """Executes the batch; returns the messages of updates and checks that did not match."""
        if not self.parts:
            return []
        parts, self.parts = self.parts, []
        text = sql.text(("batch", tuple((p.kind, p.table, p.columns) for p in parts)), lambda: _batch(parts))
        params = {f"b{i}": msgspec.json.encode(part.rows).decode() for i, part in enumerate(parts)}
        row = sql.execute(text, params).fetchone()
        counted = [part for part in parts if part.kind in ("update", "check")]
        return [part.message for part, count in zip(counted, row, strict=False) if count != len(part.rows)]


def _batch(parts: Sequence[_Part]) -> str:
    ctes, counts = [], []
    for i, part in enumerate(parts):
        names = [quote_pg(name) for name, _ in part.columns]
        record = ", ".join(f"{quote_pg(name)} {kind}" for name, kind in part.columns)
        source = f"jsonb_to_recordset(%(b{i})s::jsonb) AS r({record})"
        table = quote_pg(part.table)
        if part.kind == "insert":
            columns = ", ".join(names)
            ctes.append(f"w{i} AS (INSERT INTO {table} ({columns}) SELECT {columns} FROM {source})")
        elif part.kind == "bump":
            on = f'{table}."id" = r."id"'
            ctes.append(
                f'w{i} AS (UPDATE {table} SET "version" = {table}."version" + 1 FROM {source} WHERE {on})'
            )
        elif part.kind == "check":
            on = f'{table}."id" = r."id" AND {table}."version" = r."version"'
            ctes.append(f"w{i} AS (SELECT 1 FROM {table} JOIN {source} ON {on})")
            counts.append(f"(SELECT count(*) FROM w{i})")
        else:
            sets = ", ".join(f"{n} = r.{n}" for n in names if n not in ('"id"', '"where_version"'))
            where = f'{table}."id" = r."id" AND {table}."version" = r."where_version"'
            ctes.append(f"w{i} AS (UPDATE {table} SET {sets} FROM {source} WHERE {where} RETURNING 1)")
            counts.append(f"(SELECT count(*) FROM w{i})")
    return f"WITH {', '.join(ctes)} SELECT {', '.join(counts) or '1'}"


def quote_pg(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class RawSql:
    """The DBAPI cursor of one SQLAlchemy ``Connection``, for the length of its transaction.

    ``batch`` is set (PostgreSQL only) while the unit of work commits: writes then join it and
    go to the database in one statement just before COMMIT.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.name = self.dialect.name
        self.postgres = self.name == "postgresql"
        self._error: type[Exception] = self.dialect.loaded_dbapi.Error
        self._cursor: Any = None
        self.batch: Batch | None = None
        # Looked up once: a listener added while this transaction runs hears from the next one.
        listeners = connection.dispatch.before_cursor_execute
        self._announce = listeners if listeners else None

    def text(self, key: Any, build: Callable[[], Executable | str]) -> str:
        """The SQL text of one statement shape (built and compiled the first time it is seen)."""
        text = _texts.get((self.name, key))
        if text is None:
            built = build()
            if isinstance(built, str):
                text = built
            else:
                assert isinstance(built, ClauseElement)
                compiled = built.compile(dialect=_compile_dialect(self.dialect))
                fixed = {k: v for k, v in compiled.params.items() if v is not None}
                if fixed:  # a literal became a parameter whose value the text does not carry
                    raise ValueError(f"statement {key!r} has literal parameters {sorted(fixed)}")
                text = str(compiled)
            with _texts_lock:
                text = _texts.setdefault((self.name, key), text)
        return text

    def execute(self, text: str, params: Params | None = None) -> Any:
        """Runs ``text``; returns the cursor, positioned on its rows (tuples)."""
        cursor = self._cursor_for()
        if self._announce is not None:
            self._announce(self.connection, cursor, text, params, None, False)
        try:
            cursor.execute(text, params or {})
        except self._error as error:
            raise self._wrapped(error, text, params, cursor) from error
        return cursor

    def execute_many(self, text: str, rows: Sequence[Params]) -> Any:
        """One statement for many parameter sets (psycopg pipelines them: one round trip)."""
        cursor = self._cursor_for()
        if self._announce is not None:
            self._announce(self.connection, cursor, text, rows, None, True)
        try:
            cursor.executemany(text, rows)
        except self._error as error:
            raise self._wrapped(error, text, rows, cursor) from error
        return cursor

    def _wrapped(self, error: Exception, text: str, params: Any, cursor: Any) -> DBAPIError:
        """SQLAlchemy's exception for a driver error; a lost connection is invalidated, as
        SQLAlchemy does, so the pool does not hand it out again."""
        dbapi_connection = self.connection.connection.dbapi_connection
        disconnected = self.dialect.is_disconnect(cast(Any, error), dbapi_connection, cursor)
        if disconnected:
            self._cursor = None
            self.connection.invalidate(error)
        wrapped = DBAPIError.instance(
            text, params, error, self._error, connection_invalidated=disconnected, dialect=self.dialect
        )
        return cast(DBAPIError, wrapped)  # a driver error always becomes a DBAPIError

    def load_json(self, value: Any) -> Any:
        """psycopg decodes JSONB itself (with msgspec, set by the engine); SQLite returns text."""
        return msgspec.json.decode(value) if isinstance(value, str | bytes) else value

    def close(self) -> None:
        """Close the cursor while this thread still owns the connection. Left to the garbage
        collector, a SQLite cursor would be finalised by whichever thread collects it, possibly
        while another thread uses the pooled connection ("bad parameter or other API misuse")."""
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            cursor.close()

    def _cursor_for(self) -> Any:
        if self._cursor is None:
            self._cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        return self._cursor


def quote(dialect: Dialect, names: Iterable[str]) -> list[str]:
    preparer = dialect.identifier_preparer
    return [preparer.quote(name) for name in names]
