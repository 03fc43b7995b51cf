"""Helpers of the HMI tests: a browser-like session on the app (its own cookies, the page's
CSRF token), the way a browser signs in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from api_support import PASSWORD
from fastapi.testclient import TestClient

from controller.api import Settings, create_app

SPEED = 300.0  # simulated seconds per wall second


def database_url(root: Path) -> str:
    return f"sqlite:///{root / 'var' / 'poreline.db'}"


def start_client(root: Path, line_kind: str | None = None) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url(root), sim_speed=SPEED, scan_period_s=1.0, sample_period_s=5.0,
                        state_dir=root / "runtime", line_kind=line_kind)
    with TestClient(create_app(settings)) as client:
        yield client


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_of(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


def browser(shared: TestClient) -> TestClient:
    """Another client of ``shared``'s running app with its own cookie jar. It runs its requests
    on ``shared``'s event loop, where the app's connection to its line runtime lives (a client
    outside ``with`` would start a loop per request)."""
    client = TestClient(shared.app)
    client.portal = shared.portal
    return client


def submit_login(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    """Open the login form and submit it (with the form's CSRF token)."""
    form = client.get("/hmi/login")
    assert form.status_code == 200, form.text
    return client.post("/hmi/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_of(form.text)}, follow_redirects=False)


@dataclass
class HmiSession:
    client: TestClient
    csrf: str

    @classmethod
    def signed_in(cls, shared: TestClient, username: str) -> HmiSession:
        """A new client on the same running app (own cookie jar) signed in as ``username``."""
        client = browser(shared)
        response = submit_login(client, username)
        assert response.status_code == 303, response.text
        page = client.get("/")
        assert page.status_code == 200, page.text
        return cls(client, csrf_of(page.text))

    def get(self, url: str) -> httpx.Response:
        return self.client.get(url)

    def post(self, url: str, **data: str) -> httpx.Response:
        return self.client.post(url, data={"csrf_token": self.csrf, **data})
