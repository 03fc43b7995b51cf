"""Fixtures for the store tests: every test runs against a SQLite file in
``tmp_path`` and against PostgreSQL (the shared ``postgres_database`` fixture in
``tests/conftest.py``), one fresh schema per test so that each test starts from an
empty database.  When the server cannot be reached the PostgreSQL variants are
skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from controller.store import create_engine_for, session_factory, upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """URL of an empty database (not migrated)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'poreline.db'}"
    return request.getfixturevalue("postgres_schema_url")()


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
