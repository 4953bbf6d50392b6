"""In-memory storage with the same transactional behaviour as the SQL adapters.

A unit of work holds the database lock for its whole life, so transactions are serial and
never see each other's uncommitted changes. Changes are applied in place and recorded in an
undo journal; rollback replays it backwards. Documents are stored as JSON bytes, so every load
decodes a fresh copy and anything stored is as serialisable as it must be in SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import msgspec

from marketcore.adapters.counters import TOTAL, CounterKey
from marketcore.adapters.documents import (
    A,
    Between,
    ColumnValue,
    Contains,
    DocumentSpec,
    Eq,
    Filter,
    In,
    Lock,
    Order,
)
from marketcore.adapters.tracking import Columns, Tracker, check_columns
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import OutboxEntry, OutboxMessage
from marketcore.domain.inventory.stock import MovementKind, MovementTotals, StockLevel, StockMovement
from marketcore.domain.shared.clock import require_aware
from marketcore.domain.shared.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Conflict,
    InvalidInput,
    NotFound,
)
from marketcore.domain.shared.events import Aggregate


@attrs.frozen
class StoredDocument:
    version: int
    data: bytes  # JSON
    columns: Columns


class MemoryDatabase:
    """Shared state of the in-memory adapters; thread-safe through one reentrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.documents: dict[str, dict[str, StoredDocument]] = {}
        self.keys: dict[str, tuple[str, str]] = {}  # key -> (kind, doc_id)
        self.stock: dict[str, StockLevel] = {}
        self.movements: dict[str, list[StockMovement]] = {}
        self.counters: dict[str, int] = {}  # promotion counters, by _counter_key
        self.outbox: dict[int, OutboxMessage] = {}  # position -> message, insertion = position order
        self.outbox_position = 0  # last position handed out; like a sequence, never rolled back

    def begin(self) -> MemoryTransaction:
        """Take the lock; it is released by the transaction's commit or rollback."""
        self.lock.acquire()
        return MemoryTransaction(self)


_MISSING = object()


class MemoryTransaction:
    """Writes go straight to the database under the lock; an undo journal makes rollback exact."""

    def __init__(self, database: MemoryDatabase) -> None:
        self.database = database
        self._undo: list[Callable[[], None]] = []
        self._open = True

    def _remember(self, table: dict[str, Any], key: str) -> None:
        old = table.get(key, _MISSING)

        def undo() -> None:
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old

        self._undo.append(undo)

    def put(self, table: dict[str, Any], key: str, value: Any) -> None:
        self.check_open()
        self._remember(table, key)
        table[key] = value

    def pop(self, table: dict[str, Any], key: str) -> None:
        self.check_open()
        self._remember(table, key)
        table.pop(key, None)

    def append_movement(self, movement: StockMovement) -> None:
        self.check_open()
        history = self.database.movements.setdefault(movement.sku_id, [])
        history.append(movement)

        def undo() -> None:
            history.pop()

        self._undo.append(undo)

    def put_outbox(self, message: OutboxMessage) -> None:
        self.check_open()
        outbox = self.database.outbox
        old = outbox.get(message.position)
        outbox[message.position] = message

        def undo() -> None:
            if old is None:
                outbox.pop(message.position, None)
            else:
                outbox[message.position] = old

        self._undo.append(undo)

    def commit(self) -> None:
        self.check_open()
        self._undo.clear()
        self._close()

    def rollback(self) -> None:
        if not self._open:
            return
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()
        self._close()

    def _close(self) -> None:
        self._open = False
        self.database.lock.release()

    def check_open(self) -> None:
        if not self._open:
            raise RuntimeError("the transaction is finished; enter the unit of work again")


def _matches(columns: Columns, ident: str, version: int, flt: Filter) -> bool:
    value = _value(columns, ident, version, flt.column)
    match flt:
        case Eq():
            return value == flt.value if flt.value is not None else value is None
        case In():
            return value is not None and value in flt.values
        case Between():
            if not isinstance(value, int):
                return False
            return (flt.low is None or value >= flt.low) and (flt.high is None or value <= flt.high)
        case Contains():
            return isinstance(value, str) and flt.text.lower() in value.lower()


def _value(columns: Columns, ident: str, version: int, name: str) -> ColumnValue:
    if name == "id":
        return ident
    if name == "version":
        return version
    return columns.get(name)


