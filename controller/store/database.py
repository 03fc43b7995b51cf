"""Engine, session and migration helpers for the Poreline store.

Configuration
-------------
``PORELINE_DATABASE_URL``
    SQLAlchemy URL of the database.  Unset: a SQLite file ``./var/poreline.db``
    relative to the current working directory.  ``postgresql://`` and
    ``postgres://`` URLs are rewritten to ``postgresql+psycopg://`` (psycopg 3 is
    the PostgreSQL driver Poreline ships with).

Nothing here keeps global state: callers create an engine with
:func:`create_engine_for`, apply migrations with :func:`upgrade` and build
sessions with :func:`session_factory`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DATABASE_URL_ENV",
    "MIGRATIONS_DIR",
    "SQLITE_BUSY_TIMEOUT_MS",
    "alembic_config",
    "create_engine_for",
    "default_database_url",
    "normalise_url",
    "session_factory",
    "upgrade",
]

DATABASE_URL_ENV = "PORELINE_DATABASE_URL"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
# PostgreSQL: give up connecting after 5 s, a statement after 30 s, and notice a peer that
# stopped answering (TCP keepalives and a 15 s user timeout) instead of waiting for ever.
POSTGRES_CONNECT_TIMEOUT_S = 5
POSTGRES_STATEMENT_TIMEOUT_MS = 30_000
POSTGRES_TCP_USER_TIMEOUT_MS = 15_000
SQLITE_CACHE_KIB = 16_000  # a cap, not an allocation: pages are cached as they are read


def default_database_url() -> str:
    """``$PORELINE_DATABASE_URL`` if set, else SQLite ``./var/poreline.db`` (cwd-relative)."""
    env = os.environ.get(DATABASE_URL_ENV, "").strip()
    if env:
        return env
    return f"sqlite:///{Path.cwd() / 'var' / 'poreline.db'}"


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``; pick the psycopg 3 driver for bare PostgreSQL URLs."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_file(url: URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine_for(url: str | URL, *, sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs: Any) -> Engine:
    """Create an engine configured for Poreline.

    SQLite: the parent directory of the file is created; every connection gets
    ``journal_mode=WAL``, ``foreign_keys=ON``, ``busy_timeout`` and
    ``synchronous=NORMAL`` (durable in WAL mode except for the last commits on a
    power cut), and SQLAlchemy emits ``BEGIN`` itself so that transactions are real
    (pysqlite's legacy mode does not begin a transaction on ``SELECT``); transactions
    through :func:`writer` begin IMMEDIATE, so they wait for the write lock instead of
    failing on a concurrent commit.

    PostgreSQL: ``postgresql+psycopg`` with ``pool_pre_ping``, a connect timeout, a
    statement timeout and TCP keepalives, so a database that hangs without answering is
    an error after seconds, not a frozen caller.
    """
    parsed = normalise_url(url)
    if _is_sqlite(parsed):
        path = _sqlite_file(parsed)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine, wal=path is not None, busy_timeout_ms=sqlite_busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    url_options = parsed.query.get("options", "")  # e.g. a search_path given in the URL: kept
    connect_args = {
        "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
        "options": " ".join(filter(None, (*([url_options] if isinstance(url_options, str) else url_options),
                                          f"-c statement_timeout={POSTGRES_STATEMENT_TIMEOUT_MS}"))),
        "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
        "tcp_user_timeout": POSTGRES_TCP_USER_TIMEOUT_MS,
    }
    connect_args.update(kwargs.pop("connect_args", {}))
    return create_engine(parsed, connect_args=connect_args, **kwargs)


def _configure_sqlite(engine: Engine, *, wal: bool, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the "begin" hook below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            # Page cache per connection (negative: KiB). It also bounds the memory of the
            # sorter of a GROUP BY: a 24 h trend groups 86 400 samples, which spill to a
            # temporary file with the default 2 MiB (about 20 % slower).
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer (``writer(engine)``) begins IMMEDIATE: it takes the write lock at once,
        # waiting up to busy_timeout for another writer (the line runtime's historian, say). A
        # deferred transaction that read first and then writes would fail at once with
        # "database is locked" when another connection committed in between (WAL snapshot).
        # Readers stay deferred: in WAL mode they never block a writer nor wait for one.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITER_OPTION) else "BEGIN")


WRITER_OPTION = "poreline_writer"


def writer(engine: Engine) -> Engine:
    """``engine`` for transactions that write: on SQLite they begin IMMEDIATE (see
    :func:`create_engine_for`); elsewhere nothing changes."""
    return engine.execution_options(**{WRITER_OPTION: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A ``sessionmaker`` bound to ``engine`` (``expire_on_commit=False`` so that
    objects returned by repositories stay readable after the caller commits)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic configuration built in code, pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        rendered = normalise_url(url).render_as_string(hide_password=False)
        cfg.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return cfg


def upgrade(url: str | URL | Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent: a no-op when already there)."""
    if isinstance(url, Engine):
        engine, owned = url, False
    else:
        engine, owned = create_engine_for(url), True
    try:
        cfg = alembic_config(engine.url)
        with writer(engine).begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        if owned:
            engine.dispose()
