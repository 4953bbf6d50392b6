"""Orders get ``due_at``: when the worker must next act on an order by itself (close it unpaid,
complete it after the receipt window). Existing rows are backfilled from their documents.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _millis(value: str | None) -> int | None:
    return None if value is None else int(datetime.fromisoformat(value).timestamp() * 1000)


def upgrade() -> None:
    op.add_column("orders", sa.Column("due_at", sa.BigInteger(), nullable=True))
    op.create_index(op.f("ix_orders_due_at"), "orders", ["due_at"])
    bind = op.get_bind()
    orders = sa.table("orders", sa.column("id", sa.String()), sa.column("data"), sa.column("due_at"))
    for ident, data in bind.execute(sa.select(orders.c.id, orders.c.data)).all():
        document = msgspec.json.decode(data) if isinstance(data, str | bytes) else data
        status = document.get("status")
        due = None
        if status == "pending_payment":
            due = _millis(document.get("payment_deadline"))
        elif status in ("shipped", "delivered"):
            due = _millis(document.get("auto_complete_at"))
        if due is not None:
            bind.execute(sa.update(orders).where(orders.c.id == ident).values(due_at=due))


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_due_at"), table_name="orders")
    op.drop_column("orders", "due_at")