class MemoryDocumentStore:
    """``DocumentStore`` over a ``MemoryDatabase``; NULLs sort first, like the SQL stores."""

    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction
        self._db = transaction.database
        self._tracker = Tracker()
        self.written: set[str] = set()

    def _table(self, spec: DocumentSpec[Any]) -> dict[str, StoredDocument]:
        return self._db.documents.setdefault(spec.kind, {})

    def get(self, spec: DocumentSpec[A], ident: str) -> A | None:
        self._tx.check_open()
        known = self._tracker.get(spec, ident)
        if known is not None:
            return known
        row = self._table(spec).get(ident)
        if row is None:
            return None
        return self._tracker.loaded(spec, ident, row.version, msgspec.json.decode(row.data))

    def get_by_key(self, spec: DocumentSpec[A], key: str) -> A | None:
        owner = self._db.keys.get(key)
        if owner is None or owner[0] != spec.kind:
            return None
        return self.get(spec, owner[1])

    def get_by_keys(self, spec: DocumentSpec[A], keys: Sequence[str]) -> dict[str, A]:
        found = {key: self.get_by_key(spec, key) for key in keys}
        return {key: aggregate for key, aggregate in found.items() if aggregate is not None}

    def add(self, spec: DocumentSpec[A], aggregate: A) -> None:
        self._tx.check_open()
        self._tracker.added(spec, aggregate)

    def _select(self, spec: DocumentSpec[Any], filters: Sequence[Filter]) -> list[tuple[str, StoredDocument]]:
        return [
            (ident, row)
            for ident, row in self._table(spec).items()
            if all(_matches(row.columns, ident, row.version, f) for f in filters)
        ]

    def find(
        self,
        spec: DocumentSpec[A],
        filters: Sequence[Filter] = (),
        order: Sequence[Order] = (Order(),),
        limit: int | None = None,
        offset: int = 0,
        lock: Lock | None = None,
    ) -> list[A]:
        self._tx.check_open()
        check_columns(spec, filters, order)
        rows = self._select(spec, filters)  # ``lock``: the unit of work holds the database lock already
        keys = [*order, Order("id", order[-1].descending if order else True)]
        for key in reversed(keys):  # stable sorts, least significant key first
            rows.sort(key=_row_key(key.column), reverse=key.descending)
        end = None if limit is None else offset + limit
        found = []
        for ident, _ in rows[offset:end]:
            aggregate = self.get(spec, ident)
            assert aggregate is not None
            found.append(aggregate)
        return found

    def count(self, spec: DocumentSpec[A], filters: Sequence[Filter] = (), at_most: int | None = None) -> int:
        self._tx.check_open()
        check_columns(spec, filters, ())
        found = len(self._select(spec, filters))
        return found if at_most is None else min(found, max(at_most, 0))

    def flush(self) -> list[Aggregate]:
        self._tx.check_open()
        for write in self._tracker.pending():
            spec, aggregate = write.tracked.spec, write.tracked.aggregate
            table = self._table(spec)
            stored = table.get(aggregate.id)
            if write.is_insert and stored is not None:
                raise AlreadyExists(f"{spec.kind} {aggregate.id} already exists")
            if not write.is_insert and (stored is None or stored.version != write.tracked.stored_version):
                raise ConcurrencyConflict(f"{spec.kind} {aggregate.id} was changed by someone else")
            old_keys = write.tracked.stored.keys if write.tracked.stored else frozenset()
            for key in sorted(write.snapshot.keys - old_keys):
                owner = self._db.keys.get(key)
                if owner is not None and owner != (spec.kind, aggregate.id):
                    raise AlreadyExists(f"{spec.kind} key {key!r} is already taken")
            for key in old_keys - write.snapshot.keys:
                self._tx.pop(self._db.keys, key)
            for key in write.snapshot.keys - old_keys:
                self._tx.put(self._db.keys, key, (spec.kind, aggregate.id))
            self._tx.put(
                table,
                aggregate.id,
                StoredDocument(write.tracked.stored_version + 1, write.snapshot.body, write.snapshot.columns),
            )
            write.done()
            self.written.add(aggregate.id)
        return self._tracker.aggregates()


def _row_key(name: str) -> Callable[[tuple[str, StoredDocument]], tuple[int, ColumnValue]]:
    def key(item: tuple[str, StoredDocument]) -> tuple[int, ColumnValue]:
        ident, row = item
        return _sort_key(_value(row.columns, ident, row.version, name))

    return key


def _sort_key(value: ColumnValue) -> tuple[int, ColumnValue]:
    return (0, 0) if value is None else (1, value)


