"""Run every benchmark and print its tables: ``.venv/bin/python -m bench [--quick]``."""

from __future__ import annotations

import argparse
import os
import platform
import time

from bench import checkout, http, instructions, pricing, wal_pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about 1 minute in all)")
    parser.add_argument(
        "--only", choices=("checkout", "http", "pricing", "instructions", "wal"), help="run one benchmark"
    )
    args = parser.parse_args(argv)
    print(f"# {platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores")
    started = time.monotonic()
    if args.only in (None, "checkout"):
        checkout.run(quick=args.quick)
    if args.only in (None, "http"):
        http.run(quick=args.quick)
    if args.only in (None, "pricing"):
        pricing.run(quick=args.quick)
    if args.only in (None, "wal"):
        wal_pages.run(warm_up=320 if args.quick else 1600)
    if args.only == "instructions" or (args.only is None and not args.quick):
        instructions.run()
    print(f"# done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
