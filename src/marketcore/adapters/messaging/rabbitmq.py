"""``EventPublisher`` over RabbitMQ (AMQP 0-9-1) with publisher confirms, using pika.

Every message goes to a durable topic exchange (``marketcore.events`` by default) with the event
name as routing key, persistent delivery mode, ``message_id`` = the event id, ``type`` = the event
name, ``content_type`` ``application/json`` and the event's JSON payload as body; the aggregate and
the outbox position travel as headers. The channel is in confirm mode, so ``basic_publish`` returns
only once the broker has taken responsibility for the message (persisted it for durable queues) and
raises if the broker refuses it. ``publish`` therefore returns only when every message of the batch
is confirmed.

On a lost connection the publisher reconnects and sends the whole batch again (the consumer may see
some messages twice; they carry the same ``message_id``). A second failure in a row is raised, and
the relay leaves the rows unpublished for its next pass.

pika's ``BlockingConnection`` is not thread-safe: use one publisher per thread (the relay is
single-threaded).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import msgspec
import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import AMQPChannelError, AMQPConnectionError, StreamLostError

from marketcore.application.shared.ports import OutboxMessage

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE = "marketcore.events"
_RETRYABLE = (AMQPConnectionError, AMQPChannelError, StreamLostError, ConnectionError, OSError)


def amqp_properties(message: OutboxMessage) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=pika.DeliveryMode.Persistent,
        message_id=message.event_id,
        type=message.name,
        timestamp=int(message.occurred_at.timestamp()),
        headers={
            "aggregate_kind": message.aggregate_kind,
            "aggregate_id": message.aggregate_id,
            "occurred_at": message.occurred_at.isoformat(),
            "outbox_position": message.position,
        },
    )


class RabbitMqEventPublisher:
    def __init__(
        self,
        url: str,
        exchange: str = DEFAULT_EXCHANGE,
        *,
        connection_attempts: int = 3,
        retry_delay: float = 1.0,
        socket_timeout: float = 10.0,
        blocked_connection_timeout: float = 30.0,
    ) -> None:
        if not exchange:
            raise ValueError("the exchange name must not be empty")
        self.exchange = exchange
        self._parameters = pika.URLParameters(url)
        self._parameters.connection_attempts = connection_attempts
        self._parameters.retry_delay = retry_delay
        self._parameters.socket_timeout = socket_timeout
        # A broker that blocks publishers (disk or memory alarm) must not hang the relay forever.
        self._parameters.blocked_connection_timeout = blocked_connection_timeout
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def publish(self, messages: Sequence[OutboxMessage]) -> None:
        if not messages:
            return
        try:
            self._publish(messages)
        except _RETRYABLE as error:
            log.warning("lost the broker connection (%s); reconnecting and publishing again", error)
            self._reset()
            self._publish(messages)

    def _publish(self, messages: Sequence[OutboxMessage]) -> None:
        channel = self._ensure_channel()
        for message in messages:
            # Blocks until the broker acks; raises NackError if it nacks.
            channel.basic_publish(
                exchange=self.exchange,
                routing_key=message.name,
                body=msgspec.json.encode(message.payload),
                properties=amqp_properties(message),
            )

    def _ensure_channel(self) -> BlockingChannel:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self._reset()
        connection = pika.BlockingConnection(self._parameters)
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
        except BaseException:
            _close_quietly(connection)
            raise
        self._connection, self._channel = connection, channel
        return channel

    def _reset(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            _close_quietly(connection)

    def close(self) -> None:
        self._reset()


def _close_quietly(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # already broken; nothing left to release cleanly
        log.debug("closing a broken AMQP connection failed", exc_info=True)
