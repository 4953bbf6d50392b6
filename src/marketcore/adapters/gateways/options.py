"""Reading a gateway's settings: the kinds of value every provider's ``config_from`` takes alike.

Each bad value raises ``InvalidInput("<code>_<key>", ...)`` naming the setting as the operator
wrote it (``MARKETCORE_<CODE>_<KEY>``), never echoing the value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import attrs

from marketcore.domain.shared.errors import InvalidInput


@attrs.frozen
class GatewayOptions:
    """One gateway's options by lower-case key (``MARKETCORE_STRIPE_API_KEY`` -> ``api_key``)."""

    code: str
    values: Mapping[str, str]

    def text(self, key: str) -> str:
        """The value without surrounding blanks; empty when not set."""
        return self.values.get(key, "").strip()

    def whole_number(self, key: str, default: int, low: int, high: int) -> int:
        text = self.text(key)
        if not text:
            return default
        if not re.fullmatch(r"\d{1,9}", text) or not low <= int(text) <= high:
            raise InvalidInput(f"{self.code}_{key}", f"must be a whole number from {low} to {high}")
        return int(text)

    def seconds(self, key: str, default: float) -> float:
        """A timeout: above 0, at most five minutes."""
        try:
            value = float(self.text(key) or default)
        except ValueError:
            value = math.nan
        if not 0 < value <= 300:  # nan fails too
            raise InvalidInput(f"{self.code}_{key}", "must be a number of seconds above 0, at most 300")
        return value

    def origin(self, key: str, default: str) -> str:
        """An http(s) origin such as the provider's API base, without the trailing slash."""
        value = self.text(key) or default
        if not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+/?", value):
            raise InvalidInput(f"{self.code}_{key}", f"must be an http(s) origin such as {default}")
        return value.rstrip("/")
