"""The tracker's unchanged-document test: a snapshot served by a cache carries the aggregate's
encoding, and equal bytes skip the write; anything else still goes through the full comparison."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import msgspec

from marketcore.adapters.repositories import BLACKLIST
from marketcore.adapters.tracking import Snapshot, Tracker
from marketcore.domain.risk.rules import BlacklistEntry, SubjectKind


def _entry() -> BlacklistEntry:
    return BlacklistEntry(
        "phone:139",
        kind=SubjectKind.PHONE,
        value="139",
        reason="chargebacks",
        added_by="operator",
        added_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def _served(entry: BlacklistEntry, encoded: bytes) -> Tracker:
    tracker = Tracker()
    tracker.track(BLACKLIST, entry, attrs.evolve(Snapshot.of(BLACKLIST, entry), encoded=encoded), 1)
    return tracker


def test_an_unchanged_served_document_is_not_written() -> None:
    entry = _entry()
    assert _served(entry, msgspec.json.encode(entry)).pending() == []


def test_a_changed_served_document_is_written() -> None:
    entry = _entry()
    tracker = _served(entry, msgspec.json.encode(entry))
    entry.reason = "fraud ring"
    (write,) = tracker.pending()
    assert write.snapshot.data["reason"] == "fraud ring"


def test_bytes_that_differ_fall_back_to_comparing_the_documents() -> None:
    # An event recorded, or an encoding of another moment: the body alone decides.
    entry = _entry()
    tracker = _served(entry, b"{}")
    assert tracker.pending() == []
    entry.reason = "fraud ring"
    assert len(tracker.pending()) == 1


def test_the_encoding_does_not_make_snapshots_unequal() -> None:
    entry = _entry()
    plain = Snapshot.of(BLACKLIST, entry)
    assert attrs.evolve(plain, encoded=msgspec.json.encode(entry)) == plain
