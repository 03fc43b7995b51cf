"""Bounded input at the API (issue 11, item 3): a request body over the limit is answered
413 before anything parses it, whichever route and whether or not the caller logged in;
a 422 never echoes a password and cuts what it echoes of other input short; recipes are
uploaded as JSON, a YAML body or a file, and bytes that are not UTF-8 are refused naming
the byte, never stored."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from controller.api import Settings, create_app
from controller.api.errors import MAX_ECHO_CHARS
from controller.api.limits import DEFAULT_MAX_BODY_BYTES

MIB = 1024 * 1024
BIG = 20 * MIB
CHUNK = 64 * 1024
SECRET = "Sup3r-secret-passphrase-never-echoed"


# --------------------------------------------------------------- the app as pure ASGI
class _Sender:
    """The client side of one request: hands the body to the app ``CHUNK`` bytes at a
    time, generated on demand (the test never holds the body either), and counts what the
    app pulled."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pulled = 0

    async def receive(self) -> dict[str, Any]:
        if self.pulled >= self.size:
            return {"type": "http.disconnect"}
        part = min(CHUNK, self.size - self.pulled)
        self.pulled += part
        return {"type": "http.request", "body": b"1" * part, "more_body": self.pulled < self.size}


def _call(app: FastAPI, path: str, size: int, *, declare_length: bool | str) -> tuple[int, dict[str, Any], _Sender]:
    """POST ``size`` bytes of body to ``path`` straight into the ASGI app (``Content-Length``
    declared, as given when text, or chunked); the status, the JSON answer and the sender."""
    headers = [(b"content-type", b"application/json"), (b"host", b"testserver")]
    if isinstance(declare_length, str):
        headers.append((b"content-length", declare_length.encode()))
    elif declare_length:
        headers.append((b"content-length", str(size).encode()))
    else:
        headers.append((b"transfer-encoding", b"chunked"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": headers, "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "state": {}}
    sender = _Sender(size)
    answer: dict[str, Any] = {"body": b""}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    asyncio.run(app(scope, sender.receive, send))  # type: ignore[arg-type]
    return answer["status"], json.loads(answer["body"]), sender


@pytest.fixture(scope="module")
def bare_app() -> FastAPI:
    """The application without its lifespan (no database, no runtime): what runs before a
    route touches either is all a body limit may use."""
    return create_app(Settings(database_url="sqlite://"))


def test_a_20_mb_body_with_its_length_is_refused_unread(bare_app: FastAPI) -> None:
    status, body, sender = _call(bare_app, "/auth/login", BIG, declare_length=True)
    assert status == 413
    assert f"larger than {DEFAULT_MAX_BODY_BYTES} bytes" in body["detail"]
    assert sender.pulled == 0, "not one byte of the body was read"


@pytest.mark.parametrize(("path", "status"), [
    ("/auth/login", 413),        # parsed before authentication: cut off at the limit
    ("/users", 413),             # parsed before the token is checked: cut off as well
    ("/recipes/validate", 401),
    ("/no/such/route", 404),
])
def test_a_chunked_20_mb_body_is_cut_off_with_memory_bounded(bare_app: FastAPI, path: str, status: int) -> None:
    tracemalloc.start()
    try:
        answered, body, sender = _call(bare_app, path, BIG, declare_length=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answered == status, body
    if status == 413:
        assert "larger than" in body["detail"]
    assert sender.pulled <= DEFAULT_MAX_BODY_BYTES + CHUNK, "read no further than the first chunk past the limit"
    assert peak < 4 * MIB, f"the server held {peak / MIB:.1f} MiB for a 20 MiB body"


# --------------------------------------------------------------- through the client
@pytest.fixture
def logged_in(sqlite_client: TestClient, sqlite_url: str, api: ModuleType) -> tuple[TestClient, dict[str, dict[str, str]]]:
    return sqlite_client, api.create_users(sqlite_client, sqlite_url)


def test_a_20_mb_login_through_the_client_gets_413(sqlite_client: TestClient) -> None:
    response = sqlite_client.post("/auth/login", content=b"[" + b"1," * (BIG // 2) + b"1]",
                                  headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than" in response.json()["detail"]
    assert sqlite_client.get("/health").status_code == 200, "the server answers on"


def test_a_malformed_content_length_is_400_unread(bare_app: FastAPI) -> None:
    status, body, sender = _call(bare_app, "/auth/login", 1000, declare_length="12abc")
    assert status == 400
    assert "Content-Length" in body["detail"]
    assert sender.pulled == 0


@pytest.fixture
def big_body_client(tmp_path: Path) -> Iterator[TestClient]:
    """A server whose body limit lets a 5 MB password through to validation."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'poreline.db'}", max_body_bytes=8 * MIB,
                        state_dir=tmp_path / "runtime")
    with TestClient(create_app(settings)) as client:
        yield client


def test_a_5_mb_password_is_not_echoed(big_body_client: TestClient) -> None:
    password = "p4ssw0rd-" * (5 * MIB // 9)
    response = big_body_client.post("/auth/login", json={"username": "nobody", "password": password})
    assert response.status_code == 422
    assert password[:40] not in response.text
    assert len(response.content) < 2000, "the answer is a few lines, not the body"
    assert any(error["loc"] == ["body", "password"] for error in response.json()["detail"])


LOGIN_BODIES: list[object] = [
    {"username": ["x"], "password": SECRET},            # wrong type beside the password
    {"username": "x" * 5000, "password": SECRET},       # over-long user name beside it
    {"username": "x", "password": [SECRET]},            # password of the wrong type
    {"username": "x", "password": SECRET, "extra": {"password": SECRET}},  # an unknown key holding it
    [SECRET, SECRET],                                    # a body of the wrong shape
    SECRET,
]


def test_no_422_of_a_login_contains_the_password(sqlite_client: TestClient) -> None:
    for body in LOGIN_BODIES:
        response = sqlite_client.post("/auth/login", json=body)
        assert response.status_code == 422, response.text
        assert SECRET not in response.text, body
        for error in response.json()["detail"]:
            echoed = error.get("input")
            assert echoed is None or not isinstance(echoed, str) or len(echoed) <= MAX_ECHO_CHARS + 40


def test_malformed_json_with_a_password_is_not_echoed(sqlite_client: TestClient) -> None:
    raw = '{"username": "x", "password": "' + SECRET + '", '
    response = sqlite_client.post("/auth/login", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert SECRET not in response.text


def test_no_4xx_reply_contains_a_submitted_password(logged_in: tuple[TestClient, dict[str, dict[str, str]]],
                                                    api: ModuleType) -> None:
    client, h = logged_in
    created = client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h["eng_a"])
    assert created.status_code == 201, created.text
    version_url = f"/recipes/{created.json()['recipe_id']}/versions/{created.json()['version']}"
    attempts: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", "/auth/login", {"username": "eng_a", "password": SECRET}, {}),                 # wrong password
        ("POST", "/auth/login", {"username": "nobody", "password": SECRET}, {}),                # unknown user
        ("POST", "/users", {"username": "new", "password": "short", "role": "viewer"}, h["admin"]),  # policy
        ("POST", "/users", {"username": "new one", "password": SECRET, "role": "viewer"}, h["admin"]),
        ("POST", "/users", {"username": "new", "password": SECRET, "role": "wizard"}, h["admin"]),
        ("POST", "/users", {"username": "new2", "password": SECRET, "role": "viewer"}, h["op"]),  # role too low
        ("POST", "/users/eng_a/password", {"password": "short"}, h["admin"]),
        ("POST", f"{version_url}/release-for-testing", api.signature("eng_a", password=SECRET), h["eng_a"]),
        ("POST", f"{version_url}/release-for-testing", api.signature("eng_b", password=SECRET), h["eng_a"]),
        ("POST", f"{version_url}/release-for-testing", {"username": "eng_a", "password": SECRET}, h["eng_a"]),
    ]
    for method, url, body, headers in attempts:
        password = body.get("password", "")
        response = client.request(method, url, json=body, headers=headers)
        assert 400 <= response.status_code < 500, (url, response.status_code, response.text)
        assert password not in response.text, (url, response.text)


# --------------------------------------------------------------- recipe uploads
def _versions(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/recipes", headers=headers)
    assert response.status_code == 200
    return [v for recipe in response.json() for v in recipe["versions"]]


def test_a_recipe_is_uploaded_as_a_yaml_body_or_a_file(logged_in: tuple[TestClient, dict[str, dict[str, str]]],
                                                       api: ModuleType) -> None:
    client, h = logged_in
    text = api.short_recipe()
    as_yaml = client.post("/recipes", content=text.encode(), headers={**h["eng_a"], "content-type": "application/yaml"})
    assert as_yaml.status_code == 201, as_yaml.text
    assert as_yaml.json()["yaml_text"] == text

    as_file = client.post("/recipes", files={"file": ("recipe.yaml", text.encode(), "application/x-yaml")},
                          data={"comment": "uploaded"}, headers=h["eng_a"])
    assert as_file.status_code == 201, as_file.text
    assert (as_file.json()["version"], as_file.json()["comment"]) == (2, "uploaded")

    url = f"/recipes/{as_file.json()['recipe_id']}/versions/2"
    edited = text.replace("Steady casting.", "Steady casting, edited.")
    replaced = client.put(url, content=edited.encode(), headers={**h["eng_a"], "content-type": "text/yaml"})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["yaml_text"] == edited

    checked = client.post("/recipes/validate", files={"file": ("r.yaml", text.encode())}, headers=h["view"])
    assert checked.status_code == 200 and checked.json()["valid"], checked.text

    missing = client.post("/recipes", files={"other": ("r.yaml", text.encode())}, headers=h["eng_a"])
    assert missing.status_code == 422 and "file" in missing.text
    plain = client.post("/recipes", content=text.encode(), headers={**h["eng_a"], "content-type": "text/plain"})
    assert plain.status_code == 415 and "application/yaml" in plain.json()["detail"]


def test_non_utf8_recipe_bytes_are_refused_naming_the_byte_and_not_stored(
        logged_in: tuple[TestClient, dict[str, dict[str, str]]], api: ModuleType) -> None:
    client, h = logged_in
    text = api.short_recipe().replace("header:\n", "# Caf\u00e9 line\nheader:\n", 1)
    data = text.encode("latin-1")
    at = data.index(b"\xe9")
    as_json = b'{"yaml_text": "' + data.replace(b"\n", b"\\n").replace(b'"', b'\\"') + b'"}'
    for form, response in (
        ("yaml body", client.post("/recipes", content=data, headers={**h["eng_a"], "content-type": "application/yaml"})),
        ("file", client.post("/recipes", files={"file": ("recipe.yaml", data)}, headers=h["eng_a"])),
        ("validate", client.post("/recipes/validate", files={"file": ("recipe.yaml", data)}, headers=h["eng_a"])),
        ("json", client.post("/recipes", content=as_json, headers={**h["eng_a"], "content-type": "application/json"})),
    ):
        assert response.status_code == 422, (form, response.text)
        assert "not UTF-8 at byte" in response.text, (form, response.text)
        if form != "json":  # the byte of the recipe text (in JSON, of the body)
            assert f"not UTF-8 at byte {at}" in response.text, (form, response.text)
    assert _versions(client, h["eng_a"]) == [], "nothing stored"


def test_a_lone_surrogate_in_json_is_refused_and_not_stored(
        logged_in: tuple[TestClient, dict[str, dict[str, str]]], api: ModuleType) -> None:
    client, h = logged_in
    text = api.short_recipe().replace("header:\n", "# \ud800\nheader:\n", 1)
    body = json.dumps({"yaml_text": text})  # ensure_ascii: the surrogate travels as \\ud800
    response = client.post("/recipes", content=body, headers={**h["eng_a"], "content-type": "application/json"})
    assert response.status_code == 422, response.text
    at = text.index("\ud800")
    assert response.json()["errors"][0] == {"field": "yaml_text", "rule": "recipe.text", "severity": "error",
                                            "message": f"not UTF-8 at character {at}: a lone surrogate (\\ud800)"}
    assert _versions(client, h["eng_a"]) == []


def test_an_aliased_recipe_upload_is_refused(logged_in: tuple[TestClient, dict[str, dict[str, str]]],
                                             api: ModuleType) -> None:
    client, h = logged_in
    bomb = api.short_recipe() + "x: &a [1, 2]\ny: [*a, *a]\n"
    response = client.post("/recipes", content=bomb.encode(), headers={**h["eng_a"], "content-type": "text/yaml"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "yaml.alias"
    assert _versions(client, h["eng_a"]) == []
