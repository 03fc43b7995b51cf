"""Property-based fuzzing of the OpenAPI document (schemathesis 4): no request, however
malformed, gets a 5xx, and no response echoes a password the request sent.  Bounded: a
few examples per operation, no deadline per example, one app for the whole module.
``/stream`` (an endless event stream) and ``/auth/logout`` (it would revoke the fuzzer's
own token) are left out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation.modes import GenerationMode

from controller.api import Settings, create_app

MAX_EXAMPLES = 8

schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="sqlite://")).openapi()
).exclude(path_regex=r"^/(stream|auth/logout)$")


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
# a generated password shorter than this, or of fewer distinct characters, may occur in any
# answer by chance ("0", "aaaaaaaa"); a longer one in an answer was echoed
_MIN_ECHO_CHARS = 8
_MIN_DISTINCT = 4


def _passwords(value: Any) -> list[str]:
    """The text of every field named like a password in a request body, at any depth."""
    if isinstance(value, dict):
        found: list[str] = []
        for key, item in value.items():
            if isinstance(key, str) and "password" in key.lower() and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_passwords(item))
        return found
    if isinstance(value, list):
        return [p for item in value for p in _passwords(item)]
    return []


def _without_passwords(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: None if isinstance(k, str) and "password" in k.lower() else _without_passwords(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_without_passwords(v) for v in value]
    return value


def _texts(value: Any) -> list[str]:
    """Every string (keys included) in a decoded JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts(k), *_texts(v))]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def echoed_passwords(case: Any, request: dict[str, Any], answer: str) -> list[str]:
    """The passwords of the request's body that the answer contains, as sent or once its
    JSON is decoded (JSON escapes control characters), ignoring those that the request
    also sends in a field of another name (e.g. as the user name)."""
    try:
        answer = "\n".join([answer, *_texts(json.loads(answer))])
    except ValueError:
        pass
    body = getattr(case, "body", None)
    elsewhere = repr((_without_passwords(body), request.get("url"), request.get("params")))
    return [p for p in _passwords(body) if len(p) >= _MIN_ECHO_CHARS and len(set(p)) >= _MIN_DISTINCT
            and p in answer and p not in elsewhere]


# One pytest item per operation (rather than schema.parametrize()'s sub-items, which pytest-xdist
# runs and reports as a single test): each operation is counted, and a failure names it.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)  # valid requests and malformed ones (values that break the schema)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda operation: operation.label)
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_request_gets_a_server_error(operation, data, fuzz_client):
    case = data.draw(st.one_of(*(operation.as_strategy(generation_mode=mode) for mode in MODES)))
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
    echoed = echoed_passwords(case, request, response.text)
    assert not echoed, (f"{case.method} {case.formatted_path} -> {response.status_code} echoes the password "
                        f"{echoed[0][:40]!r}: {response.text[:500]}")


def test_the_echo_check_finds_an_echoed_password() -> None:
    case = SimpleNamespace(body={"username": "someone", "password": "Echoed-Secret-1",
                                 "nested": {"new_password": "Other-Secret-2"}})
    assert echoed_passwords(case, {}, '{"detail": "bad Echoed-Secret-1 / Other-Secret-2"}') == [
        "Echoed-Secret-1", "Other-Secret-2"]
    assert echoed_passwords(case, {}, '{"detail": "wrong user name or password"}') == []
    tabbed = SimpleNamespace(body={"password": "tab\there-secret"})
    assert echoed_passwords(tabbed, {}, json.dumps({"detail": [{"input": "tab\there-secret"}]})) == ["tab\there-secret"]
