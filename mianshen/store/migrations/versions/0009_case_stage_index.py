"""index for the overdue ledger (supervision/ledger.py)

`ix_cases_stage (state, updated_at, policy_id, region)`: the ledger asks, per stage, for the cases
in that stage's states that entered it before a cut-off moment (`move` stamps `updated_at` when a
case enters a state; nothing else writes it). With this index the question is a range read of the
index alone; without it every case row is read and grouped.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_stage", "cases", ["state", "updated_at", "policy_id", "region"])


def downgrade() -> None:
    op.drop_index("ix_cases_stage", table_name="cases")
