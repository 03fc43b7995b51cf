"""Samples: per-minute rollups for wide trends.

A trend over a day of 1 s samples read 86,400 rows per tag and grouped them (about
50 ms on SQLite, growing with the window). ``sample_rollups`` holds, per run, tag and
minute of run time (floor(t_s / 60)), the count, sum, min and max of the non-null
values; ``controller.store.batch.trend`` reads these for windows of a minute per point
or wider, and raw samples only for the partial minutes at the window's two ends.
The BatchRecorder keeps the table current with every sample write; this migration
fills it for the samples already stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sample_rollups",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("minute", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value_count", sa.Integer(), nullable=False),
        sa.Column("value_sum", sa.Float(), nullable=False),
        sa.Column("value_min", sa.Float(), nullable=True),
        sa.Column("value_max", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_sample_rollups_run_id_runs"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "tag", "minute", name=op.f("pk_sample_rollups")),
    )
    if op.get_bind().dialect.name == "postgresql":
        minute = "CAST(floor(t_s / 60) AS INTEGER)"
    else:  # SQLite: CAST truncates toward zero; step down for a negative non-integer quotient
        minute = "(CAST(t_s / 60 AS INTEGER) - (t_s / 60 < CAST(t_s / 60 AS INTEGER)))"
    op.execute(
        "INSERT INTO sample_rollups (run_id, tag, minute, value_count, value_sum, value_min, value_max) "
        f"SELECT run_id, tag, {minute}, count(value), coalesce(sum(value), 0), min(value), max(value) "
        f"FROM samples GROUP BY run_id, tag, {minute}"
    )


def downgrade() -> None:
    op.drop_table("sample_rollups")
