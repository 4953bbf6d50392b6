"""``EventPublisher`` adapters: in-memory (tests, embedding) and RabbitMQ (AMQP 0-9-1 via pika)."""