class MemoryOutbox:
    """``OutboxStore`` over a ``MemoryDatabase``. The unit of work holds the database lock, so a
    claim is exclusive until the transaction ends and one relay at a time can work."""

    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction
        self._db = transaction.database

    def append(self, entries: Sequence[OutboxEntry]) -> None:
        self._tx.check_open()
        for entry in entries:
            require_aware(entry.occurred_at)
            self._db.outbox_position += 1
            message = OutboxMessage(
                position=self._db.outbox_position,
                event_id=entry.event_id,
                name=entry.name,
                aggregate_kind=entry.aggregate_kind,
                aggregate_id=entry.aggregate_id,
                occurred_at=entry.occurred_at,
                payload=msgspec.json.decode(msgspec.json.encode(entry.payload)),  # a JSON copy
            )
            self._tx.put_outbox(message)

    def claim(self, limit: int) -> list[OutboxMessage]:
        self._tx.check_open()
        claimed: list[OutboxMessage] = []
        for message in self._db.outbox.values():  # insertion order is position order
            if len(claimed) >= limit:
                break
            if message.published_at is None:
                claimed.append(message)
        return claimed

    def mark_published(self, positions: Sequence[int], at: datetime) -> None:
        self._tx.check_open()
        require_aware(at)
        for position in positions:
            message = self._db.outbox.get(position)
            if message is not None and message.published_at is None:
                self._tx.put_outbox(attrs.evolve(message, published_at=at))

    def messages(self, *, after: int = 0, limit: int = 100) -> list[OutboxMessage]:
        self._tx.check_open()
        return [m for m in self._db.outbox.values() if m.position > after][:limit]

    def count_unpublished(self) -> int:
        self._tx.check_open()
        return sum(1 for message in self._db.outbox.values() if message.published_at is None)


