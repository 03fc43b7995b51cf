"""The product's quality verdict on each run.

``runs.quality``: the verdict against the recipe's specification (in spec, out of spec, no
production, not specified), the production seconds and, per specified quantity, its limits,
time-weighted mean, minimum, maximum and seconds out of spec. NULL for runs recorded before
(their recipes had no specification). A plain ADD COLUMN.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("quality", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("runs", "quality")  # SQLite >= 3.35 drops a plain column in place
