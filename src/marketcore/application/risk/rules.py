"""Built-in risk rules. Thresholds are constructor data so operators' settings can change them."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

from marketcore.application.risk.ports import RiskUnitOfWork
from marketcore.domain.risk.rules import BlacklistEntry, RiskEvent, RuleHit, Verdict


class BlacklistRule:
    """Blocks when the user, phone, address, IP or device of the event is blacklisted."""

    code: ClassVar[str] = "blacklist"

    def evaluate(self, event: RiskEvent, uow: RiskUnitOfWork) -> RuleHit | None:
        keys = [BlacklistEntry.key(kind, value) for kind, value in event.subjects]
        matches = uow.blacklist.matching(keys)
        if not matches:
            return None
        listed = ", ".join(sorted(entry.id for entry in matches))
        return RuleHit(self.code, Verdict.BLOCK, f"blacklisted: {listed}")


class VelocityRule:
    """Too many events of one kind by one user within a window."""

    code: ClassVar[str] = "velocity"

    def __init__(self, limit: int, window: timedelta, verdict: Verdict = Verdict.BLOCK) -> None:
        self.limit = limit
        self.window = window
        self.verdict = verdict

    def evaluate(self, event: RiskEvent, uow: RiskUnitOfWork) -> RuleHit | None:
        # Counted up to the limit: blocked attempts are recorded too, so a client that keeps
        # trying would otherwise make each of its counts longer, under SQLite's writer lock.
        seen = uow.risk_records.count(event.user_id, event.kind, event.at - self.window, at_most=self.limit)
        if seen < self.limit:
            return None
        return RuleHit(
            self.code,
            self.verdict,
            f"{self.limit} or more {event.kind} events in the last {self.window}; limit {self.limit}",
        )
