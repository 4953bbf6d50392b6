"""Pages one write group of SQLite checkouts writes to the WAL, by table and index.

Every page a transaction dirties is written to the WAL at COMMIT (two write calls: frame header
and page) and copied again into the database at the next checkpoint, so the count is the I/O a
checkout costs, whatever the machine's speed. It comes from the WAL itself: 16 checkouts (3 lines,
2 shops) in one write group, after a warm-up, the frames of that last transaction mapped to their
b-trees with SQLite's ``dbstat`` table. A few seconds.

    .venv/bin/python -m bench.wal_pages [--warm-up 1600]
"""

from __future__ import annotations

import argparse
import sqlite3
import struct
import tempfile
import uuid
from collections import Counter
from contextlib import closing
from pathlib import Path

from bench.common import Seeded, print_table

GROUP = 16
BUYERS = 16
_WAL_HEADER, _FRAME_HEADER = 32, 24


def last_transaction_pages(wal: bytes) -> list[int]:
    """The page numbers of the WAL's last committed transaction (frames of this generation only:
    a reset WAL keeps older frames, with other salts, past the current ones)."""
    page_size = struct.unpack(">I", wal[8:12])[0]
    salts = wal[16:24]
    current: list[int] = []
    last: list[int] = []
    offset = _WAL_HEADER
    while offset + _FRAME_HEADER + page_size <= len(wal) and wal[offset + 8 : offset + 16] == salts:
        page, commit = struct.unpack(">II", wal[offset : offset + 8])
        current.append(page)
        if commit:  # a commit frame ends its transaction
            last, current = current, []
        offset += _FRAME_HEADER + page_size
    return last


def run(warm_up: int = 1600) -> None:
    print(f"## WAL pages per write group ({GROUP} SQLite checkouts, after {warm_up:,} more)\n")
    with tempfile.TemporaryDirectory(prefix="mc-bench-wal-") as folder:
        database = Path(folder) / "wal.db"
        world = Seeded(f"sqlite:///{database}", BUYERS)
        try:
            done = 0
            while done < warm_up + GROUP:
                if done == warm_up:  # an empty WAL: the next transaction writes from its start
                    with closing(sqlite3.connect(database)) as connection:
                        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                with world.market.write_group():
                    for _ in range(GROUP):
                        actor, address = world.buyers[done % BUYERS]
                        world.market.checkout.checkout(
                            actor, address, "sandbox", world.items, idempotency_key=uuid.uuid4().hex
                        )
                        done += 1
            pages = last_transaction_pages(Path(f"{database}-wal").read_bytes())
            with closing(sqlite3.connect(database)) as connection:
                try:
                    owners = dict(connection.execute("SELECT pageno, name FROM dbstat").fetchall())
                except sqlite3.OperationalError:  # SQLite built without dbstat: totals only
                    owners = {}
        finally:
            world.close()
    by_tree = Counter(owners.get(page, "?") for page in pages)
    rows = [[name, count] for name, count in by_tree.most_common()]
    print_table(["table or index", "pages"], [*rows, ["all", len(pages)]])
    print(f"\n# {len(pages) / GROUP:.1f} pages per checkout\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.wal_pages", description=__doc__)
    parser.add_argument("--warm-up", type=int, default=1600, help="checkouts before the one measured")
    args = parser.parse_args(argv)
    run(args.warm_up)


if __name__ == "__main__":
    main()
