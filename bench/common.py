"""What the benchmarks share: PostgreSQL schemas, a seeded marketplace, threads, tables."""

from __future__ import annotations

import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from argon2 import PasswordHasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from marketcore import create_marketplace
from marketcore.adapters.passwords.argon2 import Argon2PasswordHasher
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.testing.scenarios import Scenario, a_marketplace_with

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PLENTY = 10_000_000  # stock per SKU (the most a product may start with): no run exhausts it
NO_VELOCITY_LIMIT = 1_000_000  # the velocity rule would block a buyer after 30 checkouts an hour
# argon2id at its lowest cost: the benches seed hundreds of buyers (and the HTTP one logs them
# in) to measure checkouts, not password hashing.
QUICK_HASHER = Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def postgres_base_url() -> str:
    raw = os.environ.get("MARKETCORE_BENCH_POSTGRES_URL") or os.environ.get(
        "MARKETCORE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL
    )
    parsed = make_url(raw)
    if parsed.get_backend_name() in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A URL whose ``search_path`` is a fresh schema, dropped afterwards; None if unreachable."""
    base = postgres_base_url()
    schema = f"mc_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base).update_query_dict({"connect_timeout": "5"}))
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:
        admin.dispose()
        print(f"# PostgreSQL unreachable ({type(error).__name__}); its rows are skipped")
        yield None
        return
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def psycopg_kwargs(url: str | URL) -> dict[str, object]:
    """``psycopg.connect`` keyword arguments for a SQLAlchemy URL (host, port, user, options...)."""
    parsed = make_url(url)
    kwargs: dict[str, object] = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "dbname": parsed.database or "postgres",
    }
    if parsed.password:
        kwargs["password"] = parsed.password
    options = parsed.query.get("options")
    if options:
        kwargs["options"] = options if isinstance(options, str) else options[0]
    return kwargs


class Seeded:
    """The benchmark world: 2 shops with a 满减 each, 3 order lines across them, ``buyers`` buyers."""

    def __init__(self, database_url: str, buyers: int) -> None:
        self.market = create_marketplace(
            database_url, velocity_checkouts_per_hour=NO_VELOCITY_LIMIT, password_hasher=QUICK_HASHER
        )
        # Each shop: a 2-SKU product at 100.00 and 101.00; 满 200 减 30 fires on shop 0's two lines.
        self.scenario: Scenario = a_marketplace_with(
            self.market, shops=2, listed_skus=2, stock=PLENTY, full_reduction=(20_000, 3_000)
        )
        shops = self.scenario.shops
        self.items = [
            ItemRequest(shops[0].sku_ids[0], 1),
            ItemRequest(shops[0].sku_ids[1], 1),
            ItemRequest(shops[1].sku_ids[0], 1),
        ]
        self.product_id = shops[0].product_ids[0]
        self.buyers = [self.scenario.new_buyer(f"bench{n}") for n in range(buyers)]
        self.buyer_emails = [f"bench{n}@buyers.test" for n in range(buyers)]

    def close(self) -> None:
        self.market.close()


def run_threads(
    workers: int, make_worker: Callable[[int], Callable[[], None]], seconds: float
) -> tuple[int, int]:
    """Call each worker's function in a loop for ``seconds``; (completed calls, failed calls).

    Every thread builds its function first (connections, buyers), then all start together.
    """
    stop = threading.Event()
    start = threading.Barrier(workers + 1)
    done = [0] * workers
    failed = [0] * workers
    errors: list[BaseException] = []

    def loop(index: int) -> None:
        call = make_worker(index)
        start.wait()
        while not stop.is_set():
            try:
                call()
            except Exception as error:
                failed[index] += 1
                if len(errors) < 3:
                    errors.append(error)
            else:
                done[index] += 1

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(workers)]
    for thread in threads:
        thread.start()
    start.wait()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    for error in errors:
        print(f"#   error: {type(error).__name__}: {error}")
    return sum(done), sum(failed)


def run_processes(
    workers: int,
    processes: int,
    make_worker: Callable[[int], Callable[[], None]],
    seconds: float,
    after_fork: Callable[[], None] = lambda: None,
) -> tuple[int, int]:
    """``run_threads`` spread over ``processes`` forked processes (``workers`` threads in all), as
    a deployment runs several server processes; ``after_fork`` drops inherited connections."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    per_process = [workers // processes + (1 if p < workers % processes else 0) for p in range(processes)]
    offsets = [sum(per_process[:p]) for p in range(processes)]

    def child(offset: int, count: int) -> None:
        after_fork()
        results.put(run_threads(count, lambda index: make_worker(offset + index), seconds))

    children = [
        context.Process(target=child, args=(offset, count), daemon=True)
        for offset, count in zip(offsets, per_process, strict=True)
        if count
    ]
    for process in children:
        process.start()
    totals = [results.get(timeout=seconds + 120) for _ in children]
    for process in children:
        process.join()
    return sum(done for done, _ in totals), sum(failed for _, failed in totals)


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, so the output can be pasted into docs/performance.md."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")
