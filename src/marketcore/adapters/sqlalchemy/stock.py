"""``StockLedger`` in SQL: each change is one conditional UPDATE whose row count decides.

The condition sits in the statement (``WHERE on_hand - reserved >= :q``) so two transactions
can never both take the last unit, whatever the isolation level; the CHECK constraints on
``stock_levels`` are the last line of defence. Every change also appends a movement row.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from marketcore.adapters.sqlalchemy.raw import RawSql, pg_type, placeholder, positional, sqlite_time
from marketcore.adapters.sqlalchemy.tables import stock_levels, stock_movements
from marketcore.application.shared.ids import new_id
from marketcore.domain.inventory.stock import MovementKind, MovementTotals, StockLevel, StockMovement
from marketcore.domain.shared.clock import require_aware
from marketcore.domain.shared.errors import AlreadyExists, Conflict, InvalidInput, NotFound

_levels = stock_levels.c


class Guard(enum.Enum):
    """The condition a stock change must meet, checked inside its UPDATE."""

    AVAILABLE = "available"  # on_hand - reserved >= quantity
    RESERVED = "reserved"  # reserved >= quantity
    COVERS_RESERVED = "covers_reserved"  # on_hand + delta >= reserved
    NONE = "none"


@functools.cache
def _change_statement(dialect: str, guard: Guard, on_hand: bool, reserved: bool) -> str:
    """SQL text per shape, executed with parameters (``sku``, ``on_hand_delta``,
    ``reserved_delta``, ``quantity``)."""
    sets = ["version = version + 1"]
    if on_hand:
        sets.append(f"on_hand = on_hand + {placeholder(dialect, 'on_hand_delta')}")
    if reserved:
        sets.append(f"reserved = reserved + {placeholder(dialect, 'reserved_delta')}")
    where = [f"sku_id = {placeholder(dialect, 'sku')}"]
    quantity = placeholder(dialect, "quantity")
    match guard:
        case Guard.AVAILABLE:
            where.append(f"on_hand - reserved >= {quantity}")
        case Guard.RESERVED:
            where.append(f"reserved >= {quantity}")
        case Guard.COVERS_RESERVED:
            where.append(f"on_hand + {quantity} >= reserved")
        case Guard.NONE:
            pass
    return f"UPDATE stock_levels SET {', '.join(sets)} WHERE {' AND '.join(where)}"


_exists = select(_levels.sku_id).where(_levels.sku_id == bindparam("sku"))


def _levels_of(count: int) -> Executable:
    return (
        select(_levels.sku_id, _levels.shop_id, _levels.on_hand, _levels.reserved)
        .where(_levels.sku_id.in_([bindparam(f"s{i}") for i in range(count)]))
        .order_by(_levels.sku_id)
    )


_MOVEMENT_COLUMNS = ("id", "sku_id", "kind", "on_hand_delta", "reserved_delta", "reason", "reference", "at")
_MOVEMENT_TYPES = tuple((name, pg_type(stock_movements.c[name])) for name in _MOVEMENT_COLUMNS)


def _insert_movements(dialect: str) -> str:
    values = ", ".join([positional(dialect)] * len(_MOVEMENT_COLUMNS))
    return f"INSERT INTO stock_movements ({', '.join(_MOVEMENT_COLUMNS)}) VALUES ({values})"


_RETURNING = "RETURNING sku_id, shop_id, on_hand, reserved"


# PostgreSQL: one statement for all the SKUs. ``locked`` takes the rows' locks in SKU order (so
# concurrent checkouts wait on each other instead of deadlocking); the uncounted ``count(*)``
# makes it an InitPlan that runs to the end before the UPDATE touches its first row.
_RESERVE_PG = (
    "WITH wanted AS (SELECT * FROM unnest(%(skus)s::text[], %(quantities)s::integer[]) AS w(sku, quantity)),"
    " locked AS MATERIALIZED (SELECT sku_id FROM stock_levels WHERE sku_id = ANY(%(skus)s::text[])"
    " ORDER BY sku_id FOR UPDATE)"
    " UPDATE stock_levels SET reserved = stock_levels.reserved + wanted.quantity,"
    " version = stock_levels.version + 1 FROM wanted"
    " WHERE stock_levels.sku_id = wanted.sku"
    " AND stock_levels.on_hand - stock_levels.reserved >= wanted.quantity"
    " AND (SELECT count(*) FROM locked) >= 0"
    " RETURNING stock_levels.sku_id, stock_levels.shop_id, stock_levels.on_hand, stock_levels.reserved"
)


def _reserve_all(count: int) -> str:
    """SQLite: one ``UPDATE ... FROM (VALUES ...)``; its single writer needs no lock order."""
    rows = ", ".join(f"(:s{i}, :q{i})" for i in range(count))
    return (
        f"WITH wanted(sku, quantity) AS (VALUES {rows}) "
        "UPDATE stock_levels SET reserved = reserved + wanted.quantity, version = version + 1 "
        "FROM wanted WHERE stock_levels.sku_id = wanted.sku "
        f"AND stock_levels.on_hand - stock_levels.reserved >= wanted.quantity {_RETURNING}"
    )


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidInput("quantity", "must be positive")


class SqlAlchemyStockLedger:
    """Movement rows are buffered and written in one statement when the unit of work commits
    (or before anything reads movements), saving a round trip per stock change."""

    def __init__(self, connection: Connection, sql: RawSql | None = None) -> None:
        self._connection = connection
        self._sql = sql or RawSql(connection)
        self._pending: list[dict[str, Any]] = []
        self.touched: set[str] = set()

    def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            if self._sql.batch is not None:
                self._sql.batch.insert("stock_movements", _MOVEMENT_TYPES, rows)
                return
            text = self._sql.text("insert_movements", lambda: _insert_movements(self._sql.name))
            self._sql.execute_many(text, [tuple([row[name] for name in _MOVEMENT_COLUMNS]) for row in rows])

    def create(self, sku_id: str, shop_id: str, on_hand: int, at: datetime, reference: str) -> None:
        require_aware(at)
        if on_hand < 0:
            raise InvalidInput("on_hand", "must not be negative")
        try:
            with self._connection.begin_nested():
                self._connection.execute(
                    insert(stock_levels).values(
                        sku_id=sku_id, shop_id=shop_id, on_hand=0, reserved=0, version=0
                    )
                )
        except IntegrityError as error:
            raise AlreadyExists(f"stock for {sku_id} already exists") from error
        if on_hand:
            self._change(sku_id, MovementKind.ADJUST, on_hand, 0, "initial", reference, at, Guard.NONE)

    def get_many(self, sku_ids: Iterable[str]) -> dict[str, StockLevel]:
        wanted = sorted(set(sku_ids))
        if not wanted:
            return {}
        text = self._sql.text(("levels_of", len(wanted)), lambda: _levels_of(len(wanted)))
        rows = self._sql.execute(text, {f"s{i}": sku for i, sku in enumerate(wanted)}).fetchall()
        return {row[0]: StockLevel(*row) for row in rows}

    def reserve_many(
        self, quantities: Mapping[str, int], reference: str, at: datetime
    ) -> dict[str, StockLevel]:
        """One statement (one round trip) for all the SKUs, in SKU order."""
        require_aware(at)
        wanted = sorted(quantities.items())
        for _, quantity in wanted:
            _positive(quantity)
        if not wanted:
            return {}
        if self._sql.postgres:
            arrays = {"skus": [sku for sku, _ in wanted], "quantities": [q for _, q in wanted]}
            rows = self._sql.execute(_RESERVE_PG, arrays).fetchall()
        else:
            text = self._sql.text(("reserve_all", len(wanted)), lambda: _reserve_all(len(wanted)))
            params: dict[str, Any] = {}
            for i, (sku, quantity) in enumerate(wanted):
                params[f"s{i}"], params[f"q{i}"] = sku, quantity
            rows = self._sql.execute(text, params).fetchall()
        held = {row[0]: StockLevel(*row) for row in rows}
        for sku, quantity in wanted:
            if sku in held:
                self._moved(sku, MovementKind.RESERVE, 0, quantity, "", reference, at)
        return held

    def reserve(self, sku_id: str, quantity: int, reference: str, at: datetime) -> bool:
        _positive(quantity)
        return self._change(sku_id, MovementKind.RESERVE, 0, quantity, "", reference, at, Guard.AVAILABLE)

    def release(self, sku_id: str, quantity: int, reference: str, at: datetime) -> None:
        _positive(quantity)
        guard = Guard.RESERVED
        if not self._change(sku_id, MovementKind.RELEASE, 0, -quantity, "", reference, at, guard):
            raise Conflict(f"cannot release {quantity} of {sku_id}: not that many reserved")

    def transfer(
        self, sku_id: str, quantity: int, from_reference: str, to_reference: str, at: datetime
    ) -> None:
        """No statement of its own: the row does not change and the two movements are buffered."""
        require_aware(at)
        _positive(quantity)
        for kind, delta, reference, reason in (
            (MovementKind.RELEASE, -quantity, from_reference, f"transfer to {to_reference}"),
            (MovementKind.RESERVE, quantity, to_reference, f"transfer from {from_reference}"),
        ):
            self._pending.append(
                {
                    "id": new_id(),
                    "sku_id": sku_id,
                    "kind": kind.value,
                    "on_hand_delta": 0,
                    "reserved_delta": delta,
                    "reason": reason,
                    "reference": reference,
                    "at": at,
                }
            )

    def commit(self, sku_id: str, quantity: int, reference: str, at: datetime) -> None:
        _positive(quantity)
        guard = Guard.RESERVED
        if not self._change(sku_id, MovementKind.COMMIT, -quantity, -quantity, "", reference, at, guard):
            raise Conflict(f"cannot commit {quantity} of {sku_id}: not that many reserved")

    def deduct(self, sku_id: str, quantity: int, reference: str, at: datetime) -> bool:
        _positive(quantity)
        return self._change(sku_id, MovementKind.DEDUCT, -quantity, 0, "", reference, at, Guard.AVAILABLE)

    def restock(self, sku_id: str, quantity: int, reason: str, reference: str, at: datetime) -> None:
        _positive(quantity)
        self._change(sku_id, MovementKind.RESTOCK, quantity, 0, reason, reference, at, Guard.NONE)

    def adjust(self, sku_id: str, delta: int, reason: str, reference: str, at: datetime) -> bool:
        if delta == 0:
            self._require(sku_id)
            return True
        return self._change(
            sku_id, MovementKind.ADJUST, delta, 0, reason, reference, at, Guard.COVERS_RESERVED
        )

    def movements(self, sku_id: str) -> list[StockMovement]:
        self.flush()
        m = stock_movements.c
        rows = self._connection.execute(
            select(stock_movements).where(m.sku_id == sku_id).order_by(m.at, m.id)
        ).all()
        return [
            StockMovement(
                r.id,
                r.sku_id,
                MovementKind(r.kind),
                r.on_hand_delta,
                r.reserved_delta,
                r.reason,
                r.reference,
                r.at,
            )
            for r in rows
        ]

    def levels(self, after: str | None, limit: int) -> list[StockLevel]:
        statement = select(_levels.sku_id, _levels.shop_id, _levels.on_hand, _levels.reserved)
        if after is not None:
            statement = statement.where(_levels.sku_id > after)
        rows = self._connection.execute(statement.order_by(_levels.sku_id).limit(limit))
        return [StockLevel(r.sku_id, r.shop_id, r.on_hand, r.reserved) for r in rows]

    def movement_totals(self, sku_ids: Iterable[str]) -> dict[str, MovementTotals]:
        self.flush()
        wanted = sorted(set(sku_ids))
        if not wanted:
            return {}
        m = stock_movements.c
        rows = self._connection.execute(
            select(m.sku_id, func.sum(m.on_hand_delta), func.sum(m.reserved_delta))
            .where(m.sku_id.in_(wanted))
            .group_by(m.sku_id)
        )
        return {sku: MovementTotals(sku, int(on_hand), int(reserved)) for sku, on_hand, reserved in rows}

    def _change(
        self,
        sku_id: str,
        kind: MovementKind,
        on_hand: int,
        reserved: int,
        reason: str,
        reference: str,
        at: datetime,
        guard: Guard,
    ) -> bool:
        """One atomic conditional UPDATE plus its movement; False when the guard refused."""
        require_aware(at)
        text = _change_statement(self._sql.name, guard, bool(on_hand), bool(reserved))
        # The guard's quantity: what must be available/reserved, or the adjustment's delta.
        quantity = on_hand if guard is Guard.COVERS_RESERVED else abs(reserved or on_hand)
        params = {"sku": sku_id, "on_hand_delta": on_hand, "reserved_delta": reserved, "quantity": quantity}
        if self._sql.execute(text, params).rowcount != 1:
            self._require(sku_id)
            return False
        self._moved(sku_id, kind, on_hand, reserved, reason, reference, at)
        return True

    def _moved(
        self,
        sku_id: str,
        kind: MovementKind,
        on_hand: int,
        reserved: int,
        reason: str,
        reference: str,
        at: datetime,
    ) -> None:
        self.touched.add(sku_id)
        self._pending.append(
            {
                "id": new_id(),
                "sku_id": sku_id,
                "kind": kind.value,
                "on_hand_delta": on_hand,
                "reserved_delta": reserved,
                "reason": reason,
                "reference": reference,
                "at": at if self._sql.postgres else sqlite_time(at),
            }
        )

    def _require(self, sku_id: str) -> None:
        found = self._sql.execute(self._sql.text("exists", lambda: _exists), {"sku": sku_id}).fetchone()
        if found is None:
            raise NotFound("stock", sku_id)
