"""``OutboxStore`` in SQL, inside the unit of work's transaction.

``claim`` is ``SELECT ... WHERE published_at IS NULL ORDER BY position LIMIT n FOR UPDATE SKIP
LOCKED`` on PostgreSQL: the rows stay locked until the relay's transaction ends and a second relay
skips them instead of waiting or publishing them too. SQLite has no row locks (and renders no
``FOR UPDATE``); its ``BEGIN IMMEDIATE`` already makes the whole transaction exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from marketcore.adapters.sqlalchemy.raw import RawSql, json_text, pg_type, positional, sqlite_time
from marketcore.adapters.sqlalchemy.tables import outbox
from marketcore.application.shared.ports import OutboxEntry, OutboxMessage
from marketcore.domain.shared.clock import require_aware

_c = outbox.c
_COLUMNS = ("event_id", "name", "aggregate_kind", "aggregate_id", "occurred_at", "payload")


_TYPES = tuple((name, pg_type(outbox.c[name])) for name in _COLUMNS)


def _row(entry: OutboxEntry) -> dict[str, Any]:
    return {
        "event_id": entry.event_id,
        "name": entry.name,
        "aggregate_kind": entry.aggregate_kind,
        "aggregate_id": entry.aggregate_id,
        "occurred_at": entry.occurred_at,
        "payload": dict(entry.payload),
    }


def _insert(dialect: str) -> str:
    values = ", ".join([positional(dialect)] * len(_COLUMNS))
    return f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({values})"


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        position=row.position,
        event_id=row.event_id,
        name=row.name,
        aggregate_kind=row.aggregate_kind,
        aggregate_id=row.aggregate_id,
        occurred_at=row.occurred_at,
        payload=row.payload,
        published_at=row.published_at,
    )


class SqlAlchemyOutbox:
    def __init__(self, connection: Connection, sql: RawSql | None = None) -> None:
        self._connection = connection
        self._sql = sql or RawSql(connection)

    def append(self, entries: Sequence[OutboxEntry]) -> None:
        # One executemany: the driver runs the rows in order, so positions follow the entries.
        for entry in entries:
            require_aware(entry.occurred_at)
        if not entries:
            return
        if self._sql.batch is not None:  # the unit of work is committing: join its one statement
            self._sql.batch.insert("outbox", _TYPES, [_row(entry) for entry in entries])
            return
        postgres = self._sql.postgres
        rows = [
            (
                entry.event_id,
                entry.name,
                entry.aggregate_kind,
                entry.aggregate_id,
                entry.occurred_at if postgres else sqlite_time(entry.occurred_at),
                json_text(entry.payload),
            )
            for entry in entries
        ]  # in _COLUMNS order
        self._sql.execute_many(self._sql.text("insert_outbox", lambda: _insert(self._sql.name)), rows)

    def claim(self, limit: int) -> list[OutboxMessage]:
        rows = self._connection.execute(
            select(outbox)
            .where(_c.published_at.is_(None))
            .order_by(_c.position)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        return [_message(row) for row in rows]

    def mark_published(self, positions: Sequence[int], at: datetime) -> None:
        require_aware(at)
        if not positions:
            return
        self._connection.execute(
            update(outbox)
            .where(_c.position.in_(list(positions)), _c.published_at.is_(None))
            .values(published_at=at)
        )

    def messages(self, *, after: int = 0, limit: int = 100) -> list[OutboxMessage]:
        rows = self._connection.execute(
            select(outbox).where(_c.position > after).order_by(_c.position).limit(limit)
        ).all()
        return [_message(row) for row in rows]

    def count_unpublished(self) -> int:
        query = select(func.count()).select_from(outbox).where(_c.published_at.is_(None))
        return int(self._connection.execute(query).scalar_one())
