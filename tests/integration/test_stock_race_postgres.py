"""The last units of a SKU under a stampede: exactly as many holds succeed as there are units."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from marketcore.adapters.sqlalchemy.engine import create_engine_for
from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketcore.domain.inventory.stock import StockLevel

BUYERS = 20
UNITS = 5


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = create_engine_for(postgres_url, pool_size=BUYERS)
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE stock_levels, stock_movements"))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    upgrade(url)
    engine = create_engine_for(url, pool_size=BUYERS)
    yield engine
    engine.dispose()


def _stampede(engine: Engine) -> None:
    now = datetime.now(UTC)
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.stock.create("sku-hot", "shop-1", 100, now, "setup")
        uow.commit()
    with SqlAlchemyUnitOfWork(engine) as uow:
        assert uow.stock.reserve("sku-hot", 100 - UNITS, "earlier-orders", now)
        uow.commit()

    start = threading.Barrier(BUYERS)
    results: list[bool] = []
    errors: list[BaseException] = []

    def buy(buyer: int) -> None:
        try:
            start.wait()
            with SqlAlchemyUnitOfWork(engine) as uow:
                won = uow.stock.reserve("sku-hot", 1, f"order-{buyer}", datetime.now(UTC))
                uow.commit()
            results.append(won)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert results.count(True) == UNITS and len(results) == BUYERS
    with SqlAlchemyUnitOfWork(engine) as uow:
        level = uow.stock.get_many(["sku-hot"])["sku-hot"]
        moves = uow.stock.movements("sku-hot")
    assert level == StockLevel("sku-hot", "shop-1", 100, 100)
    assert sum(m.on_hand_delta for m in moves) == level.on_hand
    assert sum(m.reserved_delta for m in moves) == level.reserved
    assert len(moves) == 2 + UNITS


@pytest.mark.postgres
def test_last_units_race_on_postgres(postgres_engine: Engine) -> None:
    _stampede(postgres_engine)


def test_last_units_race_on_sqlite(sqlite_engine: Engine) -> None:
    _stampede(sqlite_engine)
