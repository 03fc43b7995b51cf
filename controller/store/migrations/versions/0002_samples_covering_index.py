"""Samples: a covering index for trends.

The trend query (``controller.store.batch.trend``) reads ``value`` for one run and tag
over a time range. With the index on (run_id, tag, t_s) every matching sample cost a
lookup in the table; (run_id, tag, t_s, value) answers the query from the index alone
(SQLite "USING COVERING INDEX", PostgreSQL index-only scan). It replaces the old index,
of which it is an extension (same leading columns, same lookups), so inserts still
maintain one index.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_samples_run_id_tag_t_s_value", "samples", ["run_id", "tag", "t_s", "value"])
    op.drop_index("ix_samples_run_id_tag_t_s", table_name="samples")


def downgrade() -> None:
    op.create_index("ix_samples_run_id_tag_t_s", "samples", ["run_id", "tag", "t_s"])
    op.drop_index("ix_samples_run_id_tag_t_s_value", table_name="samples")
