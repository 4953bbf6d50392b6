"""Table definitions. One table per document kind, plus the shared keys, stock, promotion
counters and outbox tables.

``metadata`` (every spec in ``repositories.ALL_SPECS``) is what Alembic migrates;
``build_metadata`` and ``create_document_tables`` let tests and integrators build tables for
their own document specs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Engine,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    column,
)
from sqlalchemy.types import TypeEngine

from marketcore.adapters import documents
from marketcore.adapters.sqlalchemy.types import UtcDateTime, json_type, text_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
RESERVED_COLUMNS = frozenset({"id", "version", "data"})


def _column_type(python_type: type[Any]) -> TypeEngine[Any]:
    if python_type is bool:
        return Boolean()
    if python_type is int:
        return BigInteger()
    if python_type is str:
        return text_type()
    raise TypeError(f"unsupported column type {python_type!r}")


def document_table(metadata: MetaData, spec: documents.DocumentSpec[Any]) -> Table:
    """``id``, ``version``, JSON ``data`` and one indexed, nullable column per ``spec.columns``."""
    clash = RESERVED_COLUMNS & {column.name for column in spec.columns}
    if clash:
        raise ValueError(f"{spec.kind}: column names {sorted(clash)} are reserved")
    return Table(
        spec.kind,
        metadata,
        Column("id", text_type(), primary_key=True),
        Column("version", Integer, nullable=False),
        Column("data", json_type(), nullable=False),
        *(Column(c.name, _column_type(c.type), nullable=True, index=_indexed(spec, c)) for c in spec.columns),
        *(Index(f"ix_{spec.kind}_{'_'.join(names)}", *names) for names in spec.indexes),
    )


def _indexed(spec: documents.DocumentSpec[Any], column: documents.Column) -> bool:
    """A column leading a composite index needs no index of its own: the composite serves it."""
    return column.indexed and not any(names[0] == column.name for names in spec.indexes)


def _fixed_tables(metadata: MetaData) -> None:
    Table(
        "document_keys",
        metadata,
        Column("key", text_type(), primary_key=True),
        Column("kind", text_type(), nullable=False),
        # No index on (kind, doc_id): every query reaches a key by the key (migration 0010).
        Column("doc_id", text_type(), nullable=False),
    )
    Table(
        "stock_levels",
        metadata,
        Column("sku_id", text_type(), primary_key=True),
        Column("shop_id", text_type(), nullable=False, index=True),
        Column("on_hand", BigInteger, nullable=False),
        Column("reserved", BigInteger, nullable=False),
        Column("version", Integer, nullable=False),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="on_hand_covers_reserved"),
    )
    Table(
        "stock_movements",
        metadata,
        Column("id", text_type(), primary_key=True),
        Column("sku_id", text_type(), nullable=False, index=True),
        Column("kind", String(16), nullable=False),
        Column("on_hand_delta", BigInteger, nullable=False),
        Column("reserved_delta", BigInteger, nullable=False),
        Column("reason", text_type(), nullable=False),
        Column("reference", text_type(), nullable=False),
        Column("at", UtcDateTime(), nullable=False),
    )
    Table(  # one row per ``collection_cached`` kind, bumped by each of its writes (PostgreSQL)
        "collection_versions",
        metadata,
        Column("id", text_type(), primary_key=True),
        Column("version", Integer, nullable=False),
    )
    Table(
        "promotion_counters",
        metadata,
        Column("counter", String(32), primary_key=True),
        Column("subject_id", text_type(), primary_key=True),
        Column("buyer_id", text_type(), primary_key=True),  # "" counts the subject's total
        Column("count", BigInteger, nullable=False),
        CheckConstraint("count >= 0", name="count_not_negative"),
    )


def _outbox_table(metadata: MetaData) -> None:
    """Events waiting for (or done with) the relay. ``position`` is the publication order: an
    identity on PostgreSQL, ``INTEGER PRIMARY KEY AUTOINCREMENT`` (never reused) on SQLite."""
    Table(
        "outbox",
        metadata,
        Column("position", BigInteger().with_variant(Integer(), "sqlite"), Identity(), primary_key=True),
        Column("event_id", text_type(), nullable=False, unique=True),
        Column("name", text_type(), nullable=False),
        Column("aggregate_kind", text_type(), nullable=False),
        Column("aggregate_id", text_type(), nullable=False),
        Column("occurred_at", UtcDateTime(), nullable=False),
        Column("payload", json_type(), nullable=False),
        Column("published_at", UtcDateTime(), nullable=True),
        Index(
            "ix_outbox_unpublished",
            "position",
            postgresql_where=column("published_at").is_(None),
            sqlite_where=column("published_at").is_(None),
        ),
        sqlite_autoincrement=True,
    )


def build_metadata(specs: Iterable[documents.DocumentSpec[Any]]) -> MetaData:
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    _fixed_tables(metadata)
    _outbox_table(metadata)
    for spec in specs:
        document_table(metadata, spec)
    return metadata


def create_document_tables(bind: Engine | Connection, specs: Iterable[documents.DocumentSpec[Any]]) -> None:
    """Create tables for specs outside ``metadata`` (tests, integrators' own aggregates)."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    for spec in specs:
        document_table(metadata, spec)
    metadata.create_all(bind)


_fixed = build_metadata([])
document_keys = _fixed.tables["document_keys"]
stock_levels = _fixed.tables["stock_levels"]
stock_movements = _fixed.tables["stock_movements"]
outbox = _fixed.tables["outbox"]
promotion_counters = _fixed.tables["promotion_counters"]
collection_versions = _fixed.tables["collection_versions"]

metadata: MetaData  # every table of the application; built on first access, see __getattr__


def __getattr__(name: str) -> MetaData:
    """Build ``metadata`` lazily: ``repositories`` may import the adapters that import this module."""
    if name != "metadata":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from marketcore.adapters.repositories import ALL_SPECS

    built = build_metadata(ALL_SPECS)
    globals()["metadata"] = built
    return built
