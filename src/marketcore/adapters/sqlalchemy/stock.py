"""``StockLedger`` in SQL: each change is one conditional UPDATE whose row count decides.

The condition sits in the statement (``WHERE on_hand - reserved >= :q``) so two transactions
can never both take the last unit, whatever the isolation level; the CHECK constraints on
``stock_levels`` are the last line of defence. Every change also appends a movement row.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Integer, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

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
def _change_statement(guard: Guard, on_hand: bool, reserved: bool) -> Executable:
    """Built once per shape and executed with parameters (``sku``, ``on_hand``, ``reserved``,
    ``quantity``), which costs a fraction of building the statement every time."""
    values: dict[str, Any] = {"version": _levels.version + 1}
    if on_hand:
        values["on_hand"] = _levels.on_hand + bindparam("on_hand_delta", type_=Integer)
    if reserved:
        values["reserved"] = _levels.reserved + bindparam("reserved_delta", type_=Integer)
    statement = update(stock_levels).where(_levels.sku_id == bindparam("sku")).values(**values)
    quantity = bindparam("quantity", type_=Integer)
    match guard:
        case Guard.AVAILABLE:
            statement = statement.where(_levels.on_hand - _levels.reserved >= quantity)
        case Guard.RESERVED:
            statement = statement.where(_levels.reserved >= quantity)
        case Guard.COVERS_RESERVED:
            statement = statement.where(_levels.on_hand + quantity >= _levels.reserved)
        case Guard.NONE:
            pass
    return statement


_exists = select(_levels.sku_id).where(_levels.sku_id == bindparam("sku"))
_levels_of = (
    select(_levels.sku_id, _levels.shop_id, _levels.on_hand, _levels.reserved)
    .where(_levels.sku_id.in_(bindparam("skus", expanding=True)))
    .order_by(_levels.sku_id)
)


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise InvalidInput("quantity", "must be positive")


class SqlAlchemyStockLedger:
    """Movement rows are buffered and written in one statement when the unit of work commits
    (or before anything reads movements), saving a round trip per stock change."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._pending: list[dict[str, Any]] = []
        self.touched: set[str] = set()

    def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            self._connection.execute(insert(stock_movements), rows)

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
        rows = self._connection.execute(_levels_of, {"skus": wanted})
        return {row.sku_id: StockLevel(row.sku_id, row.shop_id, row.on_hand, row.reserved) for row in rows}

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
        statement = _change_statement(guard, bool(on_hand), bool(reserved))
        # The guard's quantity: what must be available/reserved, or the adjustment's delta.
        quantity = on_hand if guard is Guard.COVERS_RESERVED else abs(reserved or on_hand)
        params = {"sku": sku_id, "on_hand_delta": on_hand, "reserved_delta": reserved, "quantity": quantity}
        if self._connection.execute(statement, params).rowcount != 1:
            self._require(sku_id)
            return False
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
                "at": at,
            }
        )
        return True

    def _require(self, sku_id: str) -> None:
        found = self._connection.execute(_exists, {"sku": sku_id}).first()
        if found is None:
            raise NotFound("stock", sku_id)
