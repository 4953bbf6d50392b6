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
# Random bytes read from the OS a page at a time: one getrandom call per id was 5 % of a
# checkout (a dozen ids each). Forgotten in a forked child, so two processes never share them.
_POOL_SIZE = 4000
_pool = b""
_taken = _POOL_SIZE


def _forget_pool() -> None:
    global _pool, _taken
    _pool, _taken = b"", _POOL_SIZE


os.register_at_fork(after_in_child=_forget_pool)


def _random_bytes(count: int) -> int:
    """``count`` random bytes from the pool, as an integer (the caller holds ``_lock``)."""
    global _pool, _taken
    if _taken + count > _POOL_SIZE:
        _pool, _taken = os.urandom(_POOL_SIZE), 0
    start, _taken = _taken, _taken + count
    return int.from_bytes(_pool[start:_taken], "big")


def random_below(bound: int) -> int:
    """A uniformly random integer in ``[0, bound)``, from the ids' pool (an order number's
    digits: ``secrets.randbelow`` would cost a system call each)."""
    if not 0 < bound <= 1 << 128:
        raise ValueError("bound must be between 1 and 2**128")
    bits = (bound - 1).bit_length()
    with _lock:
        while True:  # rejection sampling: no value more likely than another
            value = _random_bytes((bits + 7) // 8) & ((1 << bits) - 1)
            if value < bound:
                return value


# UUIDv7's version (7) and variant (0b10) bits, set over 80 random ones below the timestamp.
_LAYOUT_MASK = ((1 << 128) - 1) ^ ((0xF << 76) | (0x3 << 62))
_LAYOUT_BITS = (0x7 << 76) | (0b10 << 62)


def new_id() -> str:
    """A UUIDv7 string: 48-bit millisecond timestamp, version, then random bits."""
    global _last
    millis = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    with _lock:
        value = ((millis << 80) | _random_bytes(10)) & _LAYOUT_MASK | _LAYOUT_BITS
        if value <= _last:  # same millisecond: step past the previous id, keeping the layout
            value = _last + 1
        _last = value
    text = value.to_bytes(16, "big").hex()  # what str(uuid.UUID(int=value)) gives, cheaper
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
