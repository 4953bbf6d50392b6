"""The risk engine and the operators' blacklist."""

from __future__ import annotations

from collections.abc import Sequence

from marketcore.application.risk.ports import RiskRule, RiskUnitOfWork
from marketcore.application.shared.ids import new_id
from marketcore.application.shared.ports import Clock, UnitOfWorkFactory
from marketcore.application.shared.services import Service
from marketcore.domain.risk.rules import (
    BlacklistEntry,
    RiskDecision,
    RiskEvent,
    RiskRecord,
    SubjectKind,
)
from marketcore.domain.shared.actors import Actor
from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.text import require_text


class RiskEngine:
    """Runs every registered rule on an event and keeps a record of the decision."""

    def __init__(self, rules: Sequence[RiskRule]) -> None:
        self.rules = tuple(rules)

    def evaluate(self, uow: RiskUnitOfWork, event: RiskEvent) -> RiskDecision:
        hits = [hit for rule in self.rules if (hit := rule.evaluate(event, uow)) is not None]
        decision = RiskDecision.of(hits)
        uow.risk_records.add(
            RiskRecord(new_id(), event.kind, event.user_id, event.at, decision.verdict, decision.rule_codes)
        )
        return decision


class RiskService(Service[RiskUnitOfWork]):
    def __init__(self, uow: UnitOfWorkFactory[RiskUnitOfWork], clock: Clock, engine: RiskEngine) -> None:
        super().__init__(uow, clock)
        self.engine = engine

    def blacklist(self, actor: Actor, kind: str, value: str, reason: str) -> BlacklistEntry:
        operator = actor.require_operator()
        try:
            subject = SubjectKind(kind)
        except ValueError:
            raise InvalidInput("kind", f"one of {', '.join(SubjectKind)}") from None
        value = require_text("value", value, 200)
        entry = BlacklistEntry(
            BlacklistEntry.key(subject, value),
            kind=subject,
            value=value,
            reason=require_text("reason", reason, 500),
            added_by=operator,
            added_at=self._clock.now(),
        )
        with self._uow() as uow:
            if uow.blacklist.get(entry.id) is None:
                uow.blacklist.add(entry)
                uow.commit()
        return entry
