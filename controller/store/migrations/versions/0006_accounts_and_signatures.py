"""Accounts that lock, tokens that idle out, signatures that name the signer and the content.

users: ``full_name`` (printed on every signature), ``created_by`` (who created the
account: an account an admin created lately may not approve), ``failed_logins`` and
``locked_until`` (lockout after repeated failures), ``password_changed_at``.
api_tokens: ``last_used_at`` (idle timeout).
signatures: ``full_name`` (the signer's printed name when signing) and
``content_sha256`` (the hash of the text signed; a run refuses a text that differs).
recipe_versions: ``editors`` (every user who wrote the version, a JSON list; none of them
may approve it), existing rows get their author and last editor.

Plain ADD COLUMNs (no SQLite table rebuild), so the triggers of 0001 stay.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS: list[tuple[str, sa.Column[object]]] = [
    ("users", sa.Column("full_name", sa.String(length=200), nullable=True)),
    ("users", sa.Column("created_by", sa.String(length=64), nullable=True)),
    ("users", sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")),
    ("users", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True)),
    ("users", sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)),
    ("api_tokens", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True)),
    ("signatures", sa.Column("full_name", sa.String(length=200), nullable=True)),
    ("signatures", sa.Column("content_sha256", sa.String(length=64), nullable=True)),
    ("recipe_versions", sa.Column("editors", sa.JSON(), nullable=True)),
]


def upgrade() -> None:
    for table, column in _COLUMNS:
        op.add_column(table, column)
    versions = sa.table("recipe_versions", sa.column("id", sa.Integer()), sa.column("author", sa.String()),
                        sa.column("last_modified_by", sa.String()), sa.column("editors", sa.JSON()))
    connection = op.get_bind()
    for version_id, author, last in connection.execute(
            sa.select(versions.c.id, versions.c.author, versions.c.last_modified_by)).all():
        editors = [author] if author == last else [author, last]
        connection.execute(sa.update(versions).where(versions.c.id == version_id).values(editors=editors))
    # a signature so far signed the version's text, which cannot have changed since (0001's trigger)
    content = sa.table("recipe_versions", sa.column("id", sa.Integer()), sa.column("content_sha256", sa.String()))
    signatures = sa.table("signatures", sa.column("recipe_version_id", sa.Integer()),
                          sa.column("content_sha256", sa.String()))
    connection.execute(sa.update(signatures).values(content_sha256=sa.select(content.c.content_sha256).where(
        content.c.id == signatures.c.recipe_version_id).scalar_subquery()))


def downgrade() -> None:
    for table, column in reversed(_COLUMNS):
        op.drop_column(table, column.name)
