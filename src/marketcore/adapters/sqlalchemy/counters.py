"""``CounterStore`` in SQL: raising a counter is one upsert; whether it wrote a row decides.

``INSERT ... ON CONFLICT DO UPDATE SET count = count + :q WHERE count + :q <= :limit``: PostgreSQL
evaluates the update's condition on the row's latest committed version after taking its lock, so
two transactions can never both take the last unit, at any isolation level; SQLite serialises
writers anyway. The CHECK constraint (``count >= 0``) is the last line of defence for lowering.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Executable, Integer, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from marketcore.adapters.counters import TOTAL, CounterKey
from marketcore.adapters.sqlalchemy.tables import promotion_counters

_c = promotion_counters.c


@functools.cache
def _raise_statement(dialect: str) -> Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    quantity = bindparam("p_quantity", type_=Integer)
    statement = insert(promotion_counters).values(
        counter=bindparam("p_counter"),
        subject_id=bindparam("p_subject"),
        buyer_id=bindparam("p_buyer"),
        count=quantity,
    )
    # RETURNING says whether a row was written (rowcount of an upsert is not reliable everywhere).
    return statement.on_conflict_do_update(
        index_elements=[_c.counter, _c.subject_id, _c.buyer_id],
        set_={"count": _c.count + statement.excluded.count},
        where=_c.count + statement.excluded.count <= bindparam("p_limit", type_=Integer),
    ).returning(_c.count)


_lower = (
    update(promotion_counters)
    .where(
        _c.counter == bindparam("p_counter"),
        _c.subject_id == bindparam("p_subject"),
        _c.buyer_id == bindparam("p_buyer"),
        _c.count >= bindparam("p_quantity", type_=Integer),
    )
    .values(count=_c.count - bindparam("p_quantity", type_=Integer))
)
_read = select(_c.subject_id, _c.buyer_id, _c.count.label("n")).where(
    _c.counter == bindparam("p_counter"),
    _c.subject_id.in_(bindparam("p_subjects", expanding=True)),
    _c.buyer_id.in_(bindparam("p_buyers", expanding=True)),
)


def _params(key: CounterKey, quantity: int) -> dict[str, Any]:
    counter, subject, buyer = key
    return {"p_counter": counter, "p_subject": subject, "p_buyer": buyer, "p_quantity": quantity}


class SqlAlchemyCounterStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._raise = _raise_statement(connection.dialect.name)

    def raise_within(self, key: CounterKey, quantity: int, limit: int) -> bool:
        result = self._connection.execute(self._raise, {**_params(key, quantity), "p_limit": limit})
        return result.first() is not None

    def lower(self, key: CounterKey, quantity: int) -> bool:
        return bool(self._connection.execute(_lower, _params(key, quantity)).rowcount == 1)

    def read(self, counter: str, subject_ids: Sequence[str], buyer_id: str | None) -> dict[CounterKey, int]:
        buyers = [TOTAL, buyer_id] if buyer_id else [TOTAL]
        rows = self._connection.execute(
            _read, {"p_counter": counter, "p_subjects": list(subject_ids), "p_buyers": buyers}
        )
        return {(counter, row.subject_id, row.buyer_id): int(row.n) for row in rows}
