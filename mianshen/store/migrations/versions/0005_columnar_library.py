"""columnar match library: per-pair rows leave the store; data requests per (enterprise, field)

- `matches` and `match_totals` are dropped: a run's full result is columnar files under the data
  directory (matching/library.py), described by `match_runs.library` and `match_runs.manifest`;
  per-policy totals of the library after each run are `match_policies` rows.
- `data_requests` become one row per (enterprise, field) naming the policies waiting for it.
- `cases.opened_run`, `cases.data_hash`: the run that opened a case (its batch audit record
  covers it) and the hash of the profile the decision was made on.
- `import_batches.observations`: how many observations a batch wrote (checks its mirror file).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("observations", sa.Integer(), nullable=True))
    with op.batch_alter_table("match_runs") as batch:
        batch.add_column(sa.Column("library", sa.Text(), nullable=True))
        batch.add_column(sa.Column("manifest", sa.Text(), nullable=True))
        batch.add_column(sa.Column("enterprises", sa.Integer(), nullable=True))
    with op.batch_alter_table("match_changes") as batch:
        batch.add_column(sa.Column("policy_version", sa.Integer(), nullable=True))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("opened_run", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("data_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "match_policies",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("match_runs.id"), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("ineligible", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("total", sa.Text(), nullable=False),
        sa.Column("new_eligible", sa.Integer(), nullable=False),
        sa.Column("lost_eligible", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "policy_id"),
    )
    op.drop_table("matches")
    op.drop_table("match_totals")
    # Requests per (policy, enterprise) become requests per (enterprise, field): the rows are
    # rebuilt by the next match run, which sees every unknown pair again.
    op.drop_table("data_requests")
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("opened_run", sa.Integer(), sa.ForeignKey("match_runs.id")),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_run", sa.Integer(), sa.ForeignKey("match_runs.id")),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("uscc", "field", name="uq_data_request"),
    )
    op.create_table(
        "data_needs",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("match_runs.id"), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=64), nullable=False),
        sa.Column("enterprises", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "field", "policy_id"),
    )


def downgrade() -> None:
    raise NotImplementedError("0005 moves per-pair match rows into columnar files; it is not reversible")
