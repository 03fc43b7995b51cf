"""Line identity and the historian's progress.

Several lines may share one database (one runtime process per line): every run and every
alarm occurrence carries the id of the line it happened on (``line_id``, e.g. ``casting-1``).
Existing runs get ``<line kind>-1`` (the built-in line of their kind), alarms their run's
line, run-less alarms the line of the newest run (``line-1`` in an empty database).

``historian_progress`` holds, per line, the sequence number of the last event the runtime's
historian writer committed, in the same transaction as the event: after an outage the
spooled events are replayed in order and each is written exactly once.

A run also records its scan statistics (``scan_stats``: period and execution time, min,
p50, p99, max, overruns) and why it ended when that was not its procedure
(``end_reason``, e.g. "controller lost at ..., last step ...").

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("line_id", sa.String(length=64), nullable=False, server_default="line-1"))
        batch.add_column(sa.Column("scan_stats", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch.create_index("ix_runs_line_id", ["line_id"])
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("line_id", sa.String(length=64), nullable=False, server_default="line-1"))
        batch.create_index("ix_alarms_line_id_state", ["line_id", "state"])
    op.execute("UPDATE runs SET line_id = line_kind || '-1'")
    op.execute("UPDATE alarms SET line_id = (SELECT runs.line_id FROM runs WHERE runs.id = alarms.run_id) "
               "WHERE run_id IS NOT NULL")
    op.execute("UPDATE alarms SET line_id = coalesce((SELECT line_id FROM runs ORDER BY id DESC LIMIT 1), 'line-1') "
               "WHERE run_id IS NULL")
    op.create_table(
        "historian_progress",
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_historian_progress")),
    )


def downgrade() -> None:
    op.drop_table("historian_progress")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_index("ix_alarms_line_id_state")
        batch.drop_column("line_id")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index("ix_runs_line_id")
        batch.drop_column("end_reason")
        batch.drop_column("scan_stats")
        batch.drop_column("line_id")
