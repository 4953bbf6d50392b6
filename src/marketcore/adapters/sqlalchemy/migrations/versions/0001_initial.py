"""Initial schema: one table per document kind, document keys, stock levels and movements.

Written out explicitly (not imported from ``tables``) so the migration stays what it was when
the application's tables change; later changes go in new revisions.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from marketcore.adapters.sqlalchemy.types import UtcDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOCUMENTS: list[tuple[str, list[tuple[str, str]]]] = [
    ("users", []),
    ("shop_applications", [("applicant_id", "text"), ("status", "text")]),
    ("shops", [("owner_id", "text"), ("status", "text")]),
    ("categories", [("parent_id", "text")]),
    (
        "products",
        [
            ("shop_id", "text"),
            ("category_id", "text"),
            ("status", "text"),
            ("listed", "bool"),
            ("title", "text"),
            ("min_price", "int"),
        ],
    ),
    ("carts", []),
    ("promotions", [("shop_id", "text"), ("ends_at", "int")]),
    ("checkouts", [("buyer_id", "text")]),
    ("orders", [("buyer_id", "text"), ("shop_id", "text"), ("checkout_id", "text"), ("status", "text")]),
    ("payments", [("checkout_id", "text"), ("status", "text")]),
    ("reviews", [("product_id", "text"), ("shop_id", "text"), ("rating", "int")]),
    ("blacklist", []),
    ("risk_records", [("user_id", "text"), ("kind", "text"), ("at", "int")]),
]


def _text() -> TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def _type(name: str) -> TypeEngine[Any]:
    if name == "int":
        return sa.BigInteger()
    if name == "bool":
        return sa.Boolean()
    return _text()


def upgrade() -> None:
    for kind, columns in DOCUMENTS:
        op.create_table(
            kind,
            sa.Column("id", _text(), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
            *(sa.Column(name, _type(type_), nullable=True) for name, type_ in columns),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{kind}")),
        )
        for name, _ in columns:
            op.create_index(op.f(f"ix_{kind}_{name}"), kind, [name])

    op.create_table(
        "document_keys",
        sa.Column("key", _text(), nullable=False),
        sa.Column("kind", _text(), nullable=False),
        sa.Column("doc_id", _text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_document_keys")),
    )
    op.create_index("ix_document_keys_kind_doc_id", "document_keys", ["kind", "doc_id"])

    op.create_table(
        "stock_levels",
        sa.Column("sku_id", _text(), nullable=False),
        sa.Column("shop_id", _text(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("on_hand >= reserved", name=op.f("ck_stock_levels_on_hand_covers_reserved")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_levels_reserved_not_negative")),
        sa.PrimaryKeyConstraint("sku_id", name=op.f("pk_stock_levels")),
    )
    op.create_index(op.f("ix_stock_levels_shop_id"), "stock_levels", ["shop_id"])

    op.create_table(
        "stock_movements",
        sa.Column("id", _text(), nullable=False),
        sa.Column("sku_id", _text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("on_hand_delta", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("reason", _text(), nullable=False),
        sa.Column("reference", _text(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    op.create_index(op.f("ix_stock_movements_sku_id"), "stock_movements", ["sku_id"])


def downgrade() -> None:
    for table in ("stock_movements", "stock_levels", "document_keys"):
        op.drop_table(table)
    for kind, _ in reversed(DOCUMENTS):
        op.drop_table(kind)
