"""One operator's view in a real browser (Debian's chromium, driven by Playwright; never a
browser Playwright downloads) against the app on a real uvicorn server on 127.0.0.1: log in
through the form, watch the overview change live over Server-Sent Events, see an injected
fault's alarm arrive in the banner without reloading, acknowledge it on the alarm page. No
request leaves for another host. Screenshots are kept in the test's tmp_path."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from api_support import PASSWORD, cli_user, release, short_recipe, wait_for
from hmi_support import database_url

from controller.api import Settings, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALARM = "QUENCH_HEATER_FAULT"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"chromium is not installed ({CHROMIUM}); apt-get install -y chromium "
                                       "(.ci/run installs it)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e .[test])")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app on a real HTTP server (the SSE stream needs a socket); its base URL."""
    settings = Settings(database_url=database_url(tmp_path), sim_speed=300.0, scan_period_s=1.0, sample_period_s=5.0,
                        state_dir=tmp_path / "runtime")
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            thread.join(0.05)
        for name, role in (("op", "operator"), ("eng_a", "engineer"), ("eng_b", "engineer")):
            cli_user(database_url(tmp_path), name, role)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(30)


def start_run_with_a_failing_heater(base_url: str) -> None:
    """Through the API (another client): release and start a run that heats the quench bath, then
    fail the bath's heater in the simulator."""
    with httpx.Client(base_url=base_url, timeout=20.0) as api:
        h = {}
        for name in ("op", "eng_a", "eng_b"):
            token = api.post("/auth/login", json={"username": name, "password": PASSWORD}).json()["access_token"]
            h[name] = {"Authorization": f"Bearer {token}"}
        recipe_id, version = release(api, h, short_recipe(production_min=60), PASSWORD)
        started = api.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
        assert started.status_code == 202, started.text
        wait_for(lambda: api.get("/runs/current", headers=h["op"]).json()["state"] == "Execute", "Execute")
        injected = api.post("/sim/faults", json={"kind": "heater", "device": "quench_bath"}, headers=h["eng_a"])
        assert injected.status_code == 201, injected.text


def test_an_operator_logs_in_and_watches_the_line_and_its_alarms_live(served: str, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            hosts: set[str] = set()
            page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

            page.goto(served + "/")
            assert page.url.endswith("/hmi/login")
            page.get_by_label("User name").fill("op")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_selector('[data-state="Idle"]')
            assert page.locator('[data-device]').count() > 0

            # live over SSE: the line clock in the status panel moves without a page load
            page.evaluate("window.loadedOnce = true")
            clock = page.locator(".status div", has_text="Line time").locator("dd")
            first = clock.inner_text()
            page.wait_for_function("(first) => document.querySelector('.status div:last-child dd').innerText !== first",
                                   arg=first, timeout=10_000)
            assert page.evaluate("window.loadedOnce") is True

            start_run_with_a_failing_heater(served)
            page.wait_for_selector('[data-state]:not([data-state="Idle"])', timeout=15_000)  # the run, live
            banner = page.locator("#alarm-banner")
            banner.locator(f'[data-alarm="{ALARM}"]').wait_for(timeout=15_000)
            assert "UNACK" in banner.locator(f'[data-alarm="{ALARM}"]').inner_text()
            assert banner.get_attribute("aria-live") == "polite"
            assert page.evaluate("window.loadedOnce") is True  # all of it without reloading
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            # the alarm page's form goes through htmx (boosted, with the CSRF header)
            page.get_by_role("link", name="Alarms", exact=True).first.click()
            page.get_by_role("button", name=f"Acknowledge {ALARM}").click()
            page.get_by_role("status").filter(has_text=f"{ALARM} acknowledged").wait_for(timeout=10_000)
            page.screenshot(path=str(tmp_path / "alarms.png"), full_page=True)

            # a command asks for confirmation, goes with its reason, and its outcome is shown
            page.get_by_role("link", name="Run control").click()
            page.get_by_label("Reason (kept in the batch record)").fill("heater checked")
            asked: list[str] = []
            page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
            page.locator('[data-command="unhold"]').click()
            page.locator(".message, .refusal").filter(has_text="unhold").wait_for(timeout=10_000)
            assert asked and asked[0].startswith("Unhold the run?")
            page.screenshot(path=str(tmp_path / "run.png"), full_page=True)

            # the trends page draws the run's key tags with uPlot (our trends.js), from the history
            page.get_by_role("link", name="Trends").click()
            page.locator("figure.trend .uplot canvas").first.wait_for(timeout=10_000)
            assert page.locator("figure.trend").first.get_attribute("data-live") == "true"
            assert "intervals from" in page.locator(".trend-note").first.inner_text()
            page.screenshot(path=str(tmp_path / "trends.png"), full_page=True)
            for name in ("Recipes", "Runs"):
                page.get_by_role("link", name=name, exact=True).click()
                page.get_by_role("heading", name=name, exact=True).wait_for()
                page.screenshot(path=str(tmp_path / f"{name.lower()}.png"), full_page=True)
        finally:
            browser.close()
    assert hosts == {urlsplit(served).netloc}
