"""Shared fixtures: the PostgreSQL server used by the persistence and API tests.

``PORELINE_TEST_POSTGRES_URL`` (CI: ``postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test``)
names the server and the admin database in which one throw-away database per test
session is created (``poreline_test_<hex>``, dropped at the end).  Unset: the users
``postgres`` and ``root`` are tried on 127.0.0.1:5432, database ``test``.  When no server
is reachable the PostgreSQL variants are skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from sqlalchemy.engine import URL, make_url

from controller.store import users

PRODUCTION_HASHER = users._default_hasher  # what the tests swap out, kept for its own test


@pytest.fixture(scope="session")
def production_hasher() -> PasswordHasher:
    """The hasher Poreline stores passwords with, before the tests swapped it."""
    return PRODUCTION_HASHER


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Hash passwords at argon2id's lowest cost in the tests. At the production cost (64 MiB,
    3 passes: about 0.25 s a hash on a 2-core machine) every API test spent seconds creating
    and logging in its users, minutes over the suite. The code path is the same (argon2id, the
    policy, the lockout, the dummy hash for unknown names); verification reads the cost from
    each stored hash, so a hash made at the production cost elsewhere still verifies.
    tests/controller/store/test_password_cost.py holds the production cost."""
    patch = pytest.MonkeyPatch()
    patch.setattr(users, "_default_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    patch.undo()


POSTGRES_URL_ENV = "PORELINE_TEST_POSTGRES_URL"
PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_USERS = ("postgres", "root")


def _candidates() -> list[URL]:
    env = os.environ.get(POSTGRES_URL_ENV, "").strip()
    if env:
        return [make_url(env)]
    return [URL.create("postgresql+psycopg", username=u, host=PG_HOST, port=PG_PORT, database="test")
            for u in PG_USERS]


def _connect(url: URL, dbname: str | None = None) -> psycopg.Connection:
    return psycopg.connect(host=url.host or PG_HOST, port=url.port or PG_PORT, user=url.username,
                           password=url.password, dbname=dbname or url.database or "postgres",
                           autocommit=True, connect_timeout=3)


@pytest.fixture(scope="session")
def opcua_type_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One OPC UA type cache (``controller.scada.type_cache``) for the session, shared by
    its xdist workers: the first server to need EUROMAP 84's nodesets imports them, the
    others take them from the cache, as a restarted runtime does."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "opcua-types"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """URL of an empty throw-away PostgreSQL database for this test session."""
    errors: list[str] = []
    for admin_url in _candidates():
        where = admin_url.render_as_string(hide_password=True)
        try:
            admin = _connect(admin_url)
        except psycopg.Error as exc:
            errors.append(f"{where}: {exc}".strip())
            continue
        name = f"poreline_test_{uuid.uuid4().hex[:12]}"
        try:
            admin.execute(f'CREATE DATABASE "{name}"')
        except psycopg.Error as exc:
            errors.append(f"{where} cannot create a database: {exc}".strip())
            admin.close()
            continue
        try:
            yield admin_url.set(drivername="postgresql+psycopg", database=name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        return
    pytest.skip(f"PostgreSQL not reachable ({POSTGRES_URL_ENV} or {PG_HOST}:{PG_PORT}): {'; '.join(errors)}")


@pytest.fixture
def postgres_schema_url(postgres_database: URL) -> Callable[[], str]:
    """Factory: the URL of a fresh, empty schema in the session's database (selected
    through the connection's ``search_path``)."""

    def make() -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with _connect(postgres_database, postgres_database.database) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        return postgres_database.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )

    return make
