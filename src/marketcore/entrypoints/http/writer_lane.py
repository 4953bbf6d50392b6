"""The writer lane: threads of their own for handlers whose work is one storage write.

A sync handler normally runs on the event loop's default pool. On SQLite only one transaction
writes at a time, so six pool threads each holding a checkout would wake one after the other,
take the interpreter and queue at the writer gate; queued on as many threads as the process
lets write at once, the writes run back to back instead (about 0.2 ms less CPU per checkout,
docs/performance.md). Where the marketplace groups writes (a SQLite file), the lane's thread
also takes every call waiting when it is free, up to ``MAX_GROUP``, and runs them in one write
group: one transaction, one COMMIT (``Marketplace.write_group``). Each call still succeeds or
fails on its own; its caller hears back only once the group has committed.

Only for handlers that call nothing outside the database: a slow provider call would hold up
every write queued behind it.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from functools import partial
from typing import Any, ParamSpec, TypeVar

from litestar import Request

from marketcore.application.shared.ports import StorageUnavailable

P = ParamSpec("P")
T = TypeVar("T")

LANE = "writer_lane"  # the app state key
MAX_GROUP = 32  # calls per write group: bounds the wait of the first for the last


class _Call:
    def __init__(self, run: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.run = run
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()
        self.outcome: tuple[bool, Any] = (False, None)

    def settle(self) -> None:
        """On the caller's loop."""
        if self.future.cancelled():
            return
        ok, value = self.outcome
        if ok:
            self.future.set_result(value)
        else:
            self.future.set_exception(value)


class WriterLane:
    """``threads`` workers; with ``group`` each runs the calls waiting for it in one write group."""

    def __init__(self, threads: int, group: Callable[[], AbstractContextManager[None]] | None = None) -> None:
        self.threads = threads
        self._group = group
        self._queue: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._starting = threading.Lock()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the lane, first come first served, in the caller's context."""
        if not self._workers:
            self._start()
        call = _Call(partial(contextvars.copy_context().run, fn, *args, **kwargs), asyncio.get_running_loop())
        self._queue.put(call)
        result: T = await call.future
        return result

    def close(self) -> None:
        with self._starting:
            workers, self._workers = self._workers, []
        for _ in workers:
            self._queue.put(None)
        for worker in workers:
            worker.join()

    def _start(self) -> None:
        """The threads start with the first call, so an app built and never served leaves none."""
        with self._starting:
            if not self._workers:
                self._workers = [
                    threading.Thread(target=self._work, name=f"marketcore-writer-{i}", daemon=True)
                    for i in range(self.threads)
                ]
                for worker in self._workers:
                    worker.start()

    def _work(self) -> None:
        while (first := self._queue.get()) is not None:
            calls = [first]
            if self._group is not None:
                calls += self._waiting(MAX_GROUP - 1)
            self._run(calls)
            by_loop: dict[asyncio.AbstractEventLoop, list[_Call]] = {}
            for call in calls:
                by_loop.setdefault(call.loop, []).append(call)
            for loop, answered in by_loop.items():  # one wake-up per loop, not one per call
                with suppress(RuntimeError):  # the loop has closed: nobody waits for the answers
                    loop.call_soon_threadsafe(_settle, answered)

    def _waiting(self, most: int) -> list[_Call]:
        calls: list[_Call] = []
        while len(calls) < most:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                break
            if call is None:  # closing: leave the sentinel for this thread's next get
                self._queue.put(None)
                break
            calls.append(call)
        return calls

    def _run(self, calls: list[_Call]) -> None:
        try:
            if self._group is None:
                _run_each(calls)
            else:
                with self._group():
                    _run_each(calls)
        except Exception as error:  # the group's COMMIT failed: none of its writes is stored
            for call in calls:
                call.outcome = (False, _unstored(error))


def _settle(calls: list[_Call]) -> None:
    for call in calls:
        call.settle()


def _run_each(calls: list[_Call]) -> None:
    for call in calls:
        try:
            call.outcome = (True, call.run())
        except BaseException as error:  # handed to the caller, as an executor would
            call.outcome = (False, error)


def _unstored(error: Exception) -> StorageUnavailable:
    if isinstance(error, StorageUnavailable):
        return error
    failure = StorageUnavailable(f"the database did not commit: {type(error).__name__}")
    failure.__cause__ = error
    return failure


def writer_lane(request: Request[Any, Any, Any]) -> WriterLane:
    lane: WriterLane = request.app.state[LANE]
    return lane
