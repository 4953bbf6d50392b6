"""Migrations build exactly the schema ``tables.metadata`` describes, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from marketcore.adapters.sqlalchemy.engine import create_engine_for
from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.adapters.sqlalchemy.tables import metadata
from marketcore.testing.storage import CONTRACT_SPECS

# The contract suites add their own tables to the shared PostgreSQL test schema.
_TEST_TABLES = {spec.kind for spec in CONTRACT_SPECS}


def _include(name: str | None, type_: str, parent_names: object) -> bool:
    return not (type_ == "table" and name in _TEST_TABLES)


def _assert_no_drift(url: str) -> None:
    upgrade(url)
    upgrade(url)  # idempotent
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": _include}
            )
            assert compare_metadata(context, metadata) == []
            assert set(metadata.tables) <= set(inspect(connection).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_schema_matches_metadata(tmp_path: Path) -> None:
    _assert_no_drift(f"sqlite:///{tmp_path / 'schema.db'}")


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'wal.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_schema_matches_metadata(postgres_url: str) -> None:
    _assert_no_drift(postgres_url)
