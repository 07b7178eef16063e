"""Tables of the operational store (SQLAlchemy Core). Alembic migrations in `migrations/` build them."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

data_sources = Table(
    "data_sources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", Text, nullable=False),
    Column("department", Text, nullable=False),
    Column("mapping", Text, nullable=False),  # JSON: file columns → catalogue fields (with units)
    Column("refresh", Text, nullable=False),
    Column("freshness_days", Integer, nullable=False),  # older observations count as stale
    Column("priority", Integer, nullable=False),  # smaller wins when two sources disagree on one date
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

enterprises = Table(
    "enterprises",
    metadata,
    Column("uscc", String(18), primary_key=True),
    Column("name", Text),
    Column("uscc_status", String(16), nullable=False),  # valid | check_failed | overridden
    Column("uscc_problems", Text),
    Column("first_batch_id", Integer, ForeignKey("import_batches.id")),
)

uscc_overrides = Table(
    "uscc_overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), ForeignKey("enterprises.uscc"), nullable=False),
    Column("actor", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), ForeignKey("data_sources.id"), nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("rows_read", Integer, nullable=False),
    Column("rows_accepted", Integer, nullable=False),
    Column("rows_rejected", Integer, nullable=False),
    Column("warnings", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("source_id", "file_sha256", name="uq_batch_file"),  # re-import is a no-op
)

import_rejects = Table(
    "import_rejects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("import_batches.id"), nullable=False, index=True),
    Column("row_number", Integer, nullable=False),
    Column("severity", String(8), nullable=False),  # error (row not taken) | warning (taken, flagged)
    Column("uscc", Text),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),  # the row as read, JSON
)

observations = Table(
    "observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uscc", String(18), nullable=False),
    Column("field", String(64), nullable=False),
    Column("value", Text, nullable=False),  # canonical text of the typed value
    Column("source_id", String(64), ForeignKey("data_sources.id"), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("batch_id", Integer, ForeignKey("import_batches.id"), nullable=False),
    Index("ix_observations_lookup", "uscc", "field", "as_of"),
    Index("ix_observations_field", "field"),
)
