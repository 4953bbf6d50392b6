"""The operator-owned category tree; leaves carry the commission rate."""

from __future__ import annotations

import attrs

from marketcore.domain.shared.errors import InvalidInput
from marketcore.domain.shared.events import Aggregate
from marketcore.domain.shared.text import require_text

MAX_COMMISSION_BPS = 10_000


@attrs.define(eq=False)
class Category(Aggregate):
    name: str
    parent_id: str | None
    commission_rate_bps: int  # basis points of the settlement base, 500 = 5 %

    @classmethod
    def create(cls, id: str, name: str, parent: Category | None, commission_rate_bps: int) -> Category:
        if not 0 <= commission_rate_bps <= MAX_COMMISSION_BPS:
            raise InvalidInput("commission_rate_bps", f"must be 0 to {MAX_COMMISSION_BPS}")
        return cls(
            id,
            name=require_text("name", name, 40),
            parent_id=parent.id if parent else None,
            commission_rate_bps=commission_rate_bps,
        )
