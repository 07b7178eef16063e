"""declared fields: fields a department or the data manager adds to the catalogue as data

- `declared_fields`: one row per version of a declared field, its spec in the catalogue's own format
  (JSON of label, type, unit, source, refresh, basis, values); the latest version of each name is
  part of the field catalogue of every process that opens the store (store/fields.py).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "declared_fields",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("declared_by", sa.Text(), nullable=False),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_declared_field_version"),
    )


def downgrade() -> None:
    op.drop_table("declared_fields")
