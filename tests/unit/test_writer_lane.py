"""The HTTP layer's writer lane: its own threads, first come first served, the caller's context."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

import pytest

from marketcore.entrypoints.http.writer_lane import WriterLane

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


def test_calls_run_on_the_lane_threads_in_the_order_they_came() -> None:
    lane = WriterLane(1)
    ran: list[tuple[int, str]] = []

    def write(n: int) -> int:
        time.sleep(0.002 if n == 0 else 0)  # the first is slowest: the others still wait for it
        ran.append((n, threading.current_thread().name))
        return n * 10

    async def main() -> list[int]:
        return await asyncio.gather(*(lane.run(write, n) for n in range(5)))

    try:
        assert asyncio.run(main()) == [0, 10, 20, 30, 40]
    finally:
        lane.close()
    assert [n for n, _ in ran] == [0, 1, 2, 3, 4]
    assert all(name.startswith("marketcore-writer") for _, name in ran)


def test_a_call_sees_the_callers_context_and_its_error_reaches_the_caller() -> None:
    lane = WriterLane(2)

    def read_context() -> str:
        return request_id.get()

    def fail() -> None:
        raise LookupError("gone")

    async def main() -> str:
        request_id.set("r-1")
        with pytest.raises(LookupError, match="gone"):
            await lane.run(fail)
        return await lane.run(read_context)

    try:
        assert asyncio.run(main()) == "r-1"
    finally:
        lane.close()
