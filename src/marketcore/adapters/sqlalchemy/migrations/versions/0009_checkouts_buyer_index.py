"""``checkouts`` loses its ``buyer_id`` index: no query reads it (a checkout is found by id or by
its idempotency key), and each checkout's insert paid one more page for it under SQLite's
writer lock (docs/performance.md). The column stays, unindexed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_checkouts_buyer_id", table_name="checkouts")


def downgrade() -> None:
    op.create_index("ix_checkouts_buyer_id", "checkouts", ["buyer_id"])
