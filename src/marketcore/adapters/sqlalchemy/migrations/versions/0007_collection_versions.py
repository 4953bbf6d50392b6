"""``collection_versions``: one row per kind whose queries checkout may serve from the per-process
cache (promotions, the blacklist). Every write of the kind bumps its row; a unit of work served
from the cache checks at commit that the version it read is still the stored one. A kind
without a row is simply not cached.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "collection_versions",
        sa.Column("id", sa.String().with_variant(sa.String(collation="C"), "postgresql"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_collection_versions"),
    )
    op.bulk_insert(table, [{"id": "blacklist", "version": 0}, {"id": "promotions", "version": 0}])


def downgrade() -> None:
    op.drop_table("collection_versions")
