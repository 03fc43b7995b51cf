"""Fixtures for the API tests: the app on a SQLite file in tmp_path and on PostgreSQL
(shared ``postgres_schema_url`` fixture); the helpers of tests/support/api_support.py reach
the tests through the ``api`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import api_support
import pytest
from fastapi.testclient import TestClient

from controller.api import Settings, create_app

SPEED = 300.0  # simulated seconds per wall second


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'poreline.db'}"
    return request.getfixturevalue("postgres_schema_url")()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'poreline.db'}"


def make_client(url: str, state_dir: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=url, sim_speed=SPEED, scan_period_s=1.0, sample_period_s=5.0,
                        state_dir=state_dir)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(database_url, tmp_path / "runtime")


@pytest.fixture
def sqlite_client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    yield from make_client(sqlite_url, tmp_path / "runtime")


@pytest.fixture(scope="module")
def shared_sqlite_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app (and runtime) for a module's tests that change nothing, such as refusals of
    anonymous reads: starting a runtime costs seconds."""
    root = tmp_path_factory.mktemp("shared")
    yield from make_client(f"sqlite:///{root / 'var' / 'poreline.db'}", root / "runtime")


@pytest.fixture
def api() -> ModuleType:
    """The helpers of tests/support/api_support.py: PASSWORD, cli, login, create_users,
    release, short_recipe, wait_for, run_state."""
    return api_support
