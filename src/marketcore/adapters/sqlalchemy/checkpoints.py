"""SQLite WAL checkpoints, on a thread of their own.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold, under the
writer lock, so it is off (``engine._on_connect``). Instead every ``CHECKPOINT_EVERY``-th
commit asks this process's checkpointer thread for a checkpoint. It used to run in the
committing thread after the commit, but a checkpoint syncs the files twice: the writer lane's
one thread then sat in ``fdatasync`` while checkouts queued behind it (HTTP checkout p99 40 ms
with it, 24 ms with checkpoints off, docs/performance.md).

The thread first copies pages back beside the writers (passive: it never waits for them), then
once more holding the writer gate, which copies only what was committed meanwhile. The WAL is
reused from its start only after a checkpoint that left no frame behind, so without the second
pass, under steady writes, it would grow without end. The last connection to close still
checkpoints, as SQLite always does.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import weakref

from sqlalchemy import Engine

from marketcore.adapters.sqlalchemy.engine import is_sqlite_file, writer_gate

# Units of work committed between WAL checkpoints. A checkout adds about 10 pages to the WAL in a
# write group and 40 alone: 4,000 to 16,000 pages (16-64 MB) between checkpoints. A checkpoint
# copies each page once however often it was rewritten, so fewer, larger ones cost less: at 400,
# not 100, the checkpointer's CPU per HTTP checkout fell from 0.05 ms to 0.03 (docs/performance.md).
CHECKPOINT_EVERY = 400

logger = logging.getLogger(__name__)

_commits: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()
_counting = threading.Lock()
_due: queue.SimpleQueue[weakref.ref[Engine]] = queue.SimpleQueue()
_started = threading.Lock()
_thread: threading.Thread | None = None


def committed(engine: Engine, units: int = 1) -> None:
    """Counts the units of work a commit to a SQLite file stored (a write group's are many): every
    ``CHECKPOINT_EVERY`` of them ask for a checkpoint, so the WAL holds about as many pages
    between checkpoints however the writes were grouped."""
    if not is_sqlite_file(engine):
        return
    with _counting:
        count = _commits.get(engine, 0) + units
        due = count >= CHECKPOINT_EVERY
        _commits[engine] = 0 if due else count
    if due:
        _checkpointer()
        _due.put(weakref.ref(engine))


def checkpoint(engine: Engine) -> None:
    """One passive checkpoint, on a connection of its own (no BEGIN: writers go on meanwhile)."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            cursor.close()  # here, not in whichever thread collects it (see RawSql.close)
    finally:
        connection.close()


def _checkpointer() -> None:
    global _thread
    if _thread is not None:
        return
    with _started:
        if _thread is None:
            _thread = threading.Thread(target=_run, name="marketcore-checkpoints", daemon=True)
            _thread.start()


def _run() -> None:
    while True:
        engine = _due.get()()
        if engine is None:  # disposed of and collected meanwhile
            continue
        try:
            checkpoint(engine)
            gate = writer_gate(engine)
            gate.acquire()
            try:
                checkpoint(engine)
            finally:
                gate.release()
        except Exception as error:  # the next one catches up; a checkpoint loses nothing
            logger.warning("WAL checkpoint of %s failed: %s", engine.url, error)
        del engine


def _after_fork() -> None:
    """A forked child has no checkpointer thread: it starts its own when first needed."""
    global _thread, _due
    _thread = None
    _due = queue.SimpleQueue()


os.register_at_fork(after_in_child=_after_fork)
