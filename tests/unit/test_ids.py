from __future__ import annotations

import uuid

from marketcore.application.shared.ids import new_id


def test_ids_are_uuid7_unique_and_increase_within_a_process() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
