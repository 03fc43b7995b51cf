"""Alembic environment for Poreline.

The configuration is built in code by ``controller.store.database.alembic_config``;
no ``alembic.ini`` is needed.  ``upgrade()`` passes an open connection in
``config.attributes["connection"]``; otherwise ``sqlalchemy.url`` (or
``$PORELINE_DATABASE_URL``) is used.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from controller.store.database import create_engine_for, default_database_url
from controller.store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or default_database_url()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = create_engine_for(_url())
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
