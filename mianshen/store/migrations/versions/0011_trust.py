"""trust: SM2 seal keys, signed documents, case archives, review routes (mianshen/trust/tables.py, docs/trust.md)

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seal_keys",
        sa.Column("key_id", sa.String(length=40), primary_key=True),
        sa.Column("seal", sa.Text(), nullable=False),
        sa.Column("public_key", sa.String(length=130), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
    )
    op.create_table(
        "signed_documents",
        sa.Column("code", sa.String(length=16), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=40), sa.ForeignKey("seal_keys.key_id"), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_sm3", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pdf_sm3", sa.String(length=64), nullable=True),
        sa.Column("pdf_signature", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "kind", "signed_at", name="uq_signed_once"),
    )
    op.create_index("ix_signed_documents_case_id", "signed_documents", ["case_id"])
    op.create_index("ix_signed_documents_pdf_sm3", "signed_documents", ["pdf_sm3"])
    op.create_table(
        "case_archives",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("closing", sa.String(length=24), nullable=False),
        sa.Column("package", sa.LargeBinary(), nullable=False),
        sa.Column("package_sm3", sa.String(length=64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_by", sa.Text(), nullable=False),
        sa.UniqueConstraint("case_id", "closing", name="uq_archive_once"),
    )
    op.create_table(
        "case_routes",
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("route", sa.String(length=8), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("sampled", sa.Boolean(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sample_result", sa.String(length=8), nullable=True),
        sa.Column("sample_note", sa.Text(), nullable=True),
        sa.Column("sample_by", sa.Text(), nullable=True),
        sa.Column("sample_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_case_routes_policy_id", "case_routes", ["policy_id"])


def downgrade() -> None:
    op.drop_index("ix_case_routes_policy_id", table_name="case_routes")
    op.drop_table("case_routes")
    op.drop_table("case_archives")
    op.drop_index("ix_signed_documents_pdf_sm3", table_name="signed_documents")
    op.drop_index("ix_signed_documents_case_id", table_name="signed_documents")
    op.drop_table("signed_documents")
    op.drop_table("seal_keys")
