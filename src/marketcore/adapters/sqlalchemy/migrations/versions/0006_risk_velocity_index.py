"""``risk_records`` gets an index on (user_id, kind, at), the velocity rule's filter. Without it
SQLite plans the count on the ``kind`` index and reads every user's records of that kind, while
holding the writer lock: checkouts on SQLite fell from 413/s at one thread to about 100/s at four.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_risk_records_user_id_kind_at", "risk_records", ["user_id", "kind", "at"])


def downgrade() -> None:
    op.drop_index("ix_risk_records_user_id_kind_at", table_name="risk_records")
