"""``risk_records`` keeps only its (user_id, kind, at) index: the velocity count is its only
query, and the three single-column indexes cost every checkout's insert three more pages
written under SQLite's writer lock (``Column.indexed``, docs/performance.md).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SINGLE = ("user_id", "kind", "at")


def upgrade() -> None:
    for name in _SINGLE:
        op.drop_index(f"ix_risk_records_{name}", table_name="risk_records")


def downgrade() -> None:
    for name in _SINGLE:
        op.create_index(f"ix_risk_records_{name}", "risk_records", [name])
