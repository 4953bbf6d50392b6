"""The writer lane: threads of their own for handlers whose work is one storage write.

A sync handler normally runs on the event loop's default pool. On SQLite only one transaction
writes at a time, so six pool threads each holding a checkout would wake one after the other,
take the interpreter and queue at the writer gate; queued on as many threads as the process
lets write at once, the writes run back to back instead (about 0.2 ms less CPU per checkout,
docs/performance.md). Only for handlers that call nothing outside the database: a slow
provider call would hold up every write queued behind it.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, ParamSpec, TypeVar

from litestar import Request

P = ParamSpec("P")
T = TypeVar("T")

LANE = "writer_lane"  # the app state key


class WriterLane:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="marketcore-writer")

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the lane, first come first served, in the caller's context."""
        call = partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def writer_lane(request: Request[Any, Any, Any]) -> WriterLane:
    lane: WriterLane = request.app.state[LANE]
    return lane
