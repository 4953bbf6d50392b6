"""SQLite's automatic checkpoint is off (it would run inside a commit, under the writer lock);
the unit of work checkpoints every ``CHECKPOINT_EVERY`` commits instead, so the WAL stays small."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from marketcore import create_marketplace
from marketcore.adapters.sqlalchemy.checkpoints import CHECKPOINT_EVERY


def test_the_wal_is_checkpointed_by_the_committers(tmp_path: Path) -> None:
    market = create_marketplace(f"sqlite:///{tmp_path / 'wal.db'}")
    uow = market.container.uow()
    wal = tmp_path / "wal.db-wal"
    try:
        with uow() as u:
            u.stock.create("sku-1", "shop-1", 0, datetime.now(UTC), "setup")
            u.commit()
        sizes = []
        for round_ in range(8):
            for _ in range(CHECKPOINT_EVERY):
                with uow() as u:
                    u.stock.adjust("sku-1", 1, "count", f"r{round_}", datetime.now(UTC))
                    u.commit()
            sizes.append(wal.stat().st_size)
        with uow() as u:
            assert u.stock.get_many(["sku-1"])["sku-1"].on_hand == 8 * CHECKPOINT_EVERY
    finally:
        market.close()
    # Without checkpoints the WAL would grow by a round's pages every round; with them it is
    # reused from its start and stays near the size one round needs.
    assert sizes[-1] < 2 * sizes[0], sizes
