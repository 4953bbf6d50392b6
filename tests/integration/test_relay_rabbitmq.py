"""The outbox relay against a real RabbitMQ and PostgreSQL: order, confirms, and a SIGKILL mid-way.

RabbitMQ comes from ``MARKETCORE_TEST_BROKER_URL`` (default guest@127.0.0.1:5672); when it is
unreachable the tests skip, except under ``CI=true`` where they fail. Every test publishes to an
exchange of its own, deleted afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import msgspec
import pika
import pytest

from marketcore import Marketplace, create_marketplace
from marketcore.adapters.messaging.rabbitmq import RabbitMqEventPublisher
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import OutboxMessage
from marketcore.testing.scenarios import a_marketplace_with

pytestmark = pytest.mark.postgres

DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"

FillOutbox = Callable[[Marketplace, int], list[str]]  # the ``fill_outbox`` fixture (tests/conftest.py)


@pytest.fixture(scope="session")
def broker_url() -> str:
    url = os.environ.get("MARKETCORE_TEST_BROKER_URL", DEFAULT_BROKER_URL)
    parameters = pika.URLParameters(url)
    parameters.connection_attempts = 1
    parameters.socket_timeout = 5
    try:
        pika.BlockingConnection(parameters).close()
    except Exception as error:
        message = f"RabbitMQ unreachable at {url}: {error!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


class Consumer:
    """A temporary, exclusive queue bound to the exchange for every routing key."""

    def __init__(self, url: str, exchange: str) -> None:
        self.exchange = exchange
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare(queue="", exclusive=True).method.queue
        self.channel.queue_bind(queue=self.queue, exchange=exchange, routing_key="#")

    def drain(self, idle: float = 1.0) -> list[tuple[Any, Any, bytes]]:
        """Everything queued until ``idle`` seconds pass without a message."""
        got = []
        for method, properties, body in self.channel.consume(
            self.queue, auto_ack=True, inactivity_timeout=idle
        ):
            if method is None:
                break
            got.append((method, properties, body))
        self.channel.cancel()
        return got

    def close(self) -> None:
        self.channel.exchange_delete(self.exchange)
        self.connection.close()


@pytest.fixture
def exchange() -> str:
    return f"marketcore.test.{uuid.uuid4().hex[:12]}"


@pytest.fixture
def consumer(broker_url: str, exchange: str) -> Iterator[Consumer]:
    c = Consumer(broker_url, exchange)
    yield c
    c.close()


def all_rows(m: Marketplace) -> list[OutboxMessage]:
    with m.container.uow()() as uow:
        return uow.outbox.messages(limit=100_000)


def test_a_checkout_flow_reaches_rabbitmq_in_order(
    fresh_postgres_url: str, broker_url: str, exchange: str, consumer: Consumer
) -> None:
    m = create_marketplace(fresh_postgres_url, broker_url=broker_url, events_exchange=exchange)
    try:
        assert isinstance(m.relay.publisher, RabbitMqEventPublisher)
        s = a_marketplace_with(m, shops=2)
        m.cart.add_item(s.buyer, s.shops[0].sku_ids[0], 1)
        m.cart.add_item(s.buyer, s.shops[1].sku_ids[1], 2)
        result = m.checkout.checkout(s.buyer, s.address_id, "sandbox")
        payment = m.payments.start(s.buyer, result.checkout.id, "sandbox")
        m.payments.complete_sandbox(s.buyer, payment.id, succeeded=True)
        m.relay.relay_once(batch_size=3)  # several passes, each confirmed before it is marked
        m.relay.relay_all()
        rows = all_rows(m)
    finally:
        m.close()
    assert {"OrderPlaced", "OrderPaid"} <= {r.name for r in rows}
    assert all(r.published_at is not None for r in rows)
    received = consumer.drain()
    assert [p.message_id for _, p, _ in received] == [r.event_id for r in rows]
    for (method, properties, body), row in zip(received, rows, strict=True):
        assert method.routing_key == row.name == properties.type
        assert properties.content_type == "application/json"
        assert properties.delivery_mode == pika.DeliveryMode.Persistent.value
        assert properties.headers["aggregate_id"] == row.aggregate_id
        assert properties.headers["aggregate_kind"] == row.aggregate_kind
        assert properties.headers["outbox_position"] == row.position
        assert msgspec.json.decode(body) == row.payload
    placed = [
        msgspec.json.decode(b)["order_id"] for meth, _, b in received if meth.routing_key == "OrderPlaced"
    ]
    assert placed == [o.id for o in result.orders]


def test_the_publisher_reconnects_after_losing_its_connection(
    broker_url: str, exchange: str, consumer: Consumer, caplog: pytest.LogCaptureFixture
) -> None:
    publisher = RabbitMqEventPublisher(broker_url, exchange)
    first = OutboxMessage(
        position=1,
        event_id=new_id(),
        name="Tick",
        aggregate_kind="Clock",
        aggregate_id="c",
        occurred_at=datetime.now(UTC),
        payload={"n": 1},
    )
    second = attrs.evolve(first, position=2, event_id=new_id())
    try:
        publisher.publish([first])
        connection = publisher._connection
        assert connection is not None
        # The network drops under the open connection (pika keeps the socket on its transport).
        connection._impl._transport._sock.shutdown(socket.SHUT_RDWR)
        with caplog.at_level(logging.WARNING):
            publisher.publish([second])
    finally:
        publisher.close()
    assert "reconnecting" in caplog.text
    assert [p.message_id for _, p, _ in consumer.drain()] == [first.event_id, second.event_id]


def relay_process(database_url: str, broker_url: str, exchange: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "MARKETCORE_DATABASE_URL": database_url,
        "MARKETCORE_BROKER_URL": broker_url,
        "MARKETCORE_EVENTS_EXCHANGE": exchange,
        "MARKETCORE_RELAY_BATCH_SIZE": "5",
        "MARKETCORE_RELAY_INTERVAL_MS": "50",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "marketcore.entrypoints.cli", "relay", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def published_count(m: Marketplace) -> int:
    with m.container.uow()() as uow:
        return len(all_rows(m)) - uow.outbox.count_unpublished()


def test_a_relay_killed_mid_way_loses_nothing(
    fresh_postgres_url: str, broker_url: str, exchange: str, consumer: Consumer, fill_outbox: FillOutbox
) -> None:
    total = 600
    m = create_marketplace(fresh_postgres_url)
    try:
        event_ids = fill_outbox(m, total)

        first = relay_process(fresh_postgres_url, broker_url, exchange)
        deadline = time.monotonic() + 60
        while published_count(m) < 50:
            assert first.poll() is None, first.stderr.read() if first.stderr else ""
            assert time.monotonic() < deadline, "the relay published nothing"
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        at_kill = published_count(m)
        assert 50 <= at_kill < total, "the relay finished before it was killed"
        print(f"killed the relay after {at_kill} of {total} rows were marked")

        second = relay_process(fresh_postgres_url, broker_url, exchange)
        deadline = time.monotonic() + 120
        while published_count(m) < total:
            assert second.poll() is None, second.stderr.read() if second.stderr else ""
            assert time.monotonic() < deadline, "the second relay did not finish"
            time.sleep(0.05)
        second.send_signal(signal.SIGTERM)  # a graceful stop
        assert second.wait(30) == 0
        rows = all_rows(m)
    finally:
        m.close()

    assert all(r.published_at is not None for r in rows)
    received = Counter(p.message_id for _, p, _ in consumer.drain())
    assert set(received) == set(event_ids)  # every row arrived at least once
    duplicates = sum(received.values()) - total
    assert 0 <= duplicates <= 5  # at most the batch in flight when the relay died
