"""Profile one checkout loop with pyinstrument, to see where marketcore's time goes.

    .venv/bin/python -m bench.hotspots [sqlite|postgresql] [--checkouts 300] [--html out.html]

Prints checkouts/s, wall vs CPU time per checkout (CPU close to wall means Python, not the
database, is the bottleneck) and pyinstrument's call tree. Needs the ``bench`` extra.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import Seeded, postgres_schema


def profile(url: str, checkouts: int, html: str | None) -> None:
    from pyinstrument import Profiler

    world = Seeded(url, 1)
    buyer, address_id = world.buyers[0]

    def once() -> None:
        world.market.checkout.checkout(
            buyer, address_id, "sandbox", world.items, idempotency_key=uuid.uuid4().hex
        )

    try:
        for _ in range(30):
            once()
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(checkouts):
            once()
        wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
        per = 1000 / checkouts
        print(f"unprofiled: {checkouts / wall:,.0f} checkouts/s; per checkout {wall * per:.2f} ms wall,")
        print(f"            {cpu * per:.2f} ms CPU in this thread")
        profiler = Profiler(interval=0.001)
        profiler.start()
        for _ in range(checkouts):
            once()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
        if html:
            Path(html).write_text(profiler.output_html(), encoding="utf-8")
    finally:
        world.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("backend", choices=("sqlite", "postgresql"), nargs="?", default="postgresql")
    parser.add_argument("--checkouts", type=int, default=300)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args(argv)
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="mc-hotspots-") as folder:
            profile(f"sqlite:///{Path(folder) / 'p.db'}", args.checkouts, args.html)
        return
    with postgres_schema() as url:
        if url is None:
            raise SystemExit("PostgreSQL is not reachable")
        profile(url, args.checkouts, args.html)


if __name__ == "__main__":
    main()
