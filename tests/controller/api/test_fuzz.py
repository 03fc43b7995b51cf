"""Property-based fuzzing of the OpenAPI document (schemathesis 4): no request, however
malformed, gets a 5xx.  Bounded: a few examples per operation, no deadline per example,
one app for the whole module.  ``/stream`` (an endless event stream) and ``/auth/logout``
(it would revoke the fuzzer's own token) are left out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.generation.modes import GenerationMode

from controller.api import Settings, create_app

MAX_EXAMPLES = 8

schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite://")).openapi()
).exclude(path_regex=r"^/(stream|auth/logout)$")
# valid and malformed requests (negative: values that break the schema)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str]]]:
    from controller.store import create_engine_for, session_factory, upgrade, users

    home = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite:///{home / 'poreline.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    with session_factory(engine)() as session:
        users.create_user(session, "admin", "fuzz-password", "admin")
        session.commit()
    engine.dispose()
    settings = Settings(database_url=url, sim_speed=10.0, state_dir=home / "runtime")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        token = client.post("/auth/login", json={"username": "admin", "password": "fuzz-password"}).json()
        yield client, {"Authorization": f"Bearer {token['access_token']}"}


_PASS = ("method", "url", "params", "headers", "json", "data", "cookies")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case, fuzz_client):
    client, auth = fuzz_client
    headers = dict(auth)
    headers.update({k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"})
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    request = {k: v for k, v in kwargs.items() if k in _PASS}
    if "data" in request:
        request["content"] = request.pop("data")
    if "cookies" in request:
        client.cookies.clear()
        client.cookies.update(request.pop("cookies") or {})
    response = client.request(**request)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}\n{request}")
