"""Opaque, time-ordered, non-enumerable identifiers (UUIDv7 layout).

Lives in the application layer because it reads the clock and the entropy pool. Ids from one
process are strictly increasing, so ordering by id orders by creation (movement ledgers rely on it).
"""

from __future__ import annotations

import os
import threading
import time

_lock = threading.Lock()
_last = 0


def new_id() -> str:
    """A UUIDv7 string: 48-bit millisecond timestamp, version, then random bits."""
    global _last
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    with _lock:
        if value <= _last:  # same millisecond: step past the previous id, keeping the layout
            value = _last + 1
        _last = value
    text = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, without building the UUID
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
