"""``document_keys`` loses its ``(kind, doc_id)`` index: every query reaches a key by the key
itself (the primary key), a document's given-up keys included, and each new key (three per
checkout) paid one more index entry, and its write group some eight pages, under SQLite's
writer lock (docs/performance.md).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_document_keys_kind_doc_id", table_name="document_keys")


def downgrade() -> None:
    op.create_index("ix_document_keys_kind_doc_id", "document_keys", ["kind", "doc_id"])
