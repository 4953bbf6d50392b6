"""Events go to the outbox in the unit of work's transaction; the relay publishes them in order,
marks them only after the publisher confirmed, and in-process subscribers run after commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import Engine

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.clock import FrozenClock
from marketcore.adapters.memory.store import MemoryDatabase
from marketcore.adapters.memory.unit_of_work import MemoryUnitOfWork
from marketcore.adapters.messaging.memory import InMemoryEventPublisher
from marketcore.adapters.sqlalchemy.engine import create_engine_for
from marketcore.adapters.sqlalchemy.migrate import upgrade
from marketcore.adapters.sqlalchemy.tables import create_document_tables
from marketcore.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from marketcore.adapters.unit_of_work import StoreUnitOfWork
from marketcore.application.ordering.checkout import ItemRequest
from marketcore.application.shared.events import EventBus
from marketcore.application.shared.ports import OutboxMessage
from marketcore.application.shared.relay import OutboxRelay
from marketcore.bootstrap import InvalidSettings, Settings
from marketcore.domain.inventory.stock import InsufficientStock
from marketcore.domain.ordering.orders import OrderPlaced
from marketcore.domain.shared.errors import AlreadyExists
from marketcore.domain.shared.events import DomainEvent
from marketcore.entrypoints.cli import main
from marketcore.testing.scenarios import a_marketplace_with
from marketcore.testing.storage import CONTRACT_SPECS, WIDGETS, Widget, WidgetRenamed, tick

UowFactory = Callable[[], StoreUnitOfWork]


@pytest.fixture(params=["memory", "sqlite"])
def uow_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UowFactory]:
    if request.param == "memory":
        database = MemoryDatabase()
        yield lambda: MemoryUnitOfWork(database)
        return
    url = f"sqlite:///{tmp_path / 'outbox.db'}"
    upgrade(url)
    engine: Engine = create_engine_for(url)
    create_document_tables(engine, CONTRACT_SPECS)
    yield lambda: SqlAlchemyUnitOfWork(engine)
    engine.dispose()


@pytest.fixture(params=["memory://", "sqlite"])
def market(request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock) -> Iterator[Marketplace]:
    url = request.param if request.param == "memory://" else f"sqlite:///{tmp_path / 'market.db'}"
    m = create_marketplace(url, clock=clock)
    yield m
    m.close()


def outbox_of(uow_factory: Callable[[], StoreUnitOfWork]) -> list[OutboxMessage]:
    with uow_factory() as uow:
        return uow.outbox.messages(limit=100_000)


def market_outbox(m: Marketplace) -> list[OutboxMessage]:
    return outbox_of(m.container.uow())


def renamed_widgets(uow_factory: UowFactory, names: Sequence[str]) -> None:
    with uow_factory() as uow:
        widget = Widget(f"w-{names[0]}")
        for name in names:
            widget.rename(name, tick())
        uow.documents.add(WIDGETS, widget)
        uow.commit()


# --- the outbox is written in the unit of work's transaction --------------------------------------


def test_commit_writes_every_event_to_the_outbox(uow_factory: UowFactory) -> None:
    renamed_widgets(uow_factory, ["Anvil", "Bolt"])
    renamed_widgets(uow_factory, ["Chisel"])
    rows = outbox_of(uow_factory)
    assert [r.payload["name"] for r in rows] == ["Anvil", "Bolt", "Chisel"]
    assert [r.position for r in rows] == sorted({r.position for r in rows})
    assert len({r.event_id for r in rows}) == 3
    first = rows[0]
    assert first.name == "WidgetRenamed"
    assert (first.aggregate_kind, first.aggregate_id) == ("Widget", "w-Anvil")
    assert first.occurred_at.tzinfo is not None
    assert first.published_at is None
    event = WidgetRenamed(occurred_at=first.occurred_at, widget_id="w-Anvil", name="Anvil")
    assert first.payload == msgspec.to_builtins(event)


def test_leaving_without_commit_writes_no_outbox_rows(uow_factory: UowFactory) -> None:
    with uow_factory() as uow:
        widget = Widget("w")
        widget.rename("Anvil", tick())
        uow.documents.add(WIDGETS, widget)
        uow.documents.flush()
    with pytest.raises(RuntimeError), uow_factory() as uow:
        widget = Widget("v")
        widget.rename("Bolt", tick())
        uow.documents.add(WIDGETS, widget)
        raise RuntimeError("use case failed")
    assert outbox_of(uow_factory) == []


def test_a_failed_commit_writes_no_outbox_rows(uow_factory: UowFactory) -> None:
    renamed_widgets(uow_factory, ["Anvil"])
    uow = uow_factory()
    duplicate = Widget("w-Anvil")  # the id is taken: the flush fails inside commit
    duplicate.rename("Bolt", tick())
    with uow, pytest.raises(AlreadyExists):
        uow.documents.add(WIDGETS, duplicate)
        uow.commit()
    assert [r.payload["name"] for r in outbox_of(uow_factory)] == ["Anvil"]
    assert uow.collect_events() == []
    assert len(duplicate.events) == 1


def test_checkout_events_land_in_the_outbox_and_a_failed_checkout_adds_none(market: Marketplace) -> None:
    s = a_marketplace_with(market, shops=2, stock=3)
    before = market_outbox(market)
    result = market.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)]
    )
    after = market_outbox(market)
    new = after[len(before) :]
    placed = [r for r in new if r.name == "OrderPlaced"]
    assert [r.aggregate_id for r in placed] == [o.id for o in result.orders]
    assert {r.aggregate_kind for r in placed} == {"Order"}
    items = [ItemRequest(s.shops[0].sku_ids[0], 1), ItemRequest(s.shops[1].sku_ids[0], 4)]
    with pytest.raises(InsufficientStock):
        market.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    assert market_outbox(market) == after


# --- the relay ------------------------------------------------------------------------------------


def test_relay_publishes_in_position_order_and_marks_rows(
    uow_factory: UowFactory, clock: FrozenClock
) -> None:
    for n in range(7):
        renamed_widgets(uow_factory, [f"w{n}a", f"w{n}b"])
    publisher = InMemoryEventPublisher()
    relay = OutboxRelay(uow_factory, publisher, clock, batch_size=5)
    assert relay.relay_once() == 5
    assert relay.relay_once(batch_size=3) == 3
    assert relay.relay_all() == 6
    assert relay.relay_once() == 0
    rows = outbox_of(uow_factory)
    assert [m.position for m in publisher.messages] == [r.position for r in rows]
    assert [m.event_id for m in publisher.messages] == [r.event_id for r in rows]
    assert all(r.published_at == clock.now() for r in rows)
    with uow_factory() as uow:
        assert uow.outbox.count_unpublished() == 0


def test_a_publisher_failure_leaves_the_rows_unpublished(uow_factory: UowFactory, clock: FrozenClock) -> None:
    renamed_widgets(uow_factory, ["a", "b", "c"])
    publisher = InMemoryEventPublisher()
    relay = OutboxRelay(uow_factory, publisher, clock)
    publisher.fail_next()
    with pytest.raises(ConnectionError):
        relay.relay_once()
    assert publisher.messages == []
    assert all(r.published_at is None for r in outbox_of(uow_factory))
    assert relay.relay_once() == 3
    assert [m.payload["name"] for m in publisher.messages] == ["a", "b", "c"]


class ConfirmsThenCrashes:
    """A broker that confirmed the first ``confirmed`` messages of the batch, then went away."""

    def __init__(self, confirmed: int) -> None:
        self.confirmed = confirmed
        self.delivered: list[OutboxMessage] = []

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        self.delivered.extend(messages[: self.confirmed])
        raise ConnectionError("connection lost after partial confirms")

    def close(self) -> None:
        pass


def test_a_partly_published_batch_is_published_again_whole(
    uow_factory: UowFactory, clock: FrozenClock
) -> None:
    renamed_widgets(uow_factory, ["a", "b", "c", "d"])
    crashing = ConfirmsThenCrashes(confirmed=2)
    with pytest.raises(ConnectionError):
        OutboxRelay(uow_factory, crashing, clock).relay_once()
    publisher = InMemoryEventPublisher()
    assert OutboxRelay(uow_factory, publisher, clock).relay_all() == 4
    delivered = [m.event_id for m in crashing.delivered + publisher.messages]
    assert len(delivered) == 6 and len(set(delivered)) == 4  # at least once: duplicates, no loss


def test_relay_forever_retries_after_failures_and_stops_when_told(
    uow_factory: UowFactory, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    renamed_widgets(uow_factory, ["a", "b", "c"])
    publisher = InMemoryEventPublisher()
    publisher.fail_next(2)
    relay = OutboxRelay(uow_factory, publisher, clock, batch_size=2)
    stop = threading.Event()
    worker = threading.Thread(target=relay.relay_forever, args=(stop, 0.01))
    with caplog.at_level(logging.ERROR):
        worker.start()
        for _ in range(500):
            if len(publisher.messages) == 3:
                break
            stop.wait(0.01)
        stop.set()
        worker.join(5)
    assert not worker.is_alive()
    assert [m.payload["name"] for m in publisher.messages] == ["a", "b", "c"]
    assert "outbox relay pass failed" in caplog.text


def test_batch_size_must_be_positive(clock: FrozenClock) -> None:
    with pytest.raises(ValueError):
        OutboxRelay(lambda: MemoryUnitOfWork(MemoryDatabase()), InMemoryEventPublisher(), clock, batch_size=0)


def test_the_marketplace_relays_through_the_in_memory_publisher_without_a_broker(market: Marketplace) -> None:
    s = a_marketplace_with(market, shops=1)
    market.checkout.checkout(s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)])
    publisher = market.container.publisher()
    assert isinstance(publisher, InMemoryEventPublisher)
    published = market.relay.relay_all()
    assert published == len(market_outbox(market)) > 0
    assert "OrderPlaced" in [m.name for m in publisher.messages]


# --- in-process subscribers -----------------------------------------------------------------------


def test_a_subscriber_sees_order_placed_after_commit_and_nothing_on_rollback(market: Marketplace) -> None:
    s = a_marketplace_with(market, shops=2, stock=3)
    seen: list[OrderPlaced] = []
    visible: list[bool] = []

    def on_placed(event: OrderPlaced) -> None:
        seen.append(event)
        # after commit: a fresh unit of work already sees the order (and no lock is held)
        with market.container.uow()() as uow:
            visible.append(uow.orders.get(event.order_id) is not None)

    market.events.subscribe(OrderPlaced, on_placed)
    result = market.checkout.checkout(
        s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)]
    )
    assert [e.order_id for e in seen] == [o.id for o in result.orders]
    assert visible == [True]
    seen.clear()
    items = [ItemRequest(s.shops[0].sku_ids[0], 1), ItemRequest(s.shops[1].sku_ids[0], 4)]
    with pytest.raises(InsufficientStock):
        market.checkout.checkout(s.buyer, s.address_id, "sandbox", items)
    assert seen == []


def test_a_failing_handler_is_logged_and_undoes_nothing(
    market: Marketplace, caplog: pytest.LogCaptureFixture
) -> None:
    s = a_marketplace_with(market, shops=1)
    after: list[str] = []

    def broken(event: OrderPlaced) -> None:
        raise RuntimeError("handler bug")

    market.events.subscribe(OrderPlaced, broken)
    market.events.subscribe(DomainEvent, lambda e: after.append(e.name))
    with caplog.at_level(logging.ERROR):
        result = market.checkout.checkout(
            s.buyer, s.address_id, "sandbox", [ItemRequest(s.shops[0].sku_ids[0], 1)]
        )
    assert "handler bug" in caplog.text and "OrderPlaced" in caplog.text
    assert "OrderPlaced" in after  # the other handlers still ran
    assert market.orders.order(s.buyer, result.orders[0].id) is not None


def test_the_bus_matches_subclasses_and_can_unsubscribe() -> None:
    bus = EventBus()
    got: list[str] = []

    def everything(event: DomainEvent) -> None:
        got.append(f"all:{type(event).__name__}")

    bus.subscribe(DomainEvent, everything)
    bus.subscribe(WidgetRenamed, lambda e: got.append(f"widget:{e.name}"))
    bus.dispatch([WidgetRenamed(occurred_at=tick(), widget_id="w", name="x")])
    assert got == ["all:WidgetRenamed", "widget:x"]
    bus.unsubscribe(DomainEvent, everything)
    got.clear()
    bus.dispatch([WidgetRenamed(occurred_at=tick(), widget_id="w", name="y")])
    assert got == ["widget:y"]
    with pytest.raises(TypeError):
        bus.subscribe(int, everything)  # type: ignore[type-var, arg-type]


# --- settings and the command ---------------------------------------------------------------------


def test_broker_settings_are_validated() -> None:
    settings = Settings.load({}, broker_url="amqp://guest:guest@127.0.0.1:5672/%2F", relay_batch_size="50")
    assert settings.broker_url.startswith("amqp://") and settings.relay_batch_size == 50
    assert Settings.load({}).broker_url == ""
    assert Settings.load({}).events_exchange == "marketcore.events"
    for key, value in [
        ("broker_url", "http://rabbit"),
        ("events_exchange", " "),
        ("events_exchange", "amq.topic"),
        ("relay_batch_size", "0"),
        ("relay_interval_ms", "soon"),
    ]:
        with pytest.raises(InvalidSettings) as error:
            Settings.load({}, **{key: value})
        assert error.value.key == key
        assert f"MARKETCORE_{key.upper()}" in str(error.value)


def test_the_relay_command_needs_a_broker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MARKETCORE_BROKER_URL", raising=False)
    monkeypatch.setenv("MARKETCORE_DATABASE_URL", "memory://")
    assert main(["relay"]) == 2
    assert "MARKETCORE_BROKER_URL" in capsys.readouterr().err
