"""The ``marketcore`` command: serve, db upgrade, create-operator, demo."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from marketcore.bootstrap import InvalidSettings, Settings, create_marketplace
from marketcore.bootstrap.database import migrate
from marketcore.bootstrap.demo import DemoAccounts, seed
from marketcore.domain.shared.errors import MarketcoreError

DEMO_DATABASE = "marketcore-demo.db"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="marketcore", description="The marketcore marketplace.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the HTTP API (settings from MARKETCORE_* variables)")
    _server_options(serve)
    serve.add_argument("--workers", type=int, default=1)

    db = commands.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade"])

    operator = commands.add_parser("create-operator", help="create a platform operator account")
    operator.add_argument("email")
    operator.add_argument("--password", required=True)
    operator.add_argument("--name", default="Operator")

    worker = commands.add_parser(
        "worker", help="do due work (order timers, payment checks, refunds) in a loop; run any number"
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")

    ledger = commands.add_parser("ledger", help="stock ledger")
    ledger.add_argument("action", choices=["check"])

    relay = commands.add_parser(
        "relay", help="publish outbox events to the broker (MARKETCORE_BROKER_URL) until stopped"
    )
    relay.add_argument("--once", action="store_true", help="publish everything pending, then exit")

    demo = commands.add_parser("demo", help="a fresh seeded marketplace on SQLite, served")
    demo.add_argument(
        "--database", default=DEMO_DATABASE, help=f"SQLite file, recreated (default {DEMO_DATABASE})"
    )
    demo.add_argument("--no-serve", action="store_true", help="seed and print the tour, then exit")
    _server_options(demo)

    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return _serve(args.host, args.port, args.workers)
        if args.command == "db":
            migrate(Settings.load())
            print("database is up to date")
            return 0
        if args.command == "worker":
            return _worker(once=args.once)
        if args.command == "ledger":
            return _ledger_check()
        if args.command == "relay":
            return _relay(once=args.once)
        if args.command == "create-operator":
            user = create_marketplace().identity.create_operator(args.email, args.password, args.name)
            print(f"operator {user.email} ({user.id})")
            return 0
        return _demo(Path(args.database), args.host, args.port, serve=not args.no_serve)
    except InvalidSettings as error:
        print(f"marketcore: invalid setting {error.detail}", file=sys.stderr)
        return 2
    except MarketcoreError as error:
        print(f"marketcore: {error.code}: {error.detail}", file=sys.stderr)
        return 1


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)


def _serve(host: str, port: int, workers: int) -> int:
    import uvicorn

    settings = Settings.load()  # fail fast, with the bad key named, before workers start
    migrate(settings)
    os.environ["MARKETCORE_MIGRATE_ON_START"] = "false"
    uvicorn.run(
        "marketcore.entrypoints.http.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
    )
    return 0


def _worker(*, once: bool) -> int:
    """Runs until SIGTERM or SIGINT, finishing the batch in hand first."""
    marketplace = create_marketplace()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    interval = marketplace.settings.worker_interval_seconds
    try:
        while not stop.is_set():
            report = marketplace.due_work.run_due_work()
            if report.total:
                print(report, flush=True)
            if once:
                break
            stop.wait(interval)
    finally:
        marketplace.close()
    return 0


def _ledger_check() -> int:
    marketplace = create_marketplace()
    try:
        report = marketplace.ledger.check()
    finally:
        marketplace.close()
    for mismatch in report.mismatches:
        print(f"{mismatch.sku_id}: {mismatch.problem}")
    print(f"{report.skus_checked} SKUs checked, {len(report.mismatches)} mismatches")
    return 0 if report.ok else 1


def _relay(*, once: bool) -> int:
    """Outbox -> broker until SIGTERM or SIGINT (the batch in hand is finished first)."""
    settings = Settings.load()
    if not settings.broker_url:
        print(
            "marketcore: relay needs a broker: set MARKETCORE_BROKER_URL "
            "(e.g. amqp://guest:guest@127.0.0.1:5672/%2F)",
            file=sys.stderr,
        )
        return 2
    marketplace = create_marketplace()
    try:
        if once:
            print(f"published {marketplace.relay.relay_all()} events", flush=True)
            return 0
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        print(f"relaying outbox to {settings.events_exchange}", flush=True)
        marketplace.relay.relay_forever(stop, settings.relay_interval_ms / 1000)
    finally:
        marketplace.close()
    return 0


def _demo(database: Path, host: str, port: int, *, serve: bool) -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"
    marketplace = create_marketplace(url, payment_gateways="sandbox,cod")
    accounts = seed(marketplace)
    print(tour(accounts, f"http://{host}:{port}/api/v1", url))
    if not serve:
        return 0
    import uvicorn

    from marketcore.entrypoints.http.app import create_app

    uvicorn.run(create_app(marketplace), host=host, port=port)
    return 0


def tour(accounts: DemoAccounts, base: str, url: str) -> str:
    first, second = accounts.sku_ids[0], accounts.sku_ids[3]
    token = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])'"
    field = "python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])'"
    return f"""
marketcore demo marketplace on {url}

  operator   {accounts.operator_email}
  merchants  {accounts.merchant_emails[0]}, {accounts.merchant_emails[1]}
  buyer      {accounts.buyer_email}
  password   {accounts.password} (all accounts)

A short tour (another terminal, while the server runs):

  API={base}
  curl -s "$API/products?sort=price_asc"
  curl -s "$API/products/{accounts.product_ids[0]}"
  TOKEN=$(curl -s -X POST $API/auth/login -H 'Content-Type: application/json' \\
      -d '{{"email": "{accounts.buyer_email}", "password": "{accounts.password}"}}' | {token})
  AUTH="Authorization: Bearer $TOKEN"
  curl -s -X POST $API/cart/items -H "$AUTH" -H 'Content-Type: application/json' -d '{{"sku_id": "{first}", "quantity": 1}}'
  curl -s -X POST $API/cart/items -H "$AUTH" -H 'Content-Type: application/json' -d '{{"sku_id": "{second}", "quantity": 2}}'
  curl -s $API/cart -H "$AUTH"
  curl -s -X POST $API/checkout/preview -H "$AUTH" -H 'Content-Type: application/json' \\
      -d '{{"address_id": "{accounts.address_id}"}}'
  CHECKOUT=$(curl -s -X POST $API/checkout -H "$AUTH" -H 'Content-Type: application/json' -H 'Idempotency-Key: tour-1' \\
      -d '{{"address_id": "{accounts.address_id}", "payment_method": "sandbox"}}' | {field} checkout_id)
  PAYMENT=$(curl -s -X POST $API/checkouts/$CHECKOUT/payments -H "$AUTH" -H 'Content-Type: application/json' \\
      -d '{{"gateway": "sandbox"}}' | {field} payment_id)
  curl -s -X POST $API/payments/$PAYMENT/sandbox-complete -H "$AUTH" -H 'Content-Type: application/json' \\
      -d '{{"outcome": "succeeded"}}'
  curl -s "$API/orders?status=awaiting_shipment" -H "$AUTH"

OpenAPI docs: {base.removesuffix("/api/v1")}/schema
"""


if __name__ == "__main__":
    raise SystemExit(main())
