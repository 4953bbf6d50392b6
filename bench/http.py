"""HTTP throughput and latency: the marketcore API under uvicorn against a bare Litestar route.

Serves ``marketcore.entrypoints.http.app:app_from_env`` (SQLite file, seeded like
``bench.checkout``) and ``bench.bare:app_from_env`` with the same number of uvicorn workers,
then drives each for a fixed time with a small asyncio HTTP/1.1 keep-alive client (standard
library only; loopback only). Run as a module, never as a script (``bench/http.py`` would
shadow the standard library's ``http`` package):

    .venv/bin/python -m bench.http [--quick] [--connections 16] [--seconds 10] [--server-workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

from bench.bare import PAYLOAD_ENV
from bench.common import NO_VELOCITY_LIMIT, Seeded, percentile, print_table

HOST = "127.0.0.1"
# Each connection checks out as 32 buyers in turn. Every checkout counts its buyer's recent ones
# (the velocity rule, 30 an hour in production, lifted here): with one buyer per connection each
# would pile up hundreds in a run, and counting 600 costs 81 µs against 12 for 30.
BUYERS_PER_CONNECTION = 32


def split_cores(server_workers: int) -> tuple[set[int], set[int]]:
    """(the servers' cores, the load generator's): one core per uvicorn worker, the rest for the
    client, so "per core" means what it says and the two never share a core. With no core to
    spare (or no affinity support) both get every core."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(), set()
    if len(cores) <= server_workers:
        return set(cores), set(cores)
    return set(cores[:server_workers]), set(cores[server_workers:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """``uvicorn --factory TARGET`` in a child process, waited for until it answers."""

    def __init__(self, target: str, env: dict[str, str], workers: int, probe: str, cores: set[int]) -> None:
        self.port = _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                target,
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
            # Pinned before it starts: every thread it makes inherits the mask. (The bench has
            # no threads of its own here, so preexec_fn is safe.)
            preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}{probe}", timeout=2):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{target} did not start") from None
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


