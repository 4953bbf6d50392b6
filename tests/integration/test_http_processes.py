"""The HTTP app as deployed: several uvicorn worker processes on one PostgreSQL, or one on a
SQLite file (whose checkouts the writer lane commits in write groups)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.testing.scenarios import PASSWORD, Scenario, a_marketplace_with

BUYERS = 50
REQUESTS = 500
UNITS = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=[pytest.param("postgresql", marks=pytest.mark.postgres), "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("fresh_postgres_url"))
    return f"sqlite:///{tmp_path / 'http.db'}"


@pytest.fixture
def seeded(database_url: str) -> Iterator[tuple[str, Marketplace, Scenario]]:
    market = create_marketplace(database_url)
    scenario = a_marketplace_with(market, shops=1, listed_skus=1, stock=UNITS)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: scenario.new_buyer(f"http{n}"), range(BUYERS)))
    yield database_url, market, scenario
    market.close()


@pytest.fixture
def server(seeded: tuple[str, Marketplace, Scenario]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    url, _, _ = seeded
    port = free_port()
    env = {
        **os.environ,
        "MARKETCORE_DATABASE_URL": url,
        "MARKETCORE_VELOCITY_CHECKOUTS_PER_HOUR": "100000",
        "MARKETCORE_DATABASE_POOL_SIZE": "5",
        "MARKETCORE_DATABASE_MAX_OVERFLOW": "10",
    }
    command = [
        sys.executable,
        "-m",
        "marketcore.entrypoints.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        "1" if url.startswith("sqlite") else "3",  # SQLite: one writer, one process
    ]
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail("the server did not become ready")
        time.sleep(0.2)
    yield base, process
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


async def sign_in(client: httpx.AsyncClient) -> list[tuple[str, str]]:
    """Each buyer's bearer header value and address id."""

    async def one(n: int) -> tuple[str, str]:
        login = await client.post("/auth/login", json={"email": f"http{n}@buyers.test", "password": PASSWORD})
        login.raise_for_status()
        bearer = f"Bearer {login.json()['access_token']}"
        addresses = await client.get("/me/addresses", headers={"Authorization": bearer})
        addresses.raise_for_status()
        body = addresses.json()
        return bearer, (body["items"] if isinstance(body, dict) else body)[0]["id"]

    return await asyncio.gather(*(one(n) for n in range(BUYERS)))


async def fire(
    client: httpx.AsyncClient, buyers: list[tuple[str, str]], sku_id: str, requests: int
) -> list[tuple[int, str | None]]:
    async def checkout(n: int) -> tuple[int, str | None]:
        bearer, address_id = buyers[n % BUYERS]
        body = {
            "address_id": address_id,
            "payment_method": "sandbox",
            "items": [{"sku_id": sku_id, "quantity": 1}],
        }
        # As a real client would: a dropped connection (a keep-alive the server was closing) is
        # retried with the same Idempotency-Key, which can never place the order twice.
        headers = {"Authorization": bearer, "Idempotency-Key": f"storm-{n}"}
        for _ in range(3):
            try:
                response = await client.post("/checkout", json=body, headers=headers)
                break
            except httpx.TransportError as error:
                failure = type(error).__name__
        else:
            return 0, failure
        return response.status_code, response.json().get("code") if response.status_code >= 400 else None

    return await asyncio.gather(*(checkout(n) for n in range(requests)))


def client_for(base: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=REQUESTS)
    return httpx.AsyncClient(base_url=f"{base}/api/v1", limits=limits, timeout=120)


def engine_of(market: Marketplace) -> Engine:
    engine = market.container.engine()
    assert engine is not None, "these tests run on a database"
    return engine


def count_orders(market: Marketplace) -> int:
    with engine_of(market).connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM orders")).scalar_one())


def orders_and_checkouts_agree(market: Marketplace) -> int:
    """Every checkout has all its orders and every order its checkout: nothing half-written."""
    with engine_of(market).connect() as connection:
        checkouts = {
            row.id: json.loads(row.data) if isinstance(row.data, str) else row.data
            for row in connection.execute(text("SELECT id, data FROM checkouts"))
        }
        orders = {
            row.id: row.checkout_id for row in connection.execute(text("SELECT id, checkout_id FROM orders"))
        }
    for checkout_id, data in checkouts.items():
        assert all(orders.get(order_id) == checkout_id for order_id in data["order_ids"]), checkout_id
    assert all(checkout_id in checkouts for checkout_id in orders.values())
    return len(orders)


def test_five_hundred_concurrent_checkouts_sell_exactly_the_stock(
    seeded: tuple[str, Marketplace, Scenario], server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    _, market, scenario = seeded
    base, _ = server

    async def run() -> list[tuple[int, str | None]]:
        async with client_for(base) as client:
            return await fire(client, await sign_in(client), scenario.shops[0].sku_ids[0], REQUESTS)

    outcomes = asyncio.run(run())
    statuses = sorted({status for status, _ in outcomes})
    assert statuses == [201, 409], outcomes
    assert sum(1 for status, _ in outcomes if status == 201) == UNITS
    assert {code for status, code in outcomes if status == 409} == {"insufficient_stock"}
    assert orders_and_checkouts_agree(market) == UNITS
    assert market.ledger.check().ok


def test_a_server_killed_mid_checkout_leaves_no_partial_order_and_its_holds_expire(
    seeded: tuple[str, Marketplace, Scenario], server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, market, scenario = seeded
    base, process = server

    async def storm_then_kill() -> None:
        async with client_for(base) as client:
            buyers = await sign_in(client)
            task = asyncio.create_task(fire(client, buyers, scenario.shops[0].sku_ids[0], 300))
            deadline = time.monotonic() + 60
            while count_orders(market) < 10 and time.monotonic() < deadline:  # checkouts are in flight
                await asyncio.sleep(0.05)
            os.killpg(process.pid, signal.SIGKILL)
            await task

    asyncio.run(storm_then_kill())
    process.wait(timeout=30)
    placed = orders_and_checkouts_agree(market)
    assert 0 < placed <= UNITS
    assert market.ledger.check().ok
    later = FrozenClock(market.container.clock().now() + timedelta(minutes=31))
    worker = create_marketplace(url, clock=later)
    try:
        assert worker.due_work.run_due_work().closed_unpaid == placed
        sku = scenario.shops[0].sku_ids[0]
        with worker.container.uow()() as uow:
            level = uow.stock.get_many([sku])[sku]
        assert (level.on_hand, level.reserved) == (UNITS, 0)
        assert worker.ledger.check().ok
    finally:
        worker.close()
