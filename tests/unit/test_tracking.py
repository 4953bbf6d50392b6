"""The tracker's unchanged-document test: a snapshot holds the document's body as the JSON bytes
``DocumentSpec.encode`` gives, and equal bytes skip the write. The bytes must therefore hold
exactly what is stored, the same way each time: no version, no events, dict keys in order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import msgspec

from marketcore.adapters.documents import DocumentSpec
from marketcore.adapters.repositories import BLACKLIST
from marketcore.adapters.tracking import Snapshot, Tracker
from marketcore.domain.risk.rules import BlacklistEntry, SubjectKind
from marketcore.domain.shared.events import Aggregate, DomainEvent


def _entry() -> BlacklistEntry:
    return BlacklistEntry(
        "phone:139",
        kind=SubjectKind.PHONE,
        value="139",
        reason="chargebacks",
        added_by="operator",
        added_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


def _served(entry: Aggregate, spec: DocumentSpec[Any] = BLACKLIST) -> Tracker:
    tracker = Tracker()
    tracker.track(spec, entry, Snapshot.of(spec, entry), 1)
    return tracker


@attrs.define(eq=False)
class _Tagged(Aggregate):
    tags: dict[str, str] = attrs.field(factory=dict)


_TAGGED = DocumentSpec("tagged", _Tagged)


def test_an_unchanged_served_document_is_not_written() -> None:
    assert _served(_entry()).pending() == []


def test_a_changed_served_document_is_written() -> None:
    entry = _entry()
    tracker = _served(entry)
    entry.reason = "fraud ring"
    (write,) = tracker.pending()
    assert msgspec.json.decode(write.snapshot.body)["reason"] == "fraud ring"


def test_the_body_holds_neither_the_version_nor_the_events() -> None:
    entry = _entry()
    tracker = _served(entry)
    entry.version = 7
    entry.record(DomainEvent(occurred_at=datetime(2026, 12, 2, tzinfo=UTC)))
    assert tracker.pending() == []  # an event alone, or a new version, is no change
    body = msgspec.json.decode(BLACKLIST.encode(entry))
    assert "version" not in body and "events" not in body
    assert BLACKLIST.decode(body, 7) == entry


def test_equal_dicts_encode_alike_whatever_their_order() -> None:
    doc = _Tagged("t1", tags={"b": "2", "a": "1"})
    tracker = _served(doc, _TAGGED)
    doc.tags = {"a": "1", "b": "2"}
    assert tracker.pending() == []
    doc.tags["c"] = "3"
    assert len(tracker.pending()) == 1
