"""Promotions of any rule kind, coupon templates, held coupons, flash sales and their counters.

``promotions`` keeps its rows: the skeleton's full-reduction documents load as ``full_reduction``
promotions as they are (the repository reads both shapes). Two columns are added and backfilled:
``owner`` (the shop id, or "platform") and ``kind`` (the rule kind's code).
``promotion_counters`` holds coupons claimed and flash-sale units sold, per template or sale and
per buyer (``buyer_id`` "" is the total), changed by conditional upserts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DOCUMENTS = {
    "coupon_templates": {"owner": "text", "status": "text", "claim_from": "int", "claim_ends": "int"},
    "coupons": {
        "buyer_id": "text",
        "template_id": "text",
        "status": "text",
        "checkout_id": "text",
        "valid_until": "int",
    },
    "flash_sales": {"shop_id": "text", "sku_id": "text", "status": "text", "ends_at": "int"},
}


def _text() -> TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _type(name: str) -> TypeEngine[object]:
    return _text() if name == "text" else sa.BigInteger()  # type: ignore[return-value]


def upgrade() -> None:
    for table, columns in _DOCUMENTS.items():
        op.create_table(
            table,
            sa.Column("id", _text(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
            *(sa.Column(name, _type(kind), nullable=True) for name, kind in columns.items()),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        )
        for name in columns:
            op.create_index(op.f(f"ix_{table}_{name}"), table, [name])
    op.create_table(
        "promotion_counters",
        sa.Column("counter", sa.String(length=32), nullable=False),
        sa.Column("subject_id", _text(), nullable=False),
        sa.Column("buyer_id", _text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("count >= 0", name=op.f("ck_promotion_counters_count_not_negative")),
        sa.PrimaryKeyConstraint("counter", "subject_id", "buyer_id", name=op.f("pk_promotion_counters")),
    )
    op.add_column("promotions", sa.Column("owner", _text(), nullable=True))
    op.add_column("promotions", sa.Column("kind", _text(), nullable=True))
    op.create_index(op.f("ix_promotions_owner"), "promotions", ["owner"])
    op.create_index(op.f("ix_promotions_kind"), "promotions", ["kind"])
    promotions = sa.table("promotions", sa.column("shop_id"), sa.column("owner"), sa.column("kind"))
    op.get_bind().execute(sa.update(promotions).values(owner=promotions.c.shop_id, kind="full_reduction"))


def downgrade() -> None:
    op.drop_index(op.f("ix_promotions_kind"), table_name="promotions")
    op.drop_index(op.f("ix_promotions_owner"), table_name="promotions")
    op.drop_column("promotions", "kind")
    op.drop_column("promotions", "owner")
    op.drop_table("promotion_counters")
    for table, columns in _DOCUMENTS.items():
        for name in columns:
            op.drop_index(op.f(f"ix_{table}_{name}"), table_name=table)
        op.drop_table(table)
