"""Authentication (issue 11, item 4): lockout per user and throttling per client address on
logins and signature passwords, every failure and lock audited; admins deactivate and
reactivate users, reset passwords, unlock and revoke every token of a user; tokens idle
out; an open event stream ends once its token is revoked; ``poreline serve`` refuses a
non-loopback bind without TLS; /docs is served from the package.

Times of lockouts and tokens run on an injected clock (``create_app(clock=...)``), never
on sleeps."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from controller.api import Settings, create_app, passwords
from controller.api.throttle import SlidingWindowLimiter
from controller.cli.bind import bind_refusal, is_loopback
from controller.store import users
from controller.store.models import utc_now

SPEED = 300.0
MAX_FAILURES = 3
LOCKOUT_S = 600.0
IDLE_S = 1800.0
NEW_PASSWORD = "a-brand-new-passphrase"


class FakeClock:
    """The API's wall clock (UTC), moved by the test."""

    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'var' / 'poreline.db'}", "sim_speed": SPEED,
        "scan_period_s": 1.0, "sample_period_s": 5.0, "state_dir": tmp_path / "runtime",
        "login_max_failures": MAX_FAILURES, "lockout_s": LOCKOUT_S, "token_idle_s": IDLE_S,
        "address_max_failures": 50, "address_window_s": 300.0, "token_recheck_s": 0.1,
    }
    return Settings(**(values | overrides))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., TestClient]]:
    """Start the API (SQLite in tmp_path, the fake clock) with the given settings overrides."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(_settings(tmp_path, **overrides), clock=clock))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def h(client: TestClient, tmp_path: Path, api: ModuleType) -> dict[str, dict[str, str]]:
    return api.create_users(client, f"sqlite:///{tmp_path / 'var' / 'poreline.db'}")


def _login(client: TestClient, username: str, password: str) -> httpx.Response:
    return client.post("/auth/login", json={"username": username, "password": password})


def _audit(client: TestClient, admin: dict[str, str], after_id: int = 0) -> list[dict[str, Any]]:
    response = client.get(f"/audit?after_id={after_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def _last_audit_id(client: TestClient, admin: dict[str, str]) -> int:
    rows = _audit(client, admin)
    return rows[-1]["id"] if rows else 0


def _user(client: TestClient, admin: dict[str, str], username: str) -> dict[str, Any]:
    return next(u for u in client.get("/users", headers=admin).json() if u["username"] == username)


def _bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


# ------------------------------------------------------------------- lockout
def test_failed_logins_lock_the_user_audited_and_the_lock_expires(client, h, clock, api):
    admin = h["admin"]
    start_id = _last_audit_id(client, admin)
    for _ in range(MAX_FAILURES):
        refused = _login(client, "op", "not-the-password")
        assert refused.status_code == 401, refused.text
        assert refused.json()["detail"] == "wrong user name or password"
        assert "not-the-password" not in refused.text
    assert _user(client, admin, "op")["locked_until"] is not None

    locked = _login(client, "op", api.PASSWORD)  # the right password, refused while locked
    assert locked.status_code == 423, locked.text
    assert "locked" in locked.json()["detail"] and "/users/op/unlock" in locked.json()["detail"]
    assert 0 < int(locked.headers["Retry-After"]) <= LOCKOUT_S

    rows = _audit(client, admin, start_id)
    failed = [r for r in rows if r["action"] == "auth.login_failed" and r["subject"] == "user op"]
    assert [r["details"]["reason"] for r in failed] == ["wrong password"] * MAX_FAILURES + ["account locked"]
    assert [r["details"].get("failed_logins") for r in failed[:MAX_FAILURES]] == [1, 2, 3]
    assert all(r["details"]["address"] == "testclient" and r["actor"] == "anonymous" for r in failed)
    lock = [r for r in rows if r["action"] == "auth.locked"]
    assert len(lock) == 1 and lock[0]["subject"] == "user op" and lock[0]["details"]["failed_logins"] == MAX_FAILURES
    assert all("not-the-password" not in str(r) and api.PASSWORD not in str(r) for r in rows)

    clock.advance(LOCKOUT_S - 1)
    assert _login(client, "op", api.PASSWORD).status_code == 423
    clock.advance(2)  # the lock ran out
    assert _login(client, "op", api.PASSWORD).status_code == 200
    assert _user(client, admin, "op")["failed_logins"] == 0


def test_an_admin_unlocks_a_locked_user(client, h, api):
    admin = h["admin"]
    for _ in range(MAX_FAILURES):
        assert _login(client, "view", "guess-guess-guess").status_code == 401
    assert _login(client, "view", api.PASSWORD).status_code == 423
    assert client.post("/users/view/unlock", headers=h["op"]).status_code == 403  # admins only
    unlocked = client.post("/users/view/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["locked_until"] is None and unlocked.json()["failed_logins"] == 0
    assert _login(client, "view", api.PASSWORD).status_code == 200
    entry = [r for r in _audit(client, admin) if r["action"] == "user.unlocked"][-1]
    assert (entry["actor"], entry["subject"]) == ("admin", "user view")
    assert entry["details"] == {"was_locked": True, "failed_logins": MAX_FAILURES}


def test_a_right_password_resets_the_count_and_unknown_users_get_the_same_answer(client, h, api):
    for _ in range(MAX_FAILURES - 1):
        assert _login(client, "op", "wrong-wrong-wrong").status_code == 401
    assert _login(client, "op", api.PASSWORD).status_code == 200
    for _ in range(MAX_FAILURES - 1):
        assert _login(client, "op", "wrong-wrong-wrong").status_code == 401
    assert _login(client, "op", api.PASSWORD).status_code == 200  # never three in a row: not locked
    for _ in range(MAX_FAILURES + 1):
        ghost = _login(client, "ghost", "wrong-wrong-wrong")
        assert ghost.status_code == 401 and ghost.json()["detail"] == "wrong user name or password"
    unknown = [r for r in _audit(client, h["admin"]) if r["subject"] == "user ghost"]
    assert len(unknown) == MAX_FAILURES + 1 and {r["details"]["reason"] for r in unknown} == {"unknown user"}


def test_signature_password_failures_count_toward_the_lockout_and_are_audited(client, h, api):
    created = client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h["eng_a"])
    assert created.status_code == 201, created.text
    url = f"/recipes/{created.json()['recipe_id']}/versions/{created.json()['version']}/release-for-testing"
    start_id = _last_audit_id(client, h["admin"])
    for _ in range(MAX_FAILURES - 1):
        refused = client.post(url, json=api.signature("eng_a", password="wrong-signature"), headers=h["eng_a"])
        assert refused.status_code == 403, refused.text
        assert "password" in refused.json()["detail"] and "wrong-signature" not in refused.text
    assert _login(client, "eng_a", "wrong-login-pw").status_code == 401  # the third failure in a row locks
    right = client.post(url, json=api.signature("eng_a"), headers=h["eng_a"])
    assert right.status_code == 403 and "locked" in right.json()["detail"], right.text
    assert _login(client, "eng_a", api.PASSWORD).status_code == 423

    rows = _audit(client, h["admin"], start_id)
    refusals = [r for r in rows if r["action"] == "auth.signature_refused"]
    assert [r["details"]["reason"] for r in refusals] == ["wrong password"] * (MAX_FAILURES - 1) + ["account locked"]
    assert [r["details"].get("failed_logins") for r in refusals[:2]] == [1, 2]
    assert all(r["actor"] == "eng_a" and r["subject"] == "user eng_a" for r in refusals)
    assert [r["details"]["failed_logins"] for r in rows if r["action"] == "auth.locked"] == [MAX_FAILURES]
    assert all("wrong-signature" not in str(r) for r in rows)
    version = client.get(url.removesuffix("/release-for-testing"), headers=h["eng_b"]).json()
    assert version["state"] == "draft"  # nothing was signed


def test_too_many_wrong_passwords_from_one_address_get_429_with_retry_after(make_client, tmp_path, api):
    client = make_client(address_max_failures=4, address_window_s=120.0)
    h = api.create_users(client, f"sqlite:///{tmp_path / 'var' / 'poreline.db'}")  # right passwords: no slot kept
    for name in ("ghost1", "ghost2", "ghost3", "op"):  # spread over users: no user lockout, one address
        assert _login(client, name, "guess-guess-guess").status_code == 401
    throttled = _login(client, "eng_b", api.PASSWORD)  # even the right password: no hash is run
    assert throttled.status_code == 429, throttled.text
    assert 0 < int(throttled.headers["Retry-After"]) <= 120
    assert "try again in" in throttled.json()["detail"]
    assert _login(client, "ghost5", "guess-guess-guess").status_code == 429
    # the limit is per address: another client address still logs in
    other = TestClient(client.app, client=("10.20.30.40", 40000))
    assert other.post("/auth/login", json={"username": "eng_b", "password": api.PASSWORD}).status_code == 200
    rows = _audit(client, h["admin"])
    throttled_rows = [r for r in rows if r["action"] == "auth.throttled"]
    assert len(throttled_rows) == 1  # the first refusal of the series, not every one
    assert throttled_rows[0]["details"]["address"] == "testclient"
    assert throttled_rows[0]["details"]["attempt"] == "login"
    # signatures share the address's budget
    created = client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h["eng_a"])
    assert created.status_code == 201, created.text
    url = f"/recipes/{created.json()['recipe_id']}/versions/{created.json()['version']}/release-for-testing"
    assert client.post(url, json=api.signature("eng_a"), headers=h["eng_a"]).status_code == 429


def test_the_address_window_slides_on_its_clock():
    now = [1000.0]
    limiter = SlidingWindowLimiter(2, 60.0, clock=lambda: now[0])
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    refused = limiter.acquire("a")
    assert refused is not None and refused.retry_after_s == 60 and refused.first
    assert limiter.acquire("b") is None  # per key
    now[0] += 30
    again = limiter.acquire("a")
    assert again is not None and again.retry_after_s == 30 and not again.first
    now[0] += 30  # the oldest two left the window
    assert limiter.acquire("a") is None
    limiter.release("a")  # a success gives its slot back
    assert limiter.acquire("a") is None and limiter.acquire("a") is None
    assert limiter.acquire("a") is not None


# -------------------------------------------------------- admin and tokens
def test_deactivation_revokes_tokens_refuses_logins_and_reactivation_brings_no_token_back(client, h, api):
    admin = h["admin"]
    assert client.get("/recipes", headers=h["op"]).status_code == 200
    assert client.post("/users/op/deactivate", headers=h["eng_a"]).status_code == 403
    done = client.post("/users/op/deactivate", headers=admin)
    assert done.status_code == 200 and done.json()["active"] is False, done.text
    refused = client.get("/recipes", headers=h["op"])  # at once, not after the token cache's seconds
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert _login(client, "op", api.PASSWORD).status_code == 401
    assert client.post("/users/admin/deactivate", headers=admin).status_code == 409  # not oneself
    assert client.post("/users/nobody/deactivate", headers=admin).status_code == 404

    assert client.post("/users/op/activate", headers=admin).json()["active"] is True
    assert client.get("/recipes", headers=h["op"]).status_code == 401
    assert client.get("/recipes", headers=_bearer(_login(client, "op", api.PASSWORD))).status_code == 200
    actions = [(r["actor"], r["action"], r["subject"]) for r in _audit(client, admin)]
    assert ("admin", "user.deactivated", "user op") in actions
    assert ("admin", "user.activated", "user op") in actions


def test_an_admin_resets_a_password_with_the_policy_and_the_old_tokens_end(client, h, api):
    admin = h["admin"]
    short = client.post("/users/op/password", json={"password": "tiny-pw"}, headers=admin)
    assert short.status_code == 422 and "12 characters" in short.text and "tiny-pw" not in short.text
    assert client.post("/users/op/password", json={"password": NEW_PASSWORD}, headers=h["eng_a"]).status_code == 403
    for _ in range(MAX_FAILURES):
        _login(client, "op", "wrong-wrong-wrong")  # locked too: a reset unlocks
    reset = client.post("/users/op/password", json={"password": NEW_PASSWORD}, headers=admin)
    assert reset.status_code == 200 and reset.json()["locked_until"] is None, reset.text
    assert NEW_PASSWORD not in reset.text
    assert client.get("/recipes", headers=h["op"]).status_code == 401
    assert _login(client, "op", api.PASSWORD).status_code == 401
    assert _login(client, "op", NEW_PASSWORD).status_code == 200
    entry = [r for r in _audit(client, admin) if r["action"] == "user.password_reset"][-1]
    assert entry["subject"] == "user op" and entry["details"] == {"tokens_revoked": 1, "was_locked": True}
    assert NEW_PASSWORD not in str(_audit(client, admin))


def test_new_users_get_the_same_password_policy_as_the_cli(client, h):
    short = client.post("/users", json={"username": "newbie", "password": "eleven-char", "role": "viewer"},
                        headers=h["admin"])
    assert short.status_code == 422 and "12 characters" in short.text and "eleven-char" not in short.text
    assert client.post("/users", json={"username": "newbie", "password": "twelve-chars", "role": "viewer"},
                       headers=h["admin"]).status_code == 201


def test_an_admin_revokes_every_token_of_a_user(client, h, api):
    second = _bearer(_login(client, "op", api.PASSWORD))
    assert client.post("/users/op/revoke-tokens", headers=h["op"]).status_code == 403
    revoked = client.post("/users/op/revoke-tokens", headers=h["admin"])
    assert revoked.status_code == 200 and revoked.json() == {"username": "op", "tokens_revoked": 2}, revoked.text
    for headers in (h["op"], second):
        refused = client.get("/recipes", headers=headers)
        assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.get("/recipes", headers=h["view"]).status_code == 200  # other users keep theirs
    assert client.get("/recipes", headers=_bearer(_login(client, "op", api.PASSWORD))).status_code == 200
    entry = [r for r in _audit(client, h["admin"]) if r["action"] == "user.tokens_revoked"][-1]
    assert (entry["actor"], entry["subject"], entry["details"]) == ("admin", "user op", {"tokens_revoked": 2})


def test_a_token_unused_for_the_idle_timeout_stops_working(client, h, clock):
    op = h["op"]
    clock.advance(IDLE_S - 60)
    assert client.get("/recipes", headers=op).status_code == 200  # a use: the idle time starts again
    clock.advance(IDLE_S - 60)
    assert client.get("/recipes", headers=op).status_code == 200
    clock.advance(IDLE_S + 1)
    idle = client.get("/recipes", headers=op)
    assert idle.status_code == 401 and "idle" in idle.json()["detail"], idle.text
    assert client.get("/recipes", headers=h["view"]).status_code == 401  # unused all along


# ------------------------------------------------------------ event stream
@pytest.fixture
def served(tmp_path: Path, clock: FakeClock) -> Iterator[str]:
    """The API on a real HTTP server (the test client buffers whole responses: an open
    stream needs a socket); its base URL."""
    config = uvicorn.Config(create_app(_settings(tmp_path), clock=clock), host="127.0.0.1", port=0,
                            log_level="warning", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not server.started:
            assert thread.is_alive() and datetime.now(UTC) < deadline, "the server did not start"
            thread.join(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def _stream_until_end(base_url: str, headers: dict[str, str], on_first_event: Callable[[], None]) -> list[str]:
    """Open /stream, call ``on_first_event`` once an event arrived, return every line until the
    server closes the stream (bounded by max_events and the read timeout)."""
    lines: list[str] = []
    with httpx.Client(base_url=base_url, timeout=20.0) as http, \
            http.stream("GET", "/stream?interval_s=0.05&max_events=2000", headers=headers) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("event:") and sum(x.startswith("event:") for x in lines) == 1:
                on_first_event()
    return lines


@pytest.mark.parametrize("action", ["deactivate", "revoke-tokens"])
def test_an_open_event_stream_ends_when_its_token_is_revoked(served, tmp_path, api, action):
    with httpx.Client(base_url=served, timeout=30.0) as http:
        h = api.create_users(http, f"sqlite:///{tmp_path / 'var' / 'poreline.db'}")

        def revoke() -> None:
            assert http.post(f"/users/op/{action}", headers=h["admin"]).status_code == 200

        lines = _stream_until_end(served, h["op"], revoke)
        assert "event: end" in lines, lines[-5:]
        end = lines.index("event: end")
        assert "revoked" in lines[end + 1] and lines[end + 1].startswith("data:")
        assert len([x for x in lines if x.startswith("event:")]) < 2000  # ended early, not by max_events
        assert http.get("/recipes", headers=h["op"]).status_code == 401
        assert http.get("/recipes", headers=h["view"]).status_code == 200


# -------------------------------------------------------------- serve, docs
def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "poreline.test")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "server.crt", tmp_path / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.3.2.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.10.5", False), ("line-2.plant", False),
])
def test_a_non_loopback_bind_needs_tls_or_insecure_http(tmp_path, host, loopback):
    assert is_loopback(host) is loopback
    refusal = bind_refusal(host, None, None, insecure_http=False)
    if loopback:
        assert refusal is None
    else:
        assert refusal is not None and "\n" not in refusal
        assert "--tls-cert" in refusal and "--tls-key" in refusal and "--insecure-http" in refusal
    assert bind_refusal(host, None, None, insecure_http=True) is None
    cert, key = _self_signed(tmp_path)
    assert bind_refusal(host, cert, key, insecure_http=False) is None


def test_tls_files_are_checked_before_serving(tmp_path):
    cert, key = _self_signed(tmp_path)
    assert "both" in (bind_refusal("0.0.0.0", cert, None, insecure_http=False) or "")
    assert "no file" in (bind_refusal("0.0.0.0", cert, tmp_path / "absent.key", insecure_http=False) or "")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    refusal = bind_refusal("0.0.0.0", junk, key, insecure_http=False)
    assert refusal is not None and "cannot load" in refusal and "\n" not in refusal


def test_serve_refuses_0_0_0_0_without_tls_in_one_line_and_accepts_insecure_http(tmp_path, api, monkeypatch):
    database = f"sqlite:///{tmp_path / 'db.sqlite'}"
    refused = api.cli("serve", "--host", "0.0.0.0", "--database", database)
    assert refused.exit_code == 2, refused.output
    lines = refused.output.strip().splitlines()
    assert len(lines) == 1 and "--tls-cert" in lines[0] and "Traceback" not in refused.output
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything started

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: started.append(kwargs))
    accepted = api.cli("serve", "--host", "0.0.0.0", "--insecure-http", "--database", database)
    assert accepted.exit_code == 0, accepted.output
    assert started and started[0]["host"] == "0.0.0.0" and started[0]["ssl_certfile"] is None
    assert "http://0.0.0.0" in accepted.output

    cert, key = _self_signed(tmp_path)
    tls = api.cli("serve", "--host", "0.0.0.0", "--tls-cert", str(cert), "--tls-key", str(key), "--database", database)
    assert tls.exit_code == 0, tls.output
    assert started[1]["ssl_certfile"] == str(cert) and started[1]["ssl_keyfile"] == str(key)
    assert "https://0.0.0.0" in tls.output


def test_docs_load_swagger_ui_from_the_server_not_a_cdn(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assert "http://" not in html.text and "https://" not in html.text and "//cdn" not in html.text
    html = client.get("/docs").text
    assets = [part.split('"')[1] for part in html.split("src=")[1:]] + \
        [part.split('"')[1] for part in html.split("href=")[1:]]
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/"), asset
        response = client.get(asset)
        assert response.status_code == 200 and len(response.content) > 0, asset


async def test_at_most_the_configured_number_of_password_hashes_run_at_once(monkeypatch):
    gate = threading.Event()
    lock = threading.Lock()
    running = [0, 0]  # now, most at once

    def slow_check(password_hash: str | None, password: str) -> users.HashCheck:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        gate.wait(10)
        with lock:
            running[0] -= 1
        return users.HashCheck(False)

    monkeypatch.setattr(users, "check_hash", slow_check)
    svc: Any = SimpleNamespace(hash_slots=asyncio.Semaphore(2))  # what hash_check uses of the services
    checks = [asyncio.create_task(passwords.hash_check(svc, None, "guess-guess-guess")) for _ in range(6)]
    for _ in range(500):  # until two hashes run (bounded)
        if running[0] == 2:
            break
        await asyncio.sleep(0.01)
    for _ in range(5):  # give the other four every chance to start
        await asyncio.sleep(0.01)
    assert running == [2, 2]
    gate.set()
    assert [c.matches for c in await asyncio.gather(*checks)] == [False] * 6
    assert running == [0, 2]
