"""Pooled PostgreSQL connections are pinged only after sitting idle, and one found dead by a
statement is dropped: either way the unit of work after a server-side disconnect works."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.sqlalchemy.engine import PING_AFTER_IDLE_S

pytestmark = pytest.mark.postgres


@pytest.fixture
def market(fresh_postgres_url: str) -> Iterator[Marketplace]:
    m = create_marketplace(fresh_postgres_url)
    yield m
    m.close()


def _pooled_backend(market: Marketplace) -> int:
    """The server process behind the one connection left in the pool."""
    engine = market.container.engine()
    engine.dispose()
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(market: Marketplace, pid: int) -> None:
    url = market.container.engine().url.set(drivername="postgresql", query={})
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def _read(market: Marketplace) -> int:
    with market.container.uow()() as uow:
        assert uow.users.get("nobody") is None  # a statement on the DBAPI cursor (RawSql)
        return len(uow.stock.get_many(["none"]))


def test_an_idle_dead_connection_is_replaced_before_use(market: Marketplace) -> None:
    _kill(market, _pooled_backend(market))
    time.sleep(PING_AFTER_IDLE_S + 0.2)
    assert _read(market) == 0


def test_a_connection_found_dead_is_not_handed_out_again(market: Marketplace) -> None:
    _kill(market, _pooled_backend(market))
    with pytest.raises(DBAPIError) as failed:
        _read(market)
    assert failed.value.connection_invalidated
    assert _read(market) == 0
