"""Text field checks shared by every context, so each error names its field the same way."""

from __future__ import annotations

from marketcore.domain.shared.errors import InvalidInput


def require_text(field: str, value: str, max_length: int, *, min_length: int = 1) -> str:
    """The value stripped, if its length is within bounds."""
    value = value.strip()
    if not min_length <= len(value) <= max_length:
        raise InvalidInput(field, f"must be {min_length} to {max_length} characters")
    return value
