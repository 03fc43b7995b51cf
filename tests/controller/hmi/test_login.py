"""Signing in to the HMI: the API's users, password rules, lockout and throttling; the session
is the API's token in an HttpOnly, SameSite=Strict cookie; every POST needs its CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from api_support import PASSWORD, cli_user
from fastapi.testclient import TestClient
from hmi_support import HmiSession, browser, database_url, submit_login


@pytest.fixture(scope="module")
def users(hmi_root: Path) -> None:
    """Only the users these tests sign in as (each password hash takes a while)."""
    for name, role in (("op", "operator"), ("view", "viewer")):
        cli_user(database_url(hmi_root), name, role)


def test_a_login_sets_an_httponly_samesite_strict_session_cookie(hmi_client: TestClient, users: None) -> None:
    client = browser(hmi_client)
    response = submit_login(client, "op")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("poreline_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags
    page = client.get("/")
    assert page.status_code == 200 and "op (operator)" in page.text


def test_pages_send_a_browser_without_a_session_to_the_login_form(hmi_client: TestClient) -> None:
    client = browser(hmi_client)
    for url in ("/", "/hmi/alarms", "/hmi/run"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/hmi/login", url
    assert client.get("/hmi/events").status_code == 401
    assert client.get("/", headers={"HX-Request": "true"}).headers["HX-Redirect"] == "/hmi/login"


def test_wrong_passwords_are_refused_on_the_form_and_lock_the_user(hmi_client: TestClient, hmi_root: Path,
                                                                   users: None) -> None:
    cli_user(database_url(hmi_root), "lock_me", "operator")
    client = browser(hmi_client)
    for _ in range(5):  # the API's lockout: 5 wrong passwords in a row
        response = submit_login(client, "lock_me", "wrong-password-123")
        assert response.status_code == 401 and "wrong user name or password" in response.text
        assert "poreline_session" not in response.cookies
    response = submit_login(client, "lock_me")  # the right password, too late
    assert response.status_code == 423 and "locked until" in response.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_post_without_its_csrf_token_is_refused(hmi_client: TestClient, as_user: Callable[[str], HmiSession]) -> None:
    client = browser(hmi_client)
    client.get("/hmi/login")  # the pre-session cookie is set, but the form's token is not sent
    response = client.post("/hmi/login", data={"username": "op", "password": PASSWORD})
    assert response.status_code == 403 and "CSRF" in response.text

    op = as_user("op")
    for csrf in ("", "0" * 64):
        response = op.client.post("/hmi/run/hold", data={"reason": "test", "csrf_token": csrf})
        assert response.status_code == 403 and "CSRF" in response.text
    response = op.client.post("/hmi/alarms/ANY/acknowledge")
    assert response.status_code == 403


def test_logging_out_revokes_the_session_token(hmi_client: TestClient, as_user: Callable[[str], HmiSession]) -> None:
    view = as_user("view")
    token = view.client.cookies["poreline_session"]
    response = view.post("/hmi/logout")
    assert response.status_code == 200 and "Log in" in response.text  # followed to the login form
    response = hmi_client.get("/runs/current", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