async def _connection(
    port: int, make_request, seconds: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    deadline = time.perf_counter() + seconds
    try:
        while (start := time.perf_counter()) < deadline:
            writer.write(make_request())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            status = int(head[9:12])
            if status >= 300:
                errors.append(status)
            latencies.append(time.perf_counter() - start)
    finally:
        writer.close()


async def _load(port: int, make_requests: list, seconds: float) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    errors: list[int] = []
    await asyncio.gather(*(_connection(port, make, seconds, latencies, errors) for make in make_requests))
    return latencies, errors


def load(
    port: int, make_requests: list, seconds: float, cores: set[int] | None = None
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, error responses) for one request factory per connection,
    sent from ``cores`` (default: wherever the scheduler puts it)."""
    if cores:
        everywhere = os.sched_getaffinity(0)
        os.sched_setaffinity(0, cores)
    try:
        latencies, errors = asyncio.run(_load(port, make_requests, seconds))
    finally:
        if cores:
            os.sched_setaffinity(0, everywhere)
    return (
        len(latencies) / seconds,
        percentile(latencies, 50) * 1000,
        percentile(latencies, 99) * 1000,
        len(errors),
    )


def _get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()


def _checkout_request(buyers: list[tuple[str, bytes]]):
    """One connection's checkouts, by each of its ``(token, body)`` buyers in turn."""
    turns = itertools.cycle(buyers)

    def make() -> bytes:
        token, body = next(turns)
        head = (
            f"POST /api/v1/checkout HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
            f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    return make


def _login(port: int, email: str) -> str:
    body = json.dumps({"email": email, "password": "correct-horse-battery"}).encode()
    request = urllib.request.Request(
        f"http://{HOST}:{port}/api/v1/auth/login", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["access_token"])


def run(
    *, quick: bool = False, connections: int = 16, seconds: float | None = None, server_workers: int = 1
) -> None:
    seconds = seconds or (2.0 if quick else 10.0)
    print(
        f"## HTTP ({seconds:g} s per row, {connections} keep-alive connections,"
        f" {server_workers} uvicorn worker(s), SQLite)\n",
        flush=True,
    )
    server_cores, client_cores = split_cores(server_workers)
    if server_cores != client_cores:
        print(f"# servers pinned to cores {sorted(server_cores)}, load generator to {sorted(client_cores)}\n")
    rows: list[list[object]] = []
    figures: dict[str, tuple[float, float, float, int]] = {}
    with tempfile.TemporaryDirectory(prefix="mc-bench-http-") as folder:
        database = f"sqlite:///{Path(folder) / 'http.db'}"
        world = Seeded(database, connections * BUYERS_PER_CONNECTION)
        product_id, items = (
            world.product_id,
            [{"sku_id": i.sku_id, "quantity": i.quantity} for i in world.items],
        )
        address_ids = [address for _, address in world.buyers]
        world.close()
        env = {
            "MARKETCORE_DATABASE_URL": database,
            "MARKETCORE_MIGRATE_ON_START": "false",
            "MARKETCORE_VELOCITY_CHECKOUTS_PER_HOUR": str(NO_VELOCITY_LIMIT),
        }
        detail_path = f"/api/v1/products/{product_id}"
        server = Server(
            "marketcore.entrypoints.http.app:app_from_env", env, server_workers, "/health", server_cores
        )
        try:
            with urllib.request.urlopen(f"http://{HOST}:{server.port}{detail_path}") as response:
                payload = response.read()
            figures["product"] = load(
                server.port, [lambda: _get(detail_path)] * connections, seconds, client_cores
            )
            buyers = [
                (
                    _login(server.port, email),
                    json.dumps({"address_id": a, "payment_method": "sandbox", "items": items}).encode(),
                )
                for email, a in zip(world.buyer_emails, address_ids, strict=True)
            ]
            checkout = [_checkout_request(buyers[n::connections]) for n in range(connections)]
            figures["checkout"] = load(server.port, checkout, seconds, client_cores)
        finally:
            server.stop()
        payload_file = Path(folder) / "payload.json"
        payload_file.write_bytes(payload)
        bare = Server(
            "bench.bare:app_from_env",
            {PAYLOAD_ENV: str(payload_file)},
            server_workers,
            "/bare/x",
            server_cores,
        )
        try:
            figures["bare"] = load(
                bare.port, [lambda: _get(f"/bare/{product_id}")] * connections, seconds, client_cores
            )
        finally:
            bare.stop()
    names = {
        "bare": f"GET bare Litestar route ({len(payload)} B)",
        "product": f"GET /api/v1/products/{{id}} ({len(payload)} B)",
        "checkout": "POST /api/v1/checkout (3 lines, 2 shops)",
    }
    for key in ("bare", "product", "checkout"):
        rps, p50, p99, errors = figures[key]
        rows.append(
            [names[key], f"{rps:,.0f}", f"{rps / server_workers:,.0f}", f"{p50:.1f}", f"{p99:.1f}", errors]
        )
    print_table(["request", "req/s", "req/s per worker", "p50 ms", "p99 ms", "errors"], rows)
    ratio = figures["product"][0] / figures["bare"][0]
    print(f"\n# product detail / bare route: {ratio:.0%} (target >= 50%)")
    per_core = figures["checkout"][0] / server_workers
    print(
        f"# checkout: {per_core:,.0f}/s per worker (target >= 1,000),"
        f" p99 {figures['checkout'][2]:.1f} ms (target < 50)\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 s per row instead of 10 s")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--server-workers", type=int, default=1, help="uvicorn workers for both apps")
    args = parser.parse_args(argv)
    run(
        quick=args.quick,
        connections=args.connections,
        seconds=args.seconds,
        server_workers=args.server_workers,
    )


if __name__ == "__main__":
    main()
