from __future__ import annotations

import os
import uuid

from marketcore.application.shared.ids import new_id


def test_ids_are_uuid7_unique_and_increase_within_a_process() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122


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
