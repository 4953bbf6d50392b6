"""Contract suites for storage adapters (``DocumentStore``, ``StockLedger``, the unit of work).

Subclass a contract in a ``Test*`` class and provide the ``uow_factory`` fixture: a callable that
returns a fresh unit of work on an empty database which contains the ``WIDGETS`` document table
(for SQL: ``tables.create_document_tables(engine, CONTRACT_SPECS)`` after migrating).
Set ``serial_transactions = True`` when two transactions cannot be open at once in one thread
(SQLite, which takes its write lock at BEGIN).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import attrs
import pytest

from marketcore.adapters.documents import Between, Column, Contains, DocumentSpec, Eq, In, Order
from marketcore.adapters.unit_of_work import StoreUnitOfWork
from marketcore.application.shared.ids import new_id
from marketcore.domain.inventory.stock import MovementKind, StockLevel
from marketcore.domain.shared.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Conflict,
    InvalidInput,
    NotFound,
)
from marketcore.domain.shared.events import Aggregate, DomainEvent

UowFactory = Callable[[], StoreUnitOfWork]
_BASE = datetime(2024, 1, 1, tzinfo=UTC)
_ticks = itertools.count()


def tick() -> datetime:
    """Strictly increasing aware timestamps, so movement order is unambiguous."""
    return _BASE + timedelta(seconds=next(_ticks))


@attrs.frozen(kw_only=True)
class WidgetRenamed(DomainEvent):
    widget_id: str
    name: str


@attrs.define(eq=False)
class Widget(Aggregate):
    name: str = ""
    sku: str = ""
    price: int = 0
    active: bool = True
    note: str | None = None
    tags: list[str] = attrs.field(factory=list)
    created_at: datetime = _BASE

    def rename(self, name: str, at: datetime) -> None:
        self.name = name
        self.record(WidgetRenamed(occurred_at=at, widget_id=self.id, name=name))


WIDGETS: DocumentSpec[Widget] = DocumentSpec(
    kind="contract_widgets",
    type=Widget,
    columns=(Column("name", str), Column("price", int), Column("active", bool), Column("note", str)),
    extract=lambda w: {"name": w.name, "price": w.price, "active": w.active, "note": w.note},
    keys=lambda w: [f"contract-widget-sku:{w.sku}"] if w.sku else [],
)
CONTRACT_SPECS: list[DocumentSpec[Any]] = [WIDGETS]


def _sku_key(sku: str) -> str:
    return f"contract-widget-sku:{sku}"


class _Contract:
    serial_transactions: ClassVar[bool] = False

    @pytest.fixture
    def uow_factory(self) -> UowFactory:
        raise NotImplementedError("provide a uow_factory fixture in your subclass")


class DocumentStoreContract(_Contract):
    def _save(self, uow_factory: UowFactory, *widgets: Widget) -> None:
        with uow_factory() as uow:
            for widget in widgets:
                uow.documents.add(WIDGETS, widget)
            uow.commit()

    @pytest.fixture
    def catalogue(self, uow_factory: UowFactory) -> list[Widget]:
        widgets = [
            Widget("w1", name="Red Apple", price=300, active=True, note="fresh"),
            Widget("w2", name="green apple", price=100, active=False),
            Widget("w3", name="Banana 100%", price=200, active=True, note="ripe"),
            Widget("w4", name="Cherry", price=500, active=True),
            Widget("w5", name="Damson_x", price=100, active=True, note="tart"),
        ]
        self._save(uow_factory, *widgets)
        return widgets

    def _ids(self, uow_factory: UowFactory, **query: Any) -> list[str]:
        with uow_factory() as uow:
            return [w.id for w in uow.documents.find(WIDGETS, **query)]

    def test_add_then_get_round_trips(self, uow_factory: UowFactory) -> None:
        at = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
        self._save(
            uow_factory, Widget("a", name="Anvil", sku="A-1", price=12, tags=["x", "y"], created_at=at)
        )
        with uow_factory() as uow:
            got = uow.documents.get(WIDGETS, "a")
            assert got is not None
            assert (got.name, got.sku, got.price, got.tags, got.note) == (
                "Anvil",
                "A-1",
                12,
                ["x", "y"],
                None,
            )
            assert got.created_at == at and got.created_at.tzinfo is not None
            assert got.version == 1
            assert uow.documents.get(WIDGETS, "missing") is None

    def test_identity_within_a_unit_of_work(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", name="Anvil"))
        with uow_factory() as uow:
            first = uow.documents.get(WIDGETS, "a")
            assert first is not None
            assert uow.documents.get(WIDGETS, "a") is first
            assert uow.documents.find(WIDGETS)[0] is first

    def test_get_by_key(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", sku="A-1"), Widget("b", sku="B-1"))
        with uow_factory() as uow:
            found = uow.documents.get_by_key(WIDGETS, _sku_key("B-1"))
            assert found is not None and found.id == "b"
            assert uow.documents.get_by_key(WIDGETS, _sku_key("C-1")) is None

    def test_get_by_keys_finds_many_at_once_and_shares_identity(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", sku="A-1"), Widget("b", sku="B-1"), Widget("c", sku="C-1"))
        with uow_factory() as uow:
            first = uow.documents.get_by_key(WIDGETS, _sku_key("A-1"))
            found = uow.documents.get_by_keys(WIDGETS, [_sku_key("A-1"), _sku_key("C-1"), _sku_key("Z-9")])
            assert sorted((key, w.id) for key, w in found.items()) == [
                (_sku_key("A-1"), "a"),
                (_sku_key("C-1"), "c"),
            ]
            assert found[_sku_key("A-1")] is first

    def test_duplicate_id_is_refused(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a"))
        with pytest.raises(AlreadyExists):
            self._save(uow_factory, Widget("a"))

    def test_duplicate_key_is_refused(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", sku="A-1"))
        with pytest.raises(AlreadyExists):
            self._save(uow_factory, Widget("b", sku="A-1"))
        with uow_factory() as uow:
            assert uow.documents.get(WIDGETS, "b") is None

    def test_keys_follow_changes(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", sku="A-1"))
        with uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None
            widget.sku = "A-2"
            uow.commit()
        self._save(uow_factory, Widget("b", sku="A-1"))  # the old key is free again
        with uow_factory() as uow:
            by_new = uow.documents.get_by_key(WIDGETS, _sku_key("A-2"))
            by_old = uow.documents.get_by_key(WIDGETS, _sku_key("A-1"))
            assert by_new is not None and by_new.id == "a"
            assert by_old is not None and by_old.id == "b"

    def test_find_eq(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        assert self._ids(uow_factory, filters=[Eq("price", 100)]) == ["w5", "w2"]
        assert self._ids(uow_factory, filters=[Eq("active", False)]) == ["w2"]
        assert self._ids(uow_factory, filters=[Eq("note", None)]) == ["w4", "w2"]
        assert self._ids(uow_factory, filters=[Eq("id", "w3")]) == ["w3"]

    def test_find_in(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        assert self._ids(uow_factory, filters=[In("price", [100, 500])]) == ["w5", "w4", "w2"]
        assert self._ids(uow_factory, filters=[In("price", [])]) == []

    def test_find_between(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        assert self._ids(uow_factory, filters=[Between("price", 200, 300)]) == ["w3", "w1"]
        assert self._ids(uow_factory, filters=[Between("price", low=300)]) == ["w4", "w1"]
        assert self._ids(uow_factory, filters=[Between("price", high=100)]) == ["w5", "w2"]

    def test_find_contains_is_case_insensitive_and_literal(
        self, uow_factory: UowFactory, catalogue: list[Widget]
    ) -> None:
        assert self._ids(uow_factory, filters=[Contains("name", "APPLE")]) == ["w2", "w1"]
        assert self._ids(uow_factory, filters=[Contains("name", "0%")]) == ["w3"]
        assert self._ids(uow_factory, filters=[Contains("name", "N_")]) == ["w5"]

    def test_find_combines_filters(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        filters = [Eq("active", True), Between("price", high=300)]
        assert self._ids(uow_factory, filters=filters) == ["w5", "w3", "w1"]

    def test_find_orders_and_pages(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        assert self._ids(uow_factory) == ["w5", "w4", "w3", "w2", "w1"]
        by_price = [Order("price", descending=False)]
        assert self._ids(uow_factory, order=by_price) == ["w2", "w5", "w3", "w1", "w4"]
        two_keys = [Order("price", descending=True), Order("id", descending=False)]
        assert self._ids(uow_factory, order=two_keys) == ["w4", "w1", "w3", "w2", "w5"]
        assert self._ids(uow_factory, order=by_price, limit=2, offset=1) == ["w5", "w3"]
        assert self._ids(uow_factory, order=by_price, offset=4) == ["w4"]
        assert self._ids(uow_factory, order=[Order("note", descending=False)])[:2] == ["w2", "w4"]

    def test_find_refuses_unknown_columns(self, uow_factory: UowFactory) -> None:
        with uow_factory() as uow, pytest.raises(ValueError):
            uow.documents.find(WIDGETS, filters=[Eq("colour", "red")])

    def test_count(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        with uow_factory() as uow:
            assert uow.documents.count(WIDGETS) == 5
            assert uow.documents.count(WIDGETS, [Eq("active", True)]) == 4
            assert uow.documents.count(WIDGETS, [Contains("name", "apple"), Eq("price", 100)]) == 1

    def test_count_stops_at_at_most(self, uow_factory: UowFactory, catalogue: list[Widget]) -> None:
        with uow_factory() as uow:
            assert [uow.documents.count(WIDGETS, at_most=n) for n in (-1, 0, 1, 3, 5, 9)] == [
                0,
                0,
                1,
                3,
                5,
                5,
            ]
            assert uow.documents.count(WIDGETS, [Eq("active", True)], at_most=2) == 2
            assert uow.documents.count(WIDGETS, [Eq("active", True)], at_most=10) == 4

    def test_updates_bump_version_and_unchanged_loads_do_not(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", name="Anvil"))
        with uow_factory() as uow:
            assert uow.documents.get(WIDGETS, "a") is not None
            uow.commit()
        with uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None and widget.version == 1
            widget.price = 5
            uow.commit()
            assert widget.version == 2
        with uow_factory() as uow:
            assert uow.documents.count(WIDGETS, [Eq("price", 5), Eq("version", 2)]) == 1

    def test_stale_version_is_a_conflict(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", name="Anvil"))
        self._rename(uow_factory, "a", "Bolt")
        with uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None
            self._pretend_stale(uow, widget)
            widget.name = "Chisel"
            with pytest.raises(ConcurrencyConflict):
                uow.commit()
        self._assert_name(uow_factory, "a", "Bolt")

    def _pretend_stale(self, uow: StoreUnitOfWork, widget: Widget) -> None:
        """Make the store believe it loaded version 1 while version 2 is stored."""
        tracker = uow.documents._tracker  # type: ignore[attr-defined]
        tracker._items[(WIDGETS.kind, widget.id)].stored_version = 1

    def test_overlapping_units_of_work_conflict(self, uow_factory: UowFactory) -> None:
        if self.serial_transactions:
            pytest.skip("transactions on this backend cannot overlap within one thread")
        self._save(uow_factory, Widget("a", name="Anvil"))
        with uow_factory() as first:
            mine = first.documents.get(WIDGETS, "a")
            assert mine is not None
            self._rename(uow_factory, "a", "Bolt")
            mine.name = "Chisel"
            with pytest.raises(ConcurrencyConflict):
                first.commit()
        self._assert_name(uow_factory, "a", "Bolt")

    def test_concurrent_updates_lose_nothing(self, uow_factory: UowFactory) -> None:
        """Read-modify-write of one aggregate from many threads, retrying on conflicts."""
        self._save(uow_factory, Widget("a", price=0))
        errors: list[BaseException] = []

        def bump() -> None:
            try:
                for _ in range(5):
                    while True:
                        try:
                            with uow_factory() as uow:
                                widget = uow.documents.get(WIDGETS, "a")
                                assert widget is not None
                                widget.price += 1
                                uow.commit()
                            break
                        except ConcurrencyConflict:
                            continue
            except BaseException as error:  # reported in the main thread
                errors.append(error)

        threads = [threading.Thread(target=bump) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None and widget.price == 30 and widget.version == 31

    def test_leaving_without_commit_rolls_back(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", name="Anvil", sku="A-1"))
        with uow_factory() as uow:
            uow.documents.add(WIDGETS, Widget("b", sku="B-1"))
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None
            widget.name = "Changed"
            uow.documents.flush()
        with pytest.raises(RuntimeError), uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None
            widget.sku = "A-2"
            uow.documents.flush()
            raise RuntimeError("use case failed")
        self._assert_name(uow_factory, "a", "Anvil")
        with uow_factory() as uow:
            assert uow.documents.get(WIDGETS, "b") is None
            assert uow.documents.get_by_key(WIDGETS, _sku_key("B-1")) is None
            assert uow.documents.get_by_key(WIDGETS, _sku_key("A-1")) is not None

    def test_commit_hands_over_events(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", name="Anvil"))
        uow = uow_factory()
        with uow:
            widget = uow.documents.get(WIDGETS, "a")
            assert widget is not None
            widget.rename("Bolt", tick())
            widget.rename("Chisel", tick())
            uow.commit()
            assert widget.events == []
        assert [e.name for e in uow.collect_events() if isinstance(e, WidgetRenamed)] == ["Bolt", "Chisel"]
        assert uow.collect_events() == []

    def test_failed_commit_keeps_events_on_the_aggregate(self, uow_factory: UowFactory) -> None:
        self._save(uow_factory, Widget("a", sku="A-1"))
        uow = uow_factory()
        widget = Widget("b", sku="A-1")
        widget.rename("Bolt", tick())
        with uow, pytest.raises(AlreadyExists):
            uow.documents.add(WIDGETS, widget)
            uow.commit()
        assert uow.collect_events() == []
        assert len(widget.events) == 1

    def test_unit_of_work_can_be_entered_again(self, uow_factory: UowFactory) -> None:
        uow = uow_factory()
        with uow:
            uow.documents.add(WIDGETS, Widget("a"))
            uow.commit()
        with uow:
            uow.documents.add(WIDGETS, Widget("b"))
        with uow:
            assert uow.documents.get(WIDGETS, "a") is not None
            assert uow.documents.get(WIDGETS, "b") is None

    def _rename(self, uow_factory: UowFactory, ident: str, name: str) -> None:
        with uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, ident)
            assert widget is not None
            widget.name = name
            uow.commit()

    def _assert_name(self, uow_factory: UowFactory, ident: str, name: str) -> None:
        with uow_factory() as uow:
            widget = uow.documents.get(WIDGETS, ident)
            assert widget is not None and widget.name == name


class StockLedgerContract(_Contract):
    @pytest.fixture
    def sku(self, uow_factory: UowFactory) -> Iterator[str]:
        sku_id = new_id()
        with uow_factory() as uow:
            uow.stock.create(sku_id, "shop-1", 10, tick(), "setup")
            uow.commit()
        yield sku_id

    def _level(self, uow_factory: UowFactory, sku_id: str) -> StockLevel:
        with uow_factory() as uow:
            return uow.stock.get_many([sku_id])[sku_id]

    def _assert_ledger_consistent(self, uow_factory: UowFactory, sku_id: str) -> None:
        with uow_factory() as uow:
            level = uow.stock.get_many([sku_id])[sku_id]
            moves = uow.stock.movements(sku_id)
        assert sum(m.on_hand_delta for m in moves) == level.on_hand
        assert sum(m.reserved_delta for m in moves) == level.reserved
        assert 0 <= level.reserved <= level.on_hand

    def test_create_and_read(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            uow.stock.create("empty-sku", "shop-2", 0, tick(), "setup")
            uow.commit()
        with uow_factory() as uow:
            levels = uow.stock.get_many([sku, "empty-sku", "unknown"])
            moves = uow.stock.movements(sku)
        assert levels == {
            sku: StockLevel(sku, "shop-1", 10, 0),
            "empty-sku": StockLevel("empty-sku", "shop-2", 0, 0),
        }
        assert [(m.kind, m.on_hand_delta, m.reference) for m in moves] == [(MovementKind.ADJUST, 10, "setup")]
        assert moves[0].at.tzinfo is not None

    def test_create_twice_is_refused(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow, pytest.raises(AlreadyExists):
            uow.stock.create(sku, "shop-1", 1, tick(), "again")

    def test_reserve_release_commit_adjust(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            assert uow.stock.reserve(sku, 4, "order-1", tick())
            assert uow.stock.get_many([sku])[sku].available == 6  # own changes are visible
            uow.stock.release(sku, 1, "order-1", tick())
            uow.stock.commit(sku, 3, "order-1", tick())
            assert uow.stock.adjust(sku, 5, "restock", "po-1", tick())
            assert uow.stock.adjust(sku, -2, "damaged", "audit-1", tick())
            uow.commit()
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 0)
        with uow_factory() as uow:
            kinds = [(m.kind, m.on_hand_delta, m.reserved_delta) for m in uow.stock.movements(sku)]
        assert kinds == [
            (MovementKind.ADJUST, 10, 0),
            (MovementKind.RESERVE, 0, 4),
            (MovementKind.RELEASE, 0, -1),
            (MovementKind.COMMIT, -3, -3),
            (MovementKind.ADJUST, 5, 0),
            (MovementKind.ADJUST, -2, 0),
        ]
        self._assert_ledger_consistent(uow_factory, sku)

    def test_transfer_hands_a_hold_over_without_changing_the_row(
        self, uow_factory: UowFactory, sku: str
    ) -> None:
        with uow_factory() as uow:
            assert uow.stock.reserve(sku, 4, "flash_sale:1", tick())
            uow.stock.transfer(sku, 3, "flash_sale:1", "checkout:1", tick())
            assert uow.stock.get_many([sku])[sku] == StockLevel(sku, "shop-1", 10, 4)
            uow.commit()
        with uow_factory() as uow:
            moves = [(m.kind, m.reserved_delta, m.reference) for m in uow.stock.movements(sku)][1:]
        assert moves == [
            (MovementKind.RESERVE, 4, "flash_sale:1"),
            (MovementKind.RELEASE, -3, "flash_sale:1"),
            (MovementKind.RESERVE, 3, "checkout:1"),
        ]
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 4)
        self._assert_ledger_consistent(uow_factory, sku)

    def test_reserve_refused_when_not_enough(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            assert uow.stock.reserve(sku, 8, "order-1", tick())
            assert not uow.stock.reserve(sku, 3, "order-2", tick())
            uow.commit()
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 8)
        with uow_factory() as uow:
            assert len(uow.stock.movements(sku)) == 2
        self._assert_ledger_consistent(uow_factory, sku)

    def test_reserve_many_holds_what_is_available(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            uow.stock.create("other", "shop-1", 2, tick(), "setup")
            held = uow.stock.reserve_many({sku: 4, "other": 3, "unknown": 1}, "order-1", tick())
            assert held == {sku: StockLevel(sku, "shop-1", 10, 4)}  # other: only 2 on hand
            assert uow.stock.get_many([sku, "other"])["other"] == StockLevel("other", "shop-1", 2, 0)
            assert uow.stock.reserve_many({}, "order-1", tick()) == {}
            held = uow.stock.reserve_many({"other": 2, sku: 6}, "order-2", tick())
            assert held == {
                sku: StockLevel(sku, "shop-1", 10, 10),
                "other": StockLevel("other", "shop-1", 2, 2),
            }
            with pytest.raises(InvalidInput):
                uow.stock.reserve_many({sku: 0}, "order-3", tick())
            with pytest.raises(InvalidInput):
                uow.stock.reserve_many({sku: 1}, "order-3", datetime(2024, 1, 1))  # naive time
            uow.commit()
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 10)
        with uow_factory() as uow:
            moves = [(m.kind, m.reserved_delta, m.reference) for m in uow.stock.movements(sku)][1:]
        assert moves == [(MovementKind.RESERVE, 4, "order-1"), (MovementKind.RESERVE, 6, "order-2")]
        self._assert_ledger_consistent(uow_factory, sku)
        self._assert_ledger_consistent(uow_factory, "other")

    def test_adjust_cannot_go_below_reserved(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            assert uow.stock.reserve(sku, 6, "order-1", tick())
            assert not uow.stock.adjust(sku, -5, "count", "audit-1", tick())
            assert uow.stock.adjust(sku, -4, "count", "audit-1", tick())
            uow.commit()
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 6, 6)
        self._assert_ledger_consistent(uow_factory, sku)

    def test_release_or_commit_beyond_reserved_is_a_conflict(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            assert uow.stock.reserve(sku, 2, "order-1", tick())
            uow.commit()
        for operation in ("release", "commit"):
            with uow_factory() as uow, pytest.raises(Conflict):
                getattr(uow.stock, operation)(sku, 3, "order-1", tick())
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 2)
        self._assert_ledger_consistent(uow_factory, sku)

    def test_bad_quantities_and_unknown_skus(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            with pytest.raises(InvalidInput):
                uow.stock.reserve(sku, 0, "order-1", tick())
            with pytest.raises(InvalidInput):
                uow.stock.release(sku, -1, "order-1", tick())
            with pytest.raises(NotFound):
                uow.stock.reserve("unknown", 1, "order-1", tick())
            with pytest.raises(InvalidInput):
                uow.stock.reserve(sku, 1, "order-1", datetime(2024, 1, 1))  # naive time
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 0)

    def test_rollback_discards_stock_changes(self, uow_factory: UowFactory, sku: str) -> None:
        with uow_factory() as uow:
            assert uow.stock.reserve(sku, 3, "order-1", tick())
            uow.stock.create("other", "shop-1", 5, tick(), "setup")
        assert self._level(uow_factory, sku) == StockLevel(sku, "shop-1", 10, 0)
        with uow_factory() as uow:
            assert uow.stock.get_many(["other"]) == {}
            assert len(uow.stock.movements(sku)) == 1
            assert uow.stock.movements("other") == []
