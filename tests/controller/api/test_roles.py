"""Role enforcement: every mutating endpoint refuses anonymous callers (401) and each
role below the one it needs (403)."""

from __future__ import annotations

import pytest

ROLES = ("view", "op", "eng_a", "admin")
RANK = {"viewer": 0, "operator": 1, "engineer": 2, "admin": 3}
ROLE_OF = {"view": "viewer", "op": "operator", "eng_a": "engineer", "admin": "admin"}
SIGN = {"username": "eng_a", "password": "correct-horse-battery", "reason": "because"}  # r1 does not exist: 404

# (method, path, json body, least role allowed)
MUTATING = [
    ("POST", "/users", {"username": "newbie", "password": "long-enough-pw", "role": "viewer"}, "admin"),
    ("POST", "/recipes", {"yaml_text": "header: {}"}, "engineer"),
    ("PUT", "/recipes/r1/versions/1", {"yaml_text": "header: {}"}, "engineer"),
    ("POST", "/recipes/r1/versions/1/release-for-testing", SIGN, "engineer"),
    ("POST", "/recipes/r1/versions/1/release-for-production", SIGN, "engineer"),
    ("POST", "/recipes/r1/versions/1/obsolete", SIGN, "engineer"),
    ("POST", "/runs", {"recipe_id": "r1", "version": 1}, "operator"),
    ("POST", "/runs/current/hold", None, "operator"),
    ("POST", "/runs/current/abort", None, "operator"),
    ("POST", "/alarms/QUENCH_LOW_LEVEL/acknowledge", None, "operator"),
    ("POST", "/alarms/QUENCH_LOW_LEVEL/shelve", {"duration_s": 60, "reason": "maintenance"}, "operator"),
    ("POST", "/sim/faults", {"kind": "belt", "device": "support_belt"}, "engineer"),
    ("DELETE", "/sim/faults", None, "engineer"),
    ("POST", "/loops/quench_bath_temperature", {"mode": "off", "reason": "roles"}, "engineer"),
    ("POST", "/auth/logout", None, "viewer"),
]
READS = ["/recipes", "/runs", "/runs/current", "/line", "/line/devices", "/loops", "/alarms/active", "/alarms/history",
         "/audit", "/audit/verify", "/users", "/sim/faults", "/runs/1/record", "/runs/1/summary"]


@pytest.fixture
def headers(sqlite_client, sqlite_url, api):
    return api.create_users(sqlite_client, sqlite_url)


@pytest.mark.parametrize(("method", "path", "body", "least"), MUTATING, ids=[f"{m} {p}" for m, p, _, _ in MUTATING])
def test_mutating_endpoint_refuses_anonymous_and_lower_roles(sqlite_client, headers, method, path, body, least):
    anonymous = sqlite_client.request(method, path, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers.get("www-authenticate") == "Bearer"
    bad_token = sqlite_client.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401, bad_token.text
    for name in ROLES:
        response = sqlite_client.request(method, path, json=body, headers=headers[name])
        if RANK[ROLE_OF[name]] < RANK[least]:
            assert response.status_code == 403, (name, response.text)
            assert f"needs role {least}" in response.json()["detail"]
        elif path != "/auth/logout":
            assert response.status_code not in (401, 403, 500), (name, response.status_code, response.text)


@pytest.mark.parametrize("path", READS)
def test_reads_need_a_token(shared_sqlite_client, path):
    assert shared_sqlite_client.get(path).status_code == 401


def test_users_are_managed_by_admins_only(sqlite_client, headers):
    assert sqlite_client.get("/users", headers=headers["eng_a"]).status_code == 403
    names = {u["username"] for u in sqlite_client.get("/users", headers=headers["admin"]).json()}
    assert names >= {"admin", "eng_a", "eng_b", "op", "view"}


def test_logout_revokes_the_token(sqlite_client, headers):
    assert sqlite_client.get("/line", headers=headers["view"]).status_code == 200
    assert sqlite_client.post("/auth/logout", headers=headers["view"]).status_code == 204
    assert sqlite_client.get("/line", headers=headers["view"]).status_code == 401
