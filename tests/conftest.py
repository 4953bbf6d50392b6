"""Shared fixtures: a private PostgreSQL schema per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from marketcore.adapters.sqlalchemy.engine import create_engine_for, normalize_url
from marketcore.bootstrap import Marketplace

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh, uniquely named schema (via ``search_path``), dropped after the session.

    Unreachable PostgreSQL skips the test, except under ``CI=true`` where it fails.
    """
    base = normalize_url(os.environ.get("MARKETCORE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    schema = f"mc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(base.update_query_dict({"connect_timeout": "5"}), pool_size=1, max_overflow=0)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        admin.dispose()
        message = f"PostgreSQL unreachable at {base.render_as_string()}: {error}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """Like ``postgres_url`` but a schema of its own per test, for tests that seed whole marketplaces."""
    base = make_url(postgres_url)
    schema = f"mc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine_for(base.difference_update_query(["options"]), pool_size=1, max_overflow=0)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


FillOutbox = Callable[["Marketplace", int], list[str]]


@pytest.fixture
def fill_outbox() -> FillOutbox:
    """Writes ``count`` synthetic events straight to a marketplace's outbox; returns their ids."""
    from marketcore.application.shared.ids import new_id
    from marketcore.application.shared.ports import OutboxEntry

    def fill(market: Marketplace, count: int) -> list[str]:
        entries = [
            OutboxEntry(
                event_id=new_id(),
                name="Tick",
                aggregate_kind="Clock",
                aggregate_id="c",
                occurred_at=datetime(2026, 11, 11, tzinfo=UTC),
                payload={"n": n},
            )
            for n in range(count)
        ]
        with market.container.uow()() as uow:
            uow.outbox.append(entries)
            uow.commit()
        return [entry.event_id for entry in entries]

    return fill
