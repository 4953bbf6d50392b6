"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, DateTime, Dialect, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out; SQLite stores naive UTC text."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSONB on PostgreSQL (compact, indexable), JSON text elsewhere."""
    return JSON().with_variant(JSONB(), "postgresql")


def text_type() -> TypeEngine[str]:
    """Byte-order collation on PostgreSQL so ordering matches SQLite and the memory store."""
    return String().with_variant(String(collation="C"), "postgresql")


def json_serializer(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def json_deserializer(value: str | bytes) -> Any:
    return msgspec.json.decode(value)