class MemoryStockLedger:
    """``StockLedger`` over a ``MemoryDatabase``; the lock makes each check-and-change atomic."""

    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction
        self._db = transaction.database
        self.touched: set[str] = set()

    def create(self, sku_id: str, shop_id: str, on_hand: int, at: datetime, reference: str) -> None:
        require_aware(at)
        if on_hand < 0:
            raise InvalidInput("on_hand", "must not be negative")
        if sku_id in self._db.stock:
            raise AlreadyExists(f"stock for {sku_id} already exists")
        self._tx.put(self._db.stock, sku_id, StockLevel(sku_id, shop_id, 0, 0))
        if on_hand:
            self._change(sku_id, MovementKind.ADJUST, on_hand, 0, "initial", reference, at)

    def get_many(self, sku_ids: Iterable[str]) -> dict[str, StockLevel]:
        self._tx.check_open()
        return {sku: self._db.stock[sku] for sku in sorted(set(sku_ids)) if sku in self._db.stock}

    def reserve(self, sku_id: str, quantity: int, reference: str, at: datetime) -> bool:
        self._tx.check_open()
        level = self._level(sku_id, quantity)
        if level.available < quantity:
            return False
        self._change(sku_id, MovementKind.RESERVE, 0, quantity, "", reference, at)
        return True

    def reserve_many(
        self, quantities: Mapping[str, int], reference: str, at: datetime
    ) -> dict[str, StockLevel]:
        self._tx.check_open()
        require_aware(at)
        for quantity in quantities.values():
            if quantity <= 0:
                raise InvalidInput("quantity", "must be positive")
        held = {}
        for sku_id, quantity in sorted(quantities.items()):
            level = self._db.stock.get(sku_id)
            if level is not None and level.available >= quantity:
                self._change(sku_id, MovementKind.RESERVE, 0, quantity, "", reference, at)
                held[sku_id] = self._db.stock[sku_id]
        return held

    def release(self, sku_id: str, quantity: int, reference: str, at: datetime) -> None:
        if self._level(sku_id, quantity).reserved < quantity:
            raise Conflict(f"cannot release {quantity} of {sku_id}: not that many reserved")
        self._change(sku_id, MovementKind.RELEASE, 0, -quantity, "", reference, at)

    def transfer(
        self, sku_id: str, quantity: int, from_reference: str, to_reference: str, at: datetime
    ) -> None:
        require_aware(at)
        if self._level(sku_id, quantity).reserved < quantity:
            raise Conflict(f"cannot transfer {quantity} of {sku_id}: not that many reserved")
        for kind, delta, reference, reason in (
            (MovementKind.RELEASE, -quantity, from_reference, f"transfer to {to_reference}"),
            (MovementKind.RESERVE, quantity, to_reference, f"transfer from {from_reference}"),
        ):
            self._tx.append_movement(StockMovement(new_id(), sku_id, kind, 0, delta, reason, reference, at))

    def commit(self, sku_id: str, quantity: int, reference: str, at: datetime) -> None:
        if self._level(sku_id, quantity).reserved < quantity:
            raise Conflict(f"cannot commit {quantity} of {sku_id}: not that many reserved")
        self._change(sku_id, MovementKind.COMMIT, -quantity, -quantity, "", reference, at)

    def deduct(self, sku_id: str, quantity: int, reference: str, at: datetime) -> bool:
        if self._level(sku_id, quantity).available < quantity:
            return False
        self._change(sku_id, MovementKind.DEDUCT, -quantity, 0, "", reference, at)
        return True

    def restock(self, sku_id: str, quantity: int, reason: str, reference: str, at: datetime) -> None:
        self._level(sku_id, quantity)
        self._change(sku_id, MovementKind.RESTOCK, quantity, 0, reason, reference, at)

    def levels(self, after: str | None, limit: int) -> list[StockLevel]:
        self._tx.check_open()
        skus = sorted(sku for sku in self._db.stock if after is None or sku > after)[:limit]
        return [self._db.stock[sku] for sku in skus]

    def movement_totals(self, sku_ids: Iterable[str]) -> dict[str, MovementTotals]:
        self._tx.check_open()
        totals = {}
        for sku in sorted(set(sku_ids)):
            moves = self._db.movements.get(sku)
            if moves:
                on_hand = sum(m.on_hand_delta for m in moves)
                totals[sku] = MovementTotals(sku, on_hand, sum(m.reserved_delta for m in moves))
        return totals

    def adjust(self, sku_id: str, delta: int, reason: str, reference: str, at: datetime) -> bool:
        level = self._level(sku_id, None)
        if level.on_hand + delta < level.reserved:
            return False
        if delta:
            self._change(sku_id, MovementKind.ADJUST, delta, 0, reason, reference, at)
        return True

    def movements(self, sku_id: str) -> list[StockMovement]:
        self._tx.check_open()
        return list(self._db.movements.get(sku_id, ()))

    def _level(self, sku_id: str, quantity: int | None) -> StockLevel:
        if quantity is not None and quantity <= 0:
            raise InvalidInput("quantity", "must be positive")
        level = self._db.stock.get(sku_id)
        if level is None:
            raise NotFound("stock", sku_id)
        return level

    def _change(
        self,
        sku_id: str,
        kind: MovementKind,
        on_hand: int,
        reserved: int,
        reason: str,
        reference: str,
        at: datetime,
    ) -> None:
        require_aware(at)
        level = self._db.stock[sku_id]
        self.touched.add(sku_id)
        self._tx.put(
            self._db.stock,
            sku_id,
            attrs.evolve(level, on_hand=level.on_hand + on_hand, reserved=level.reserved + reserved),
        )
        self._tx.append_movement(
            StockMovement(new_id(), sku_id, kind, on_hand, reserved, reason, reference, at)
        )


def _counter_key(key: CounterKey) -> str:
    return "\x1f".join(key)


class MemoryCounterStore:
    """``CounterStore`` over a ``MemoryDatabase``; the lock makes each check-and-change atomic."""

    def __init__(self, transaction: MemoryTransaction) -> None:
        self._tx = transaction
        self._db = transaction.database

    def raise_within(self, key: CounterKey, quantity: int, limit: int) -> bool:
        name = _counter_key(key)
        count = self._db.counters.get(name, 0) + quantity
        if count > limit:
            self._tx.check_open()
            return False
        self._tx.put(self._db.counters, name, count)
        return True

    def lower(self, key: CounterKey, quantity: int) -> bool:
        name = _counter_key(key)
        count = self._db.counters.get(name, 0)
        if count < quantity:
            self._tx.check_open()
            return False
        self._tx.put(self._db.counters, name, count - quantity)
        return True

    def read(self, counter: str, subject_ids: Sequence[str], buyer_id: str | None) -> dict[CounterKey, int]:
        self._tx.check_open()
        found: dict[CounterKey, int] = {}
        for subject in subject_ids:
            for buyer in (TOTAL, buyer_id) if buyer_id else (TOTAL,):
                count = self._db.counters.get(_counter_key((counter, subject, buyer)))
                if count is not None:
                    found[(counter, subject, buyer)] = count
        return found
