"""attempt counters: limits on sign-in codes, code guesses and wrong passwords

- `attempt_counters`: one row per (rule, subject, time window) — e.g. codes issued to one client
  address this hour — counted by a conditional UPDATE (`count < limit`), so two server instances
  sharing one database never let more through than the limit (mianshen/web/throttle.py).
  Rows past their window are deleted as new windows open.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attempt_counters",
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule", "subject", "bucket"),
    )
    op.create_index("ix_attempt_counters_expires_at", "attempt_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_counters_expires_at", table_name="attempt_counters")
    op.drop_table("attempt_counters")
