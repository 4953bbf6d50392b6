"""Unit of work over a SQLAlchemy ``Engine``: one connection and one transaction per block."""

from __future__ import annotations

from functools import partial
from types import TracebackType

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from marketcore.adapters.counters import CounterStore
from marketcore.adapters.documents import DocumentStore
from marketcore.adapters.sqlalchemy.checkpoints import committed
from marketcore.adapters.sqlalchemy.counters import SqlAlchemyCounterStore
from marketcore.adapters.sqlalchemy.document_cache import cache_for
from marketcore.adapters.sqlalchemy.engine import connect, writer_gate
from marketcore.adapters.sqlalchemy.outbox import SqlAlchemyOutbox
from marketcore.adapters.sqlalchemy.raw import Batch, RawSql
from marketcore.adapters.sqlalchemy.stock import SqlAlchemyStockLedger
from marketcore.adapters.sqlalchemy.store import SqlAlchemyDocumentStore
from marketcore.adapters.sqlalchemy.write_groups import WriteGroup, current_group
from marketcore.adapters.unit_of_work import (
    AfterCommit,
    OnChange,
    StoreUnitOfWork,
    TouchedStockLedger,
    hand_on,
)
from marketcore.application.shared.ports import OutboxStore
from marketcore.domain.shared.errors import AlreadyExists, ConcurrencyConflict
from marketcore.domain.shared.events import DomainEvent

# PostgreSQL: serialization_failure, deadlock_detected. Both mean "retry", like a stale version.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class SqlAlchemyUnitOfWork(StoreUnitOfWork):
    def __init__(
        self,
        engine: Engine,
        *,
        after_commit: AfterCommit | None = None,
        on_change: OnChange | None = None,
        read_only: bool = False,
        cached: bool = False,
    ) -> None:
        super().__init__(after_commit=after_commit, on_change=on_change)
        self.engine = engine
        self.read_only = read_only
        self.cached = cached and not read_only
        self._writer = None if read_only else writer_gate(engine)
        self._connection: Connection | None = None
        self._ledger: SqlAlchemyStockLedger | None = None
        self._sql: RawSql | None = None
        self._store: SqlAlchemyDocumentStore | None = None
        self._group: WriteGroup | None = None  # the write group it is a member of (SQLite)
        self._savepoint: str | None = None

    def _begin(self) -> tuple[DocumentStore, TouchedStockLedger, OutboxStore]:
        self._group = group = current_group(self.engine)
        if group is not None:  # a savepoint of the group's transaction, under its write lock
            name = group.savepoint_name()
            sql = RawSql(group.connection)
            try:
                sql.execute(f"SAVEPOINT {name}")
            except BaseException:
                sql.close()
                raise
            self._savepoint = name
            return self._bind(group.connection, sql)
        if self._writer is not None:
            self._writer.acquire()
        try:
            connection = connect(self.engine)
            if self.read_only:  # SQLite: a deferred BEGIN reads a WAL snapshot beside the writer
                connection = connection.execution_options(marketcore_read_only=True)
            try:
                connection.begin()
            except BaseException:
                connection.close()
                raise
        except BaseException:
            if self._writer is not None:
                self._writer.release()
            raise
        return self._bind(connection, RawSql(connection))

    def _bind(
        self, connection: Connection, sql: RawSql
    ) -> tuple[DocumentStore, TouchedStockLedger, OutboxStore]:
        self._connection = connection
        self._sql = sql
        self._ledger = SqlAlchemyStockLedger(connection, sql)
        # Only a writer's reads can be served from the cache: its commit checks them (see Batch;
        # on SQLite, ``verify_served`` under the write lock that BEGIN IMMEDIATE took).
        cache = cache_for(self.engine)
        served = cache if self.cached else None
        self._store = SqlAlchemyDocumentStore(connection, sql, served, evicts=cache)
        return self._store, self._ledger, SqlAlchemyOutbox(connection, sql)

    def commit(self) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot commit")
        if self._sql is not None and self._sql.postgres:
            self._sql.batch = Batch()  # the commit's writes go in one statement (see Batch)
        store = self._store
        try:
            super().commit()
        except DBAPIError as error:
            if store is not None:
                store.evict_served()
            if getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
                raise ConcurrencyConflict("the transaction lost a race; retry it") from error
            raise
        except BaseException:
            if store is not None:
                store.evict_served()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """A deadlock or serialization failure inside the block is a lost race too, not a crash.
        A block that failed forgets the cached documents it used: its error may stem from one."""
        if exc is not None and self._store is not None:
            self._store.evict_served()
        super().__exit__(exc_type, exc, tb)
        if isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
            raise ConcurrencyConflict("the transaction lost a race; retry it") from exc

    @staticmethod
    def _run_batch(sql: RawSql, batch: Batch) -> None:
        try:
            conflicts = batch.run(sql)
        except IntegrityError as error:
            raise AlreadyExists(f"an id or unique key is already taken: {error.orig}") from error
        if conflicts:
            raise ConcurrencyConflict(conflicts[0])

    def _counters(self) -> CounterStore:
        assert self._connection is not None
        return SqlAlchemyCounterStore(self._connection)

    def _end(self, *, commit: bool) -> None:
        connection, self._connection = self._connection, None
        ledger, self._ledger = self._ledger, None
        sql, self._sql = self._sql, None
        store, self._store = self._store, None
        if connection is None:
            return
        if self._savepoint is not None:
            assert sql is not None
            self._end_member(commit, sql, ledger, store)
            return
        try:
            if commit:
                if ledger is not None:
                    ledger.flush()
                if sql is not None and sql.batch is not None:
                    if store is not None:
                        store.check_served(sql.batch)
                    self._run_batch(sql, sql.batch)
                elif store is not None:
                    store.verify_served()
                connection.commit()
            else:
                connection.rollback()
        finally:
            try:
                if sql is not None:
                    sql.close()
            finally:
                connection.close()
                if self._writer is not None:
                    self._writer.release()
        if commit and self._writer is not None:
            committed(self.engine)

    def _end_member(
        self,
        commit: bool,
        sql: RawSql,
        ledger: SqlAlchemyStockLedger | None,
        store: SqlAlchemyDocumentStore | None,
    ) -> None:
        """Release the savepoint, or roll back to it: a member that fails, even while it
        commits, leaves nothing of its own in the group's transaction."""
        name, self._savepoint = self._savepoint, None
        group = self._group
        assert name is not None and group is not None
        try:
            if commit:
                try:
                    if ledger is not None:
                        ledger.flush()
                    if store is not None:  # the group holds the write lock: as good as at COMMIT
                        store.verify_served(group.verified)
                    sql.execute(f"RELEASE SAVEPOINT {name}")
                except BaseException:
                    self._roll_back_to(sql, name)
                    raise
                if store is not None:
                    group.forget(store.written, store.bumped)
                return
            self._roll_back_to(sql, name)
        finally:
            sql.close()

    @staticmethod
    def _roll_back_to(sql: RawSql, name: str) -> None:
        sql.execute(f"ROLLBACK TO SAVEPOINT {name}")
        sql.execute(f"RELEASE SAVEPOINT {name}")

    def _hand_on(self, changed: frozenset[str], events: list[DomainEvent]) -> None:
        """A group member's are handed on once the group's transaction commits (by a partial
        that holds no reference to this unit of work: its documents can go meanwhile)."""
        if self._group is None:
            super()._hand_on(changed, events)
        else:
            self._group.after_commit.append(
                partial(hand_on, self._on_change, self._after_commit, changed, events)
            )
