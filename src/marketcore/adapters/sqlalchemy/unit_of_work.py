"""Unit of work over a SQLAlchemy ``Engine``: one connection and one transaction per block."""

from __future__ import annotations

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from marketcore.adapters.documents import DocumentStore
from marketcore.adapters.sqlalchemy.outbox import SqlAlchemyOutbox
from marketcore.adapters.sqlalchemy.stock import SqlAlchemyStockLedger
from marketcore.adapters.sqlalchemy.store import SqlAlchemyDocumentStore
from marketcore.adapters.unit_of_work import AfterCommit, StoreUnitOfWork
from marketcore.application.inventory.ports import StockLedger
from marketcore.application.shared.ports import OutboxStore
from marketcore.domain.shared.errors import ConcurrencyConflict

# PostgreSQL: serialization_failure, deadlock_detected. Both mean "retry", like a stale version.
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})


class SqlAlchemyUnitOfWork(StoreUnitOfWork):
    def __init__(self, engine: Engine, *, after_commit: AfterCommit | None = None) -> None:
        super().__init__(after_commit=after_commit)
        self.engine = engine
        self._connection: Connection | None = None

    def _begin(self) -> tuple[DocumentStore, StockLedger, OutboxStore]:
        connection = self.engine.connect()
        try:
            connection.begin()
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return (
            SqlAlchemyDocumentStore(connection),
            SqlAlchemyStockLedger(connection),
            SqlAlchemyOutbox(connection),
        )

    def commit(self) -> None:
        try:
            super().commit()
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES:
                raise ConcurrencyConflict("the transaction lost a race; retry it") from error
            raise

    def _end(self, *, commit: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if commit:
                connection.commit()
            else:
                connection.rollback()
        finally:
            connection.close()
