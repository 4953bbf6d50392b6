"""The payment inbox (verified provider notifications, stored once by event id), and two payment
columns: ``check_at`` (when the worker next looks at a payment with its provider) and ``flagged``
(waiting for an operator). Open payments are backfilled as due at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import msgspec
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text() -> TypeEngine[str]:
    return sa.String().with_variant(sa.String(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "payment_inbox",
        sa.Column("id", _text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("gateway", _text(), nullable=True),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_inbox")),
    )
    op.create_index(op.f("ix_payment_inbox_gateway"), "payment_inbox", ["gateway"])
    op.create_index(op.f("ix_payment_inbox_due_at"), "payment_inbox", ["due_at"])
    op.add_column("payments", sa.Column("check_at", sa.BigInteger(), nullable=True))
    op.add_column("payments", sa.Column("flagged", sa.Boolean(), nullable=True))
    op.create_index(op.f("ix_payments_check_at"), "payments", ["check_at"])
    op.create_index(op.f("ix_payments_flagged"), "payments", ["flagged"])
    bind = op.get_bind()
    payments = sa.table("payments", sa.column("id", sa.String()), sa.column("data"), sa.column("check_at"))
    rows = bind.execute(sa.select(payments.c.id, payments.c.data)).all()
    for ident, data in rows:
        document = msgspec.json.decode(data) if isinstance(data, str | bytes) else data
        if document.get("status") in ("pending", "requires_action"):
            due = int(datetime.fromisoformat(document["created_at"]).timestamp() * 1000)
            bind.execute(sa.update(payments).where(payments.c.id == ident).values(check_at=due))


def downgrade() -> None:
    op.drop_index(op.f("ix_payments_flagged"), table_name="payments")
    op.drop_index(op.f("ix_payments_check_at"), table_name="payments")
    op.drop_column("payments", "flagged")
    op.drop_column("payments", "check_at")
    op.drop_index(op.f("ix_payment_inbox_due_at"), table_name="payment_inbox")
    op.drop_index(op.f("ix_payment_inbox_gateway"), table_name="payment_inbox")
    op.drop_table("payment_inbox")
