"""Fixtures for the store tests: every test runs against a SQLite file in
``tmp_path`` and against the PostgreSQL server at 127.0.0.1:5432.

PostgreSQL: one throw-away database per test session (``poreline_test_<hex>``,
dropped at the end) and one fresh schema per test, selected through the
connection's ``search_path`` so that each test starts from an empty database.
When the server cannot be reached the PostgreSQL variants are skipped with the
reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from controller.store import create_engine_for, session_factory, upgrade

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    errors: list[str] = []
    for user in PG_USERS:
        try:
            admin = psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=user, dbname="test", autocommit=True, connect_timeout=3
            )
        except psycopg.Error as exc:
            errors.append(f"user {user}: {exc}".strip())
            continue
        name = f"poreline_test_{uuid.uuid4().hex[:12]}"
        try:
            admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            errors.append(f"user {user} cannot create a database: {exc}".strip())
            admin.close()
            continue
        try:
            yield URL.create("postgresql+psycopg", username=user, host=PG_HOST, port=PG_PORT, database=name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        return
    pytest.skip(f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT}: {'; '.join(errors)}")


def _fresh_schema(database: URL) -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host=database.host, port=database.port, user=database.username, dbname=database.database, autocommit=True
    ) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return schema


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty database (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'poreline.db'}"
    database: URL = request.getfixturevalue("postgres_database")
    schema = _fresh_schema(database)
    return database.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to head."""
    eng = create_engine_for(database_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as s:
        yield s


@pytest.fixture(scope="session")
def fast_hasher() -> PasswordHasher:
    """Cheap argon2 parameters for tests that only need users to exist."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
