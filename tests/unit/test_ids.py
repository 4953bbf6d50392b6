from __future__ import annotations

import os
import time
import uuid

from marketcore.application.shared.ids import new_id, random_below


def test_ids_are_uuid7_unique_and_increase_within_a_process() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


def test_an_id_carries_its_millisecond_and_74_random_bits() -> None:
    before = time.time_ns() // 1_000_000
    ids = [uuid.UUID(new_id()).int for _ in range(2_000)]
    after = time.time_ns() // 1_000_000
    assert all(before <= value >> 80 <= after for value in ids)
    assert all(uuid.UUID(int=value).version == 7 for value in ids)
    # Every random bit (12 after the version, 62 after the variant) takes both values.
    random_bits = [b for b in range(80) if b not in (62, 63, 76, 77, 78, 79)]
    for bit in random_bits:
        assert len({(value >> bit) & 1 for value in ids}) == 2, bit


def test_a_forked_child_draws_other_random_bits_than_its_parent() -> None:
    new_id()  # the parent now holds unread random bytes, which the child must not reuse
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, "".join(new_id()[14:] for _ in range(50)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        from_child = pipe.read()
    os.waitpid(child, 0)
    from_parent = "".join(new_id()[14:] for _ in range(50))
    assert len(from_child) == len(from_parent)
    assert from_child != from_parent


def test_random_below_stays_in_range_and_reaches_every_value() -> None:
    draws = [random_below(6) for _ in range(6_000)]
    assert set(draws) == set(range(6))
    assert min(draws.count(n) for n in range(6)) > 800  # about 1,000 each; a bias would show
    assert all(0 <= random_below(10**12) < 10**12 for _ in range(1_000))
    assert random_below(1) == 0
