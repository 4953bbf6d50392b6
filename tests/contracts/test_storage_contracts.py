"""The storage contract suites on every backend: memory, SQLite file, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from marketcore.adapters.memory.store import MemoryDatabase
from marketcore.adapters.memory.unit_of_work import MemoryUnitOfWork
from marketcore.adapters.sqlalchemy.engine import create_engine_for
from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.adapters.sqlalchemy.tables import create_document_tables, metadata
from marketcore.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketcore.testing.storage import CONTRACT_SPECS, DocumentStoreContract, StockLedgerContract, UowFactory


@pytest.fixture(scope="session")
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = create_engine_for(postgres_url)
    create_document_tables(engine, CONTRACT_SPECS)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_postgres(postgres_engine: Engine) -> Engine:
    names = [*metadata.tables, *(spec.kind for spec in CONTRACT_SPECS)]
    with postgres_engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(names)}"))
    return postgres_engine


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'marketcore.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    create_document_tables(engine, CONTRACT_SPECS)
    yield engine
    engine.dispose()


class MemoryBackend:
    @pytest.fixture
    def uow_factory(self) -> UowFactory:
        database = MemoryDatabase()
        return lambda: MemoryUnitOfWork(database)


class SqliteBackend:
    serial_transactions = True

    @pytest.fixture
    def uow_factory(self, sqlite_engine: Engine) -> UowFactory:
        return lambda: SqlAlchemyUnitOfWork(sqlite_engine)

    @pytest.fixture
    def engine(self, sqlite_engine: Engine) -> Engine:
        return sqlite_engine


@pytest.mark.postgres
class PostgresBackend:
    @pytest.fixture
    def uow_factory(self, clean_postgres: Engine) -> UowFactory:
        return lambda: SqlAlchemyUnitOfWork(clean_postgres)

    @pytest.fixture
    def engine(self, clean_postgres: Engine) -> Engine:
        return clean_postgres


class TestMemoryDocuments(MemoryBackend, DocumentStoreContract):
    pass


class TestMemoryStock(MemoryBackend, StockLedgerContract):
    pass


class TestSqliteDocuments(SqliteBackend, DocumentStoreContract):
    pass


class TestSqliteStock(SqliteBackend, StockLedgerContract):
    pass


class TestPostgresDocuments(PostgresBackend, DocumentStoreContract):
    pass


class TestPostgresStock(PostgresBackend, StockLedgerContract):
    pass


class SqlSchemaChecks:
    """The database itself refuses impossible stock rows, whatever code writes them."""

    @pytest.mark.parametrize(
        "assignment", ["reserved = -1", "reserved = on_hand + 1", "on_hand = reserved - 1"]
    )
    def test_check_constraints_guard_stock_rows(self, engine: Engine, assignment: str) -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO stock_levels VALUES ('s1', 'shop', 5, 2, 0)"))
        with pytest.raises(IntegrityError), engine.begin() as connection:
            connection.execute(text(f"UPDATE stock_levels SET {assignment} WHERE sku_id = 's1'"))


class TestSqliteSchema(SqliteBackend, SqlSchemaChecks):
    pass


class TestPostgresSchema(PostgresBackend, SqlSchemaChecks):
    pass
