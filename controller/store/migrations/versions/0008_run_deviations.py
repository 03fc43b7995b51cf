"""Production deviations of a run.

``run_deviations``: each span of a run's production during which interlocks forced outputs
safe (start and end in run seconds, the interlocks, the outputs), so the batch record says
which part of the product was not made to the recipe. A new table: existing runs have none
(their records did not track it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_deviations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("started_t_s", sa.Float(), nullable=False),
        sa.Column("ended_t_s", sa.Float(), nullable=False),
        sa.Column("alarm_ids", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
    )
    op.create_index("ix_run_deviations_run_id", "run_deviations", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_run_deviations_run_id", table_name="run_deviations")
    op.drop_table("run_deviations")
