"""Checkouts per second: ``marketplace.checkout.checkout(...)`` against a hand-written baseline.

The order: 3 lines from 2 shops, a 满减 active in each shop, paid by the sandbox gateway, with an
Idempotency-Key. Each worker thread is its own buyer; stock is plentiful, so no checkout fails.

The baseline writes the same rows marketcore writes (3 conditional stock UPDATEs, 3 movements,
the checkout, 2 orders, their 3 unique keys and the risk record) in one transaction with as few
round trips as the driver allows: psycopg pipeline mode on PostgreSQL, one ``sqlite3`` connection
per thread on SQLite. It reads nothing (prices, promotions, the risk checks are taken as known),
so it is the upper bound of what any implementation could do on this machine.

    .venv/bin/python -m bench.checkout [--quick] [--workers 1,4,16] [--seconds 8] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Seeded, postgres_schema, print_table, psycopg_kwargs, run_processes, run_threads
from marketcore.adapters.repositories import CHECKOUTS, ORDERS
from marketcore.application.ordering.checkout import CheckoutResult, order_number
from marketcore.application.shared.ids import new_id

WORKERS = (1, 4, 16)
ROUNDS = 4


class OutOfStock(Exception):
    pass


class Templates:
    """Document bodies of a real marketcore checkout, re-keyed for each baseline checkout."""

    def __init__(self, result: CheckoutResult, skus: list[tuple[str, int]]) -> None:
        self.checkout = json.loads(CHECKOUTS.encode(result.checkout))
        self.orders = [(o.shop_id, json.loads(ORDERS.encode(o))) for o in result.orders]
        self.skus = sorted(skus)

    def build(self, buyer_id: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        checkout_id = new_id()
        orders = []
        for shop_id, template in self.orders:
            order_id = new_id()
            number = order_number(now)
            lines = [{**line, "id": new_id()} for line in template["lines"]]
            body = {**template, "id": order_id, "checkout_id": checkout_id, "number": number}
            body["buyer_id"], body["lines"] = buyer_id, lines
            orders.append((order_id, json.dumps(body), shop_id, number))
        key = f"bench-{uuid.uuid4().hex}"
        checkout = {**self.checkout, "id": checkout_id, "buyer_id": buyer_id, "idempotency_key": key}
        checkout["order_ids"] = [o[0] for o in orders]
        risk_id = new_id()
        risk = {"at": now.isoformat(), "kind": "checkout", "rule_codes": [], "user_id": buyer_id}
        risk |= {"verdict": 0, "id": risk_id}
        keys = [(f"idempotency:{buyer_id}:{key}", "checkouts", checkout_id)]
        keys += [(f"order-number:{number}", "orders", order_id) for order_id, _, _, number in orders]
        return {
            "now": now,
            "checkout": (checkout_id, json.dumps(checkout), buyer_id),
            "orders": orders,
            "keys": keys,
            "risk": (risk_id, json.dumps(risk), buyer_id, int(now.timestamp() * 1000)),
            "reference": f"checkout:{uuid.uuid4().hex[:16]}",
        }


def _rows(n: int, row: str) -> str:
    return ", ".join([row] * n)


class PostgresBaseline:
    RESERVE = (
        "UPDATE stock_levels SET reserved = reserved + %s, version = version + 1"
        " WHERE sku_id = %s AND on_hand - reserved >= %s"
    )
    KEYS = "INSERT INTO document_keys (key, kind, doc_id) VALUES "
    CHECKOUT = "INSERT INTO checkouts (id, version, data, buyer_id) VALUES (%s, 1, %s::jsonb, %s)"
    ORDERS = "INSERT INTO orders (id, version, data, buyer_id, shop_id, checkout_id, status) VALUES "
    ORDER_ROW = "(%s, 1, %s::jsonb, %s, %s, %s, 'pending_payment')"
    MOVEMENTS = (
        "INSERT INTO stock_movements (id, sku_id, kind, on_hand_delta, reserved_delta, reason, reference, at)"
        " VALUES "
    )
    MOVEMENT_ROW = "(%s, %s, 'reserve', 0, %s, '', %s, %s)"
    RISK = (
        "INSERT INTO risk_records (id, version, data, user_id, kind, at)"
        " VALUES (%s, 1, %s::jsonb, %s, 'checkout', %s)"
    )

    def __init__(self, url: str, templates: Templates, buyer_id: str) -> None:
        import psycopg

        self.connection = psycopg.connect(**psycopg_kwargs(url))  # type: ignore[arg-type]
        self.templates = templates
        self.buyer_id = buyer_id

    def __call__(self) -> None:
        d = self.templates.build(self.buyer_id)
        skus = self.templates.skus
        conn = self.connection
        with conn.pipeline() as pipeline, conn.transaction():
            reserved = [conn.execute(self.RESERVE, (q, sku, q)) for sku, q in skus]
            conn.execute(
                self.MOVEMENTS + _rows(len(skus), self.MOVEMENT_ROW),
                [v for sku, q in skus for v in (new_id(), sku, q, d["reference"], d["now"])],
            )
            conn.execute(self.CHECKOUT, d["checkout"])
            checkout_id = d["checkout"][0]
            conn.execute(
                self.ORDERS + _rows(len(d["orders"]), self.ORDER_ROW),
                [
                    v
                    for oid, body, shop, _ in d["orders"]
                    for v in (oid, body, self.buyer_id, shop, checkout_id)
                ],
            )
            conn.execute(self.KEYS + _rows(len(d["keys"]), "(%s, %s, %s)"), [v for k in d["keys"] for v in k])
            conn.execute(self.RISK, d["risk"])
            pipeline.sync()
            if any(cursor.rowcount != 1 for cursor in reserved):
                raise OutOfStock()

    def close(self) -> None:
        self.connection.close()


class SqliteBaseline:
    def __init__(self, path: str, templates: Templates, buyer_id: str) -> None:
        self.connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.templates = templates
        self.buyer_id = buyer_id

    def __call__(self) -> None:
        d = self.templates.build(self.buyer_id)
        at = d["now"].replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sku, q in self.templates.skus:
                cursor = conn.execute(
                    "UPDATE stock_levels SET reserved = reserved + ?, version = version + 1"
                    " WHERE sku_id = ? AND on_hand - reserved >= ?",
                    (q, sku, q),
                )
                if cursor.rowcount != 1:
                    raise OutOfStock()
            conn.executemany(
                "INSERT INTO stock_movements (id, sku_id, kind, on_hand_delta, reserved_delta, reason,"
                " reference, at) VALUES (?, ?, 'reserve', 0, ?, '', ?, ?)",
                [(new_id(), sku, q, d["reference"], at) for sku, q in self.templates.skus],
            )
            conn.execute(
                "INSERT INTO checkouts (id, version, data, buyer_id) VALUES (?, 1, ?, ?)", d["checkout"]
            )
            conn.executemany(
                "INSERT INTO orders (id, version, data, buyer_id, shop_id, checkout_id, status)"
                " VALUES (?, 1, ?, ?, ?, ?, 'pending_payment')",
                [(oid, body, self.buyer_id, shop, d["checkout"][0]) for oid, body, shop, _ in d["orders"]],
            )
            conn.executemany("INSERT INTO document_keys (key, kind, doc_id) VALUES (?, ?, ?)", d["keys"])
            conn.execute(
                "INSERT INTO risk_records (id, version, data, user_id, kind, at)"
                " VALUES (?, 1, ?, ?, 'checkout', ?)",
                d["risk"],
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


def _marketcore_worker(world: Seeded) -> Callable[[int], Callable[[], None]]:
    def make(index: int) -> Callable[[], None]:
        buyer, address_id = world.buyers[index]

        def call() -> None:
            world.market.checkout.checkout(
                buyer, address_id, "sandbox", world.items, idempotency_key=uuid.uuid4().hex
            )

        return call

    return make


def _baseline_worker(
    world: Seeded, templates: Templates, open_baseline: Callable[[Templates, str], Any], opened: list[Any]
) -> Callable[[int], Callable[[], None]]:
    def make(index: int) -> Callable[[], None]:
        # Buyer ids of its own: its risk records must not lengthen marketcore's velocity counts,
        # which read every record of the buyer in the last hour (the baseline reads nothing).
        baseline = open_baseline(templates, f"baseline-buyer-{index}")
        opened.append(baseline)
        return baseline  # type: ignore[no-any-return]

    return make


def bench_backend(
    name: str,
    url: str,
    open_baseline: Callable[[Templates, str], Any],
    workers: tuple[int, ...],
    seconds: float,
    processes: int = 1,
    rounds: int = 1,
) -> list[list[object]]:
    """Each side runs ``seconds`` per cell, split into ``rounds`` alternating runs."""
    world = Seeded(url, max(workers))
    try:
        buyer, address_id = world.buyers[0]
        first = world.market.checkout.checkout(
            buyer, address_id, "sandbox", world.items, idempotency_key="warm"
        )
        templates = Templates(first, [(i.sku_id, i.quantity) for i in world.items])
        rows: list[list[object]] = []
        engine = world.market.container.engine()

        per_run = seconds / rounds

        def run(n: int, make: Callable[[int], Callable[[], None]]) -> tuple[int, int]:
            if processes == 1:
                return run_threads(n, make, per_run)
            return run_processes(n, min(processes, n), make, per_run, lambda: engine.dispose(close=False))

        for n in workers:
            # Alternating short runs, so a machine that speeds up or slows down during the cell
            # (a shared host's does, by a third) weighs on both sides alike.
            ours = theirs = failed = baseline_failed = 0
            for _ in range(rounds):
                done, fails = run(n, _marketcore_worker(world))
                ours, failed = ours + done, failed + fails
                opened: list[Any] = []
                done, fails = run(n, _baseline_worker(world, templates, open_baseline, opened))
                theirs, baseline_failed = theirs + done, baseline_failed + fails
                for baseline in opened:
                    baseline.close()
            mc, base = ours / seconds, theirs / seconds
            rows.append([name, n, f"{mc:,.0f}", f"{base:,.0f}", f"{mc / base:.0%}" if base else "-"])
            if failed or baseline_failed:
                rows[-1].append(f"failures: marketcore {failed}, baseline {baseline_failed}")
            print(f"# {name} x{n}: marketcore {mc:,.0f}/s, baseline {base:,.0f}/s", flush=True)
        return rows
    finally:
        world.close()


def run(
    *,
    quick: bool = False,
    workers: tuple[int, ...] = WORKERS,
    seconds: float | None = None,
    processes: int = 1,
    rounds: int = ROUNDS,
) -> None:
    seconds = seconds or (2.0 if quick else 8.0)
    spread = f"threads over {processes} processes" if processes > 1 else "threads in one process"
    print(
        f"## Checkouts per second ({seconds:g} s per side and cell in {rounds} alternating runs;"
        f" 3 lines, 2 shops, 满减 active; {spread})\n",
        flush=True,
    )
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="mc-bench-") as folder:
        path = str(Path(folder) / "bench.db")
        rows += bench_backend(
            "sqlite",
            f"sqlite:///{path}",
            lambda t, b: SqliteBaseline(path, t, b),
            workers,
            seconds,
            processes,
            rounds,
        )
    with postgres_schema() as url:
        if url is not None:
            rows += bench_backend(
                "postgresql",
                url,
                lambda t, b: PostgresBaseline(url, t, b),
                workers,
                seconds,
                processes,
                rounds,
            )
    print()
    print_table(["backend", "workers", "marketcore /s", "baseline /s", "ratio"], [r[:5] for r in rows])
    for row in rows:
        if len(row) > 5:
            print(f"# {row[0]} x{row[1]}: {row[5]}")
    print()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 s per cell instead of 8 s")
    parser.add_argument(
        "--workers", default=",".join(map(str, WORKERS)), help="comma-separated thread counts"
    )
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument(
        "--processes", type=int, default=1, help="spread the threads over this many forked processes"
    )
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="alternating runs per side and cell, sharing its seconds"
    )
    args = parser.parse_args(argv)
    run(
        quick=args.quick,
        workers=tuple(int(w) for w in args.workers.split(",")),
        seconds=args.seconds,
        processes=args.processes,
        rounds=args.rounds,
    )


if __name__ == "__main__":
    main()
