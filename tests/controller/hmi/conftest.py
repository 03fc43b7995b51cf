"""Fixtures of the HMI tests: the app with its simulated line runtime on SQLite (as the API
tests start it) and its users, once per test module (a module's tests leave the line as they
found it); ``as_user("op")`` opens a browser-like session of one user (its own cookies)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import api_support
import pytest
from fastapi.testclient import TestClient
from hmi_support import HmiSession, database_url, start_client


@pytest.fixture(scope="module")
def hmi_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hmi")


@pytest.fixture(scope="module")
def hmi_client(hmi_root: Path) -> Iterator[TestClient]:
    yield from start_client(hmi_root)


@pytest.fixture(scope="module")
def users(hmi_client: TestClient, hmi_root: Path) -> dict[str, dict[str, str]]:
    """admin, eng_a, eng_b, op, view: the API's bearer headers by name."""
    return api_support.create_users(hmi_client, database_url(hmi_root))


@pytest.fixture(scope="module")
def as_user(hmi_client: TestClient, users: dict[str, dict[str, str]]) -> Callable[[str], HmiSession]:
    def sign_in(name: str) -> HmiSession:
        return HmiSession.signed_in(hmi_client, name)

    return sign_in


@pytest.fixture(scope="module")
def signed_in(as_user: Callable[[str], HmiSession]) -> Callable[[str], HmiSession]:
    """``as_user``, signed in once per user and module (each login hashes a password)."""
    sessions: dict[str, HmiSession] = {}

    def session_of(name: str) -> HmiSession:
        if name not in sessions:
            sessions[name] = as_user(name)
        return sessions[name]

    return session_of
