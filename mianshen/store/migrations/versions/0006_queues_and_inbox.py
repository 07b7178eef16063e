"""queues at volume and the data departments' inbox

- `cases.region`: the enterprise's registered region code when the case was opened, so a queue can
  be filtered by region and paged in SQL (cases opened before this revision, or by a path that does
  not know it, are filled from the profile library on first listing: web/console/queue.py).
- indexes for the queues: (policy, state, deadline, region) counts a filter from the index alone;
  (deadline, id, policy, state, region) reads a page in order without sorting; by region for filling.
- `data_requests.refused_at/refused_by/refused_reason`: a data department may refuse a request
  only with a legal basis (seed 二(二)); the refusal is kept with the request.
- `corrections`: an enterprise's request to correct a value the platform holds, with a 受理编号, an
  attachment, the department that holds the field, and its answer — one inbox with the data requests.
- `cases.bank_name`, `cases.bank_code`: the 开户行 and its 联行号 the enterprise gives with its
  account (a bank transfer file needs them); `payments.returned_at/return_reason` and
  `payment_returns`: a payment the bank sent back (退票), kept when the payment is issued again.
- `publish_requests`: 会签 — a version that changes eligibility or money waits for a second staff
  member's approval, with the text and the simulation the author saw.
- `onsite_checks.attachments`: photos and documents of an on-site check (JSON: name, hash, size),
  kept by content hash like application materials.
- `work_jobs`: long work started from a page (a policy's simulation, its publication) run in the
  background; its state and result are kept so the page survives a reload.
- `bulk_jobs`: a department's action on many cases at once (批量推送 …), run in the background with
  its progress and result report kept, so a reload or a restarted server finds it where it was.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("region", sa.String(length=12), nullable=True))
    op.create_index("ix_cases_queue", "cases", ["policy_id", "state", "deadline", "region"])
    op.create_index("ix_cases_deadline", "cases", ["deadline", "id", "policy_id", "state", "region"])
    op.create_index("ix_cases_region", "cases", ["region"])
    amount = sa.text("CAST(coalesce(confirmed_amount, amount) AS NUMERIC(18, 2)) DESC")
    op.create_index("ix_cases_amount", "cases", [amount, "id"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("bank_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("bank_code", sa.String(length=12), nullable=True))
    with op.batch_alter_table("onsite_checks") as batch:
        batch.add_column(sa.Column("attachments", sa.Text(), nullable=True))
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("return_reason", sa.Text(), nullable=True))
    op.create_table(
        "payment_returns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("payments.id"), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False, index=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("payment_batches.id"), nullable=False),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("data_requests") as batch:
        batch.add_column(sa.Column("refused_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("refused_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("refused_reason", sa.Text(), nullable=True))
    op.create_index("ix_data_requests_field", "data_requests", ["field", "resolved_run"])
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uscc", sa.String(length=18), nullable=False, index=True),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("claimed", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=True),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("attachment", sa.Text(), nullable=True),
        sa.Column("attachment_path", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.Text(), nullable=True),
    )
    op.create_table(
        "publish_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("source_yaml", sa.Text(), nullable=False),
        sa.Column("simulation", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_role", sa.String(length=24), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_table(
        "work_jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "bulk_jobs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("department", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=12), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("bulk_jobs")
    op.drop_table("work_jobs")
    op.drop_table("publish_requests")
    op.drop_table("payment_returns")
    with op.batch_alter_table("onsite_checks") as batch:
        batch.drop_column("attachments")
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("return_reason")
        batch.drop_column("returned_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("bank_code")
        batch.drop_column("bank_name")
    op.drop_table("corrections")
    op.drop_index("ix_data_requests_field", table_name="data_requests")
    with op.batch_alter_table("data_requests") as batch:
        batch.drop_column("refused_reason")
        batch.drop_column("refused_by")
        batch.drop_column("refused_at")
    op.drop_index("ix_cases_region", table_name="cases")
    op.drop_index("ix_cases_amount", table_name="cases")
    op.drop_index("ix_cases_deadline", table_name="cases")
    op.drop_index("ix_cases_queue", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("region")
