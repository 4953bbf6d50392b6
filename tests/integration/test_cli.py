"""The ``marketcore`` command as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from marketcore import create_marketplace
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.testing.scenarios import a_marketplace_with


def run(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MARKETCORE_DATABASE_URL": url}
    command = [sys.executable, "-m", "marketcore.entrypoints.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_ledger_check_passes_on_a_sound_ledger_and_fails_on_a_tampered_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    market = create_marketplace(url)
    s = a_marketplace_with(market, shops=1, stock=5)
    market.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 2)])
    ok = run(url, "ledger", "check")
    assert ok.returncode == 0, ok.stderr
    assert "2 SKUs checked, 0 mismatches" in ok.stdout
    with market.container.engine().begin() as connection:
        connection.execute(text("UPDATE stock_levels SET on_hand = on_hand + 1"))
    market.close()
    bad = run(url, "ledger", "check")
    assert bad.returncode == 1
    assert "on_hand 6 != movements 5" in bad.stdout


def test_worker_once_closes_what_is_due(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    market = create_marketplace(url)
    s = a_marketplace_with(market, shops=1, stock=5)
    market.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    market.close()
    assert "closed" not in run(url, "worker", "--once").stdout  # not due yet: 30 minutes to pay
    later = create_marketplace(url)
    with later.container.engine().begin() as connection:  # move the deadline into the past
        connection.execute(text("UPDATE orders SET due_at = 0"))
    later.close()
    done = run(url, "worker", "--once")
    assert done.returncode == 0, done.stderr
    assert "closed 1 unpaid" in done.stdout
