"""The audit trail cannot be emptied, and the application can run without owning its tables
(PostgreSQL only; SQLite has no TRUNCATE and no roles).

* ``trg_audit_log_no_truncate``: a BEFORE TRUNCATE trigger on ``audit_log`` (0001's row
  triggers refuse UPDATE and DELETE, but TRUNCATE fires no row trigger).
* ``poreline_app``: a least-privilege role for the application (``poreline serve`` and the
  line runtimes) to connect as: SELECT/INSERT/UPDATE/DELETE on the tables it writes,
  only SELECT and INSERT on ``audit_log``, SELECT on ``alembic_version``; it owns nothing,
  so it cannot drop or disable the triggers. The role is created NOLOGIN when the migrating
  user may create roles (else skipped with a log line; deploy/postgres/least-privilege.sql
  does the same by hand); give it a login with ``ALTER ROLE poreline_app LOGIN PASSWORD ...``.
  Migrations keep running as the tables' owner.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

APP_ROLE = "poreline_app"
AUDIT_TABLE = "audit_log"
READ_ONLY_TABLES = ("alembic_version",)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # 0001's function raises for any operation; a statement-level trigger may call it too
    op.execute(f"""
        CREATE TRIGGER trg_audit_log_no_truncate
        BEFORE TRUNCATE ON {AUDIT_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION poreline_audit_log_append_only()
    """)
    if _ensure_app_role():
        _grant_app_role()


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS trg_audit_log_no_truncate ON {AUDIT_TABLE}")
    if _role_exists():
        schema = _schema()
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {APP_ROLE}")
        op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {APP_ROLE}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {APP_ROLE}")
        op.execute(f"REVOKE USAGE ON SCHEMA {schema} FROM {APP_ROLE}")
        # the role stays: other databases of the cluster may use it


def _role_exists() -> bool:
    found = op.get_bind().execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": APP_ROLE})
    return found.first() is not None


def _schema() -> str:
    name = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    return '"' + str(name).replace('"', '""') + '"'


def _ensure_app_role() -> bool:
    """True when the role exists (created here if the migrating user may create roles)."""
    if _role_exists():
        return True
    may_create = op.get_bind().execute(sa.text(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).scalar()
    if not may_create:
        log.warning("role %s not created: the migrating user may not CREATE ROLE; run "
                    "deploy/postgres/least-privilege.sql as a superuser to create it", APP_ROLE)
        return False
    # another migration may create it at the same moment (roles are cluster-wide)
    op.execute(f"""
        DO $$ BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
    """)
    log.info("created role %s (NOLOGIN): ALTER ROLE %s LOGIN PASSWORD '...' to let the application use it",
             APP_ROLE, APP_ROLE)
    return True


def _grant_app_role() -> None:
    schema = _schema()
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {APP_ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {AUDIT_TABLE} FROM {APP_ROLE}")  # append-only
    for table in READ_ONLY_TABLES:
        op.execute(f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {table} FROM {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {APP_ROLE}")
    # tables and sequences later migrations create (as this user) get the same rights
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
               f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {APP_ROLE}")
