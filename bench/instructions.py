"""Instructions per checkout, counted by callgrind: a figure that does not drift with the machine.

Throughput on a shared machine moves by a quarter, or double that, from one minute to the next
(docs/performance.md), which hides a change of a few per cent. callgrind counts the instructions
the process executes instead: the same from run to run (within about 0.5 %) whatever else the
machine does. It runs the SQLite checkout the HTTP writer lane runs: 3 lines from 2 shops, in
write groups of 16, in process, on a copy of one seeded database; twice (``--small`` and
``--large`` checkouts), so start-up cancels out of the difference. About two minutes.

    .venv/bin/python -m bench.instructions [--small 32] [--large 352]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from bench.common import NO_VELOCITY_LIMIT, Seeded, print_table
from marketcore import create_marketplace
from marketcore.application.ordering.checkout import ItemRequest

GROUP = 16
BUYERS = 16


def seed(folder: Path) -> None:
    world = Seeded(f"sqlite:///{folder / 'seed.db'}", BUYERS)
    facts = {
        "buyers": [[actor.user_id, address] for actor, address in world.buyers],
        "items": [[item.sku_id, item.quantity] for item in world.items],
    }
    world.close()
    (folder / "seed.json").write_text(json.dumps(facts))


def checkouts(folder: Path, count: int) -> None:
    """``count`` checkouts on a copy of the seeded database (this runs under callgrind)."""
    with tempfile.TemporaryDirectory(prefix="mc-bench-instructions-") as work:
        database = Path(work) / "run.db"
        shutil.copy(folder / "seed.db", database)
        facts = json.loads((folder / "seed.json").read_text())
        market = create_marketplace(f"sqlite:///{database}", velocity_checkouts_per_hour=NO_VELOCITY_LIMIT)
        buyers = [(market.actor_for(user_id), address) for user_id, address in facts["buyers"]]
        items = [ItemRequest(sku_id, quantity) for sku_id, quantity in facts["items"]]
        done = 0
        while done < count:
            with market.write_group():
                for _ in range(min(GROUP, count - done)):
                    actor, address = buyers[done % len(buyers)]
                    key = uuid.UUID(int=done + 1).hex
                    market.checkout.checkout(actor, address, "sandbox", items, idempotency_key=key)
                    done += 1
        market.close()


def _instructions(folder: Path, count: int) -> int:
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        "--run",
        str(count),
        "--seed",
        str(folder),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    finished = subprocess.run(command, capture_output=True, text=True, env=env)
    found = re.search(r"Collected : (\d+)", finished.stderr)
    if finished.returncode or found is None:
        errors = "\n".join(line for line in finished.stderr.splitlines() if not line.startswith("=="))
        raise RuntimeError(f"{count} checkouts under callgrind failed:\n{errors[-2000:]}")
    return int(found.group(1))


def run(small: int = 32, large: int = 352) -> None:
    print(f"## Instructions per checkout (callgrind; SQLite, write groups of {GROUP}, in process)\n")
    if shutil.which("valgrind") is None:
        print("# valgrind is not installed: nothing measured")
        return
    with tempfile.TemporaryDirectory(prefix="mc-bench-instructions-") as folder:
        seed(Path(folder))
        counts = [_instructions(Path(folder), n) for n in (small, large)]
    per_checkout = (counts[1] - counts[0]) / (large - small)
    print_table(
        ["checkouts", "instructions", "per checkout"],
        [
            [f"{small:,}", f"{counts[0]:,}", ""],
            [f"{large:,}", f"{counts[1]:,}", f"{per_checkout / 1000:,.0f}k"],
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--small", type=int, default=32)
    parser.add_argument("--large", type=int, default=352)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # the measured child
    parser.add_argument("--seed", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run is not None:
        checkouts(args.seed, args.run)
    else:
        run(args.small, args.large)


if __name__ == "__main__":
    main()
