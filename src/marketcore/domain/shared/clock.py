"""Time as a value: the domain never reads the clock; it is handed ``now``."""

from __future__ import annotations

from datetime import datetime

from marketcore.domain.shared.errors import InvalidInput


def require_aware(value: datetime, field: str = "at") -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(field, "timestamps must be timezone-aware")
    return value
