"""Engines for the two supported databases, configured so concurrent writers queue, not fail.

SQLite: WAL (readers never block the writer), a 30 s busy timeout, and ``BEGIN IMMEDIATE`` for
every transaction, so a transaction takes the write lock up front instead of failing with
"database is locked" when it tries to upgrade a read. Transactions are therefore serial; do not
nest two units of work on one SQLite file in the same thread.
PostgreSQL: psycopg 3, whatever scheme spelling the URL uses.
"""

from __future__ import annotations

import collections
import os
import threading
import time
import weakref
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import StaticPool

from marketcore.adapters.sqlalchemy.types import json_deserializer, json_serializer
from marketcore.application.shared.ports import StorageUnavailable

BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_S = 1.0
_IN_MEMORY = (None, "", ":memory:")  # SQLite database names with no file behind them


def normalize_url(url: str | URL) -> URL:
    """Rewrite ``postgres://`` and ``postgresql://`` (any driver) to ``postgresql+psycopg://``."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def default_writers() -> int:
    """Writing transactions a process runs at once on PostgreSQL unless configured: two per core.
    Python runs one thread at a time; with the database a sub-millisecond round trip away, two
    transactions per core keep the process and the server busy, and more threads in flight only
    queue for the interpreter at every round trip (measured in docs/performance.md)."""
    return 2 * (os.cpu_count() or 1)


class WriterGate:
    """At most ``size`` writing units of work of this process at once; the others wait here,
    holding no connection and no lock, and are let in first come, first served: a leaving
    writer hands its slot to the longest waiter, so a newcomer cannot barge past (as it can
    with ``threading.Semaphore``, which sent the p99 of HTTP checkouts to 350 ms). Reentrant per
    thread, so a writer that opens another unit of work inside its own never waits for itself."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free = size
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._depth = threading.local()

    def acquire(self) -> None:
        depth = getattr(self._depth, "n", 0)
        if depth == 0:
            with self._mutex:
                if self._free and not self._waiters:
                    self._free -= 1
                    waiter = None
                else:
                    waiter = threading.Lock()
                    waiter.acquire()
                    self._waiters.append(waiter)
            if waiter is not None:
                try:
                    waiter.acquire()  # released by the writer that hands this thread its slot
                except BaseException:  # interrupted (main thread): leave the queue, or the slot
                    with self._mutex:
                        handed = waiter not in self._waiters
                        if not handed:
                            self._waiters.remove(waiter)
                    if handed:
                        self._hand_over()
                    raise
        self._depth.n = depth + 1

    def _hand_over(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1

    def release(self) -> None:
        self._depth.n -= 1
        if self._depth.n == 0:
            self._hand_over()


_gates: weakref.WeakKeyDictionary[Engine, WriterGate] = weakref.WeakKeyDictionary()
_gates_guard = threading.Lock()


def writer_gate(engine: Engine) -> WriterGate:
    """The engine's gate: one writer at a time on SQLite (it has one write lock, and threads
    queueing here start the moment the previous writer ends instead of polling SQLite's busy
    timeout), ``writers`` on PostgreSQL (``create_engine_for``)."""
    with _gates_guard:
        gate = _gates.get(engine)
        if gate is None:
            size = 1 if engine.dialect.name == "sqlite" else default_writers()
            gate = _gates.setdefault(engine, WriterGate(size))
        return gate


def create_engine_for(
    url: str | URL, *, pool_size: int = 10, max_overflow: int = 20, writers: int = 0, echo: bool = False
) -> Engine:
    """``writers``: PostgreSQL writing transactions at once per process (0: ``default_writers``).

    Both pools hand out the connection used last. On SQLite its page cache is then current (the
    one writer at a time was most likely itself); round-robin, every writer started on a
    connection whose cache the other connections' commits had made stale (HTTP checkout: 2.90 ->
    2.68 ms CPU in the use case). On PostgreSQL the few busy connections stay the warm ones.
    """
    parsed = normalize_url(url)
    common: dict[str, Any] = {
        "echo": echo,
        "json_serializer": json_serializer,
        "json_deserializer": json_deserializer,
    }
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        engine = create_engine(
            parsed, pool_size=pool_size, max_overflow=max_overflow, pool_use_lifo=True, **common
        )
        _ping_when_idle(engine)
        with _gates_guard:
            _gates[engine] = WriterGate(writers or default_writers())
        return engine
    if backend == "sqlite":
        return _sqlite_engine(parsed, pool_size, max_overflow, common)
    raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")


def _ping_when_idle(engine: Engine) -> None:
    """Pre-ping a pooled connection only if it sat idle for ``PING_AFTER_IDLE_S``: SQLAlchemy's
    ``pool_pre_ping`` costs a round trip per transaction. A connection that dies while busy is
    invalidated by the statement that finds out (SQLAlchemy's own, or ``RawSql``'s)."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:  # the pool retries with a fresh connection
            raise DisconnectionError(str(error)) from error


def is_sqlite_file(engine: Engine) -> bool:
    """A SQLite database in a file: WAL, checkpoints, one writer. (In memory, there is one
    shared connection and no WAL.)"""
    return engine.dialect.name == "sqlite" and engine.url.database not in _IN_MEMORY


def connect(engine: Engine) -> Connection:
    """A connection, or ``StorageUnavailable`` when the server refuses one (down, or out of
    connections) or the pool has none to spare in time: a busy database is not a crash."""
    try:
        return engine.connect()
    except (OperationalError, PoolTimeout) as error:
        raise StorageUnavailable(f"the database is unavailable: {type(error).__name__}") from error


def _sqlite_engine(url: URL, pool_size: int, max_overflow: int, common: dict[str, Any]) -> Engine:
    in_memory = url.database in _IN_MEMORY
    connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    if in_memory:  # one shared connection, otherwise every connection sees its own empty database
        engine = create_engine(url, poolclass=StaticPool, connect_args=connect_args, **common)
    else:
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_use_lifo=True,
            connect_args=connect_args,
            **common,
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # No checkpoint inside a commit (it would run under the writer lock): a thread of
            # its own runs one every CHECKPOINT_EVERY units of work committed (checkpoints.py).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # A write group's savepoints keep their undo pages in a statement journal: in memory,
        # not in a temporary file written and read back for every member (write_groups.py).
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Writers take the write lock up front, so a transaction never fails half-way when it
        # first writes; read-only units of work read a snapshot and take no lock.
        deferred = connection.get_execution_options().get("marketcore_read_only", False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine
