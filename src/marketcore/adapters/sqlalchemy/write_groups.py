"""Group commit on SQLite: several units of work of one thread share one transaction.

SQLite has one writer, so writes run one after the other anyway; what each pays on its own is
its transaction: a pooled connection, BEGIN, and a COMMIT that appends every page it touched to
the WAL, two write calls per page (a checkout touches about forty, and the next one touches
mostly the same). Inside ``write_group(engine)`` every unit of work the thread opens on that
engine is a savepoint of the group's one transaction instead: its commit releases the
savepoint, its rollback rolls back to it, and what it hands on once committed (events to
in-process subscribers, the ids it wrote to caches) waits for the group's COMMIT. A unit of work
that fails therefore loses only its own writes; if the COMMIT fails, all of them are lost, and
``write_group`` raises, so the caller reports every member as failed.

Only for callers that answer nobody before the group ends (the HTTP writer lane): a member's
result is durable only once the group commits. On PostgreSQL, and on SQLite's in-memory
databases, it does nothing: there writers run side by side, and a shared transaction would only
hold their row locks longer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from marketcore.adapters.sqlalchemy.checkpoints import committed
from marketcore.adapters.sqlalchemy.engine import connect, is_sqlite_file, writer_gate
from marketcore.adapters.sqlalchemy.store import COLLECTIONS, Served


class WriteGroup:
    """The transaction its members share, and what they hand on once it commits.

    ``verified``: the cached versions a member's commit has shown to be the stored ones. Under
    the group's write lock only the members themselves change rows, so a later member served
    the same versions need not check them again, unless a member since wrote the document
    (``forget``). A member that rolled back changed nothing: what it wrote is undone."""

    def __init__(self, engine: Engine, connection: Connection) -> None:
        self.engine = engine
        self.connection = connection
        self.members = 0
        self.after_commit: list[Callable[[], None]] = []
        self.verified: set[Served] = set()

    def savepoint_name(self) -> str:
        self.members += 1
        return f"member_{self.members}"

    def forget(self, written: set[str], bumped: set[str]) -> None:
        """A member committed writes to these documents and collections: their versions moved."""
        if written or bumped:
            self.verified = {
                (table, ident, version)
                for table, ident, version in self.verified
                if ident not in written and not (table == COLLECTIONS and ident in bumped)
            }


_current = threading.local()


def current_group(engine: Engine) -> WriteGroup | None:
    """The group this thread is in on ``engine``, if any."""
    group: WriteGroup | None = getattr(_current, "group", None)
    return group if group is not None and group.engine is engine else None


@contextmanager
def write_group(engine: Engine) -> Iterator[None]:
    """Units of work this thread opens on ``engine`` inside the block share one transaction,
    committed when the block ends (see the module docstring). Nested blocks join the outer one."""
    if not is_sqlite_file(engine) or getattr(_current, "group", None) is not None:
        yield
        return
    gate = writer_gate(engine)
    gate.acquire()
    try:
        connection = connect(engine)
        try:
            connection.begin()  # BEGIN IMMEDIATE: the write lock, for the whole group
            group = WriteGroup(engine, connection)
            _current.group = group
            try:
                yield
            finally:
                _current.group = None
            connection.commit()
        finally:
            connection.close()  # rolls back what a failed block left
    finally:
        gate.release()
    committed(engine, group.members)
    for hand_on in group.after_commit:
        hand_on()
