"""Risk ports: pluggable rules and the stores they read."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol

from marketcore.application.shared.ports import UnitOfWork
from marketcore.domain.risk.rules import BlacklistEntry, EventKind, RiskEvent, RiskRecord, RuleHit


class BlacklistRepository(Protocol):
    def get(self, entry_id: str) -> BlacklistEntry | None: ...

    def add(self, entry: BlacklistEntry) -> None: ...

    def matching(self, keys: list[str]) -> list[BlacklistEntry]: ...


class RiskRecordRepository(Protocol):
    def add(self, record: RiskRecord) -> None: ...

    def count(self, user_id: str, kind: EventKind, since: datetime, at_most: int | None = None) -> int:
        """The user's records of ``kind`` since ``since``, counted up to ``at_most``."""
        ...


class RiskUnitOfWork(UnitOfWork, Protocol):
    blacklist: BlacklistRepository
    risk_records: RiskRecordRepository


class RiskRule(Protocol):
    """One rule, registered under its stable ``code``. It reads what it needs through ``uow``."""

    code: ClassVar[str]

    def evaluate(self, event: RiskEvent, uow: RiskUnitOfWork) -> RuleHit | None: ...
