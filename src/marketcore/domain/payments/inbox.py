"""The payment inbox: every verified provider notification, stored once by the provider's event id.

A notification is stored before anything acts on it and acknowledged to the provider once stored,
so from then on redelivery is our job, not the provider's: a message still ``due`` is processed
again by the worker until it is done. Its id is ``{gateway}:{event_id}``, which makes the second
copy of a notification a duplicate key, however many arrive at once.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime

import attrs

from marketcore.domain.shared.events import Aggregate


def inbox_id(gateway: str, event_id: str) -> str:
    return f"{gateway}:{event_id}"


@attrs.define(eq=False)
class InboxMessage(Aggregate):
    gateway: str
    event_id: str
    received_at: datetime
    headers: dict[str, str]
    body: str  # base64 of the exact bytes received: signatures cover them
    processed_at: datetime | None = None
    outcome: list[str] = attrs.Factory(list)  # what processing did, one line per change
    attempts: int = 0
    last_error: str | None = None
    due_at: datetime | None = None  # when the worker should (re)process it; None once processed

    @classmethod
    def receive(
        cls, gateway: str, event_id: str, headers: Mapping[str, str], body: bytes, at: datetime
    ) -> InboxMessage:
        return cls(
            inbox_id(gateway, event_id),
            gateway=gateway,
            event_id=event_id,
            received_at=at,
            headers=dict(headers),
            body=base64.b64encode(body).decode("ascii"),
            due_at=at,
        )

    @property
    def raw_body(self) -> bytes:
        return base64.b64decode(self.body)

    def processed(self, outcome: list[str], at: datetime) -> None:
        self.processed_at = at
        self.outcome = outcome
        self.due_at = None
        self.last_error = None

    def failed(self, error: str, retry_at: datetime) -> None:
        """Processing raised; keep the message due for another attempt."""
        self.attempts += 1
        self.last_error = error[:500]
        self.due_at = retry_at
