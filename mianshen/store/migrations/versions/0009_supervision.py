"""supervision: an index for the overdue ledger; 督办 items

- `ix_cases_stage (state, updated_at, policy_id, region)`: the ledger asks, per stage, for the cases
  in that stage's states that entered it before a cut-off moment (`move` stamps `updated_at` when a
  case enters a state; nothing else writes it). With this index the question is a range read of the
  index alone; without it every matched case of the policies is read (supervision/ledger.py).
- `supervision_items`: 督办事项 raised by the worker for a policy's stage whose cases are overdue
  beyond a threshold, or for data requests past their statutory reply deadline; owner department,
  deadline, status 交办 → 办理中 → 办结 / 逾期, the reply (supervision/items.py).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_stage", "cases", ["state", "updated_at", "policy_id", "region"])
    op.create_table(
        "supervision_items",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("department", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("max_over", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.Text(), nullable=True),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_key", sa.String(length=160), nullable=True, unique=True),
    )
    op.create_index("ix_supervision_items_status", "supervision_items", ["status", "department"])


def downgrade() -> None:
    op.drop_index("ix_supervision_items_status", table_name="supervision_items")
    op.drop_table("supervision_items")
    op.drop_index("ix_cases_stage", table_name="cases")
