"""A production release may be for one line.

``recipe_versions.released_for_line``: the id of the line (e.g. ``casting-2``) a version was
released for production on; NULL (every existing row) means every line of the recipe's kind.
A run of the version on another line is refused. A plain ADD COLUMN, not a batch
table rebuild, so SQLite keeps the trigger that makes released versions immutable.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("recipe_versions", sa.Column("released_for_line", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("recipe_versions", "released_for_line")  # SQLite >= 3.35 drops a plain column in place
