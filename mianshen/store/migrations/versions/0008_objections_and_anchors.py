"""objections triaged or verified; audit chain checkpoints

- `objections.stage`: verified (stopped the case: an enterprise, or the public with an SMS-verified
  phone), triage (an unverified objector: waits for staff, the case goes on) or accepted (a triaged
  one staff took up); `objections.phone` (SM4-encrypted), `objections.client` (client address).
  Existing rows stopped their case, so they are `verified`.
- `objection_codes`: a public objection waiting for the SMS code sent to the objector's phone; no
  foreign key to cases, so any case id is answered alike (web/objecting.py).
- `data_requests.region`, `corrections.region`: the enterprise's registered region, filled from the
  profile library on first need (web/console/listing.py), so a region-limited department account
  (郑州 人社) sees only its region's requests and corrections.
- `audit_checkpoints`: the audit chain's head (last id and hash) with an HMAC-SM3 under a key kept
  outside the store, so a rewritten chain is found (audit/anchors.py).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("objections") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=16), nullable=False, server_default="verified"))
        batch.add_column(sa.Column("phone", sa.Text(), nullable=True))
        batch.add_column(sa.Column("client", sa.String(length=64), nullable=True))
    op.create_table(
        "objection_codes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_objection_codes_expires_at", "objection_codes", ["expires_at"])
    for table in ("data_requests", "corrections"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("region", sa.String(length=12), nullable=True))
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_checkpoints")
    for table in ("data_requests", "corrections"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("region")
    op.drop_index("ix_objection_codes_expires_at", table_name="objection_codes")
    op.drop_table("objection_codes")
    with op.batch_alter_table("objections") as batch:
        batch.drop_column("client")
        batch.drop_column("phone")
        batch.drop_column("stage")
