"""Risk decisions. Rules look at one business event and may fire; the engine combines them."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from marketcore.domain.shared.errors import Forbidden
from marketcore.domain.shared.events import Aggregate
from marketcore.domain.shared.money import Money


class Verdict(enum.IntEnum):
    """Ordered by severity so the engine can take the maximum."""

    ALLOW = 0
    REVIEW = 1
    BLOCK = 2

    @property
    def label(self) -> str:
        return self.name.lower()


class EventKind(enum.StrEnum):
    REGISTER = "register"
    LOGIN = "login"
    CHECKOUT = "checkout"
    PAYMENT = "payment"


class SubjectKind(enum.StrEnum):
    USER = "user"
    PHONE = "phone"
    ADDRESS = "address"
    IP = "ip"
    DEVICE = "device"


@attrs.frozen
class RiskEvent:
    kind: EventKind
    user_id: str
    at: datetime
    amount: Money | None = None
    subjects: tuple[tuple[SubjectKind, str], ...] = ()  # everything a blacklist may match


@attrs.frozen
class RuleHit:
    code: str
    verdict: Verdict
    reason: str  # for operators only; buyers get a generic message


@attrs.frozen
class RiskDecision:
    verdict: Verdict
    hits: tuple[RuleHit, ...]

    @classmethod
    def of(cls, hits: Iterable[RuleHit]) -> RiskDecision:
        fired = tuple(hits)
        verdict = max((hit.verdict for hit in fired), default=Verdict.ALLOW)
        return cls(verdict, fired)

    @property
    def rule_codes(self) -> tuple[str, ...]:
        return tuple(hit.code for hit in self.hits)


class RiskBlocked(Forbidden):
    """Raised to the buyer with a deliberately generic message."""

    code = "risk_blocked"

    def __init__(self) -> None:
        super().__init__("this request cannot be processed; contact support")


@attrs.define(eq=False)
class BlacklistEntry(Aggregate):
    """id is ``"{kind}:{value}"`` so an entry is found by what it blocks."""

    kind: SubjectKind
    value: str
    reason: str
    added_by: str
    added_at: datetime

    @staticmethod
    def key(kind: SubjectKind, value: str) -> str:
        return f"{kind}:{value.strip().lower()}"


@attrs.define(eq=False)
class RiskRecord(Aggregate):
    """Every evaluated event is kept: velocity rules count them, operators audit them."""

    kind: EventKind
    user_id: str
    at: datetime
    verdict: Verdict
    rule_codes: tuple[str, ...]
