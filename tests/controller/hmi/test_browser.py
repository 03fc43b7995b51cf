"""An operator's day through the pages alone, in a real browser (Debian's chromium driven by
Playwright; never a browser Playwright downloads) against the app on a real uvicorn server on
127.0.0.1, three people in their own browser sessions:

- engineer A logs in, uploads a recipe as pasted text and releases it for testing, signing in
  the dialog; engineer B, in another browser, signs its release for production;
- the operator starts it, watches the schematic's values change live (Server-Sent Events, no
  reload), holds with a reason and sees that reason on the overview;
- engineer A injects a heater fault on the simulator page; the operator sees its alarm arrive in
  the banner (an ARIA live region); the engineer clears the fault, the operator acknowledges the
  alarm and unholds (a confirmation, a reason, the outcome shown);
- the operator watches a trend extend while the run executes, lets the run complete at the
  simulator's speed, opens the run page and downloads the batch report, parsed back here.

No request leaves for another host than the server. Screenshots of each page are kept in the
test's tmp_path (pytest keeps the last runs' under its basetemp)."""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from api_support import PASSWORD, cli_user, short_recipe
from hmi_support import database_url

from controller.api import Settings, create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ALARM = "QUENCH_HEATER_FAULT"
RECIPE_ID = "psf-microfilter-ex8"  # the header.id of short_recipe()

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"chromium is not installed ({CHROMIUM}); apt-get install -y chromium "
                                       "(.ci/run installs it)")
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e .[test])")
pypdf = pytest.importorskip("pypdf", reason="the pypdf package is not installed (pip install -e .[test])")


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


class Person:
    """One person's browser session (own cookies), its requests' hosts, the confirmations it
    was asked, and its screenshots in ``shots``."""

    def __init__(self, browser: Any, base_url: str, shots: Path, name: str) -> None:
        self.name, self.base_url, self.shots = name, base_url, shots
        self.context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        self.page = self.context.new_page()
        self.hosts: set[str] = set()
        self.asked: list[str] = []
        self.page.on("request", lambda request: self.hosts.add(urlsplit(request.url).netloc))
        self.page.on("dialog", lambda dialog: (self.asked.append(dialog.message), dialog.accept()))

    def log_in(self) -> None:
        page = self.page
        page.goto(self.base_url + "/")
        assert page.url.endswith("/hmi/login")
        page.get_by_label("User name").fill(self.name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_selector("[data-state]")

    def go(self, link: str) -> None:
        """Follow a link of the page navigation and wait for its page."""
        self.page.get_by_role("navigation", name="Pages").get_by_role("link", name=link, exact=True).click()
        self.page.locator('nav a[aria-current="page"]', has_text=link).wait_for()

    def shot(self, what: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{self.name}-{what}.png"), full_page=True)

    def sign(self, step: str, reason: str) -> None:
        """Open the release dialog of the version page and sign it with this person's name."""
        page = self.page
        page.locator("details.sign-dialog summary").click()
        page.get_by_label("Your user name").fill(self.name)
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_label("Reason", exact=True).fill(reason)
        self.shot(f"sign-for-{step}")
        page.get_by_role("button", name=f"Sign and release for {step}").click()

    def command(self, name: str, reason: str) -> None:
        """A run command from the run control page, with its reason; waits for its outcome."""
        page = self.page
        page.get_by_label("Reason (kept in the batch record)").fill(reason)
        page.locator(f'[data-command="{name}"]').click()
        page.locator(".message, .refusal").filter(has_text=name).wait_for(timeout=15_000)

    def state_is(self, *states: str, timeout_s: float = 30.0) -> None:
        selector = ", ".join(f'[data-state="{s}"]' for s in states)
        self.page.wait_for_selector(selector, timeout=timeout_s * 1000)


def test_an_operator_day_through_the_pages_alone(served: str, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            run_an_operator_day(browser, served, tmp_path)
        finally:
            browser.close()


def run_an_operator_day(browser: Any, base_url: str, shots: Path) -> None:
    eng_a, eng_b, op = (Person(browser, base_url, shots, name) for name in ("eng_a", "eng_b", "op"))

    # engineer A uploads the recipe as text and releases it for testing, signing in the dialog
    eng_a.log_in()
    eng_a.go("Recipes")
    eng_a.page.get_by_label("Or the recipe text").fill(short_recipe(production_min=90))
    eng_a.page.get_by_label("Comment (why this version)").fill("first casting of the day")
    eng_a.shot("recipes")
    eng_a.page.get_by_role("button", name="Upload as draft").click()
    eng_a.page.wait_for_selector('[data-recipe-state="draft"]')
    version_url = eng_a.page.url
    assert version_url.endswith(f"/hmi/recipes/{RECIPE_ID}/versions/1"), version_url
    eng_a.shot("recipe-draft")
    eng_a.sign("testing", "trial on the simulator")
    eng_a.page.wait_for_selector('[data-recipe-state="released_for_testing"]')

    # engineer B, in another browser, approves it for production
    eng_b.log_in()
    eng_b.page.goto(version_url)
    eng_b.sign("production", "reviewed the formula")
    eng_b.page.wait_for_selector('[data-recipe-state="released_for_production"]')
    eng_b.shot("recipe-released")

    # the operator starts it from run control and watches the schematic change live
    op.log_in()
    page = op.page
    op.state_is("Idle")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    belt = page.locator('[data-tag="support_belt.line_speed_m_min"] td.value')
    idle_speed = belt.inner_text()
    op.go("Run control")
    page.get_by_label("Recipe version").select_option(f"{RECIPE_ID}:1")
    page.get_by_label("Reason", exact=True).fill("first batch")
    page.get_by_role("button", name="Start").click()
    page.locator(".message").filter(has_text="started").wait_for(timeout=15_000)
    assert op.asked[-1] == "Start this recipe version?"
    op.go("Overview")
    page.evaluate("window.loadedOnce = true")
    op.state_is("Execute")
    page.wait_for_function("(idle) => document.querySelector('[data-tag=\"support_belt.line_speed_m_min\"] "
                           "td.value').innerText !== idle", arg=idle_speed, timeout=30_000)
    assert page.evaluate("window.loadedOnce") is True  # live, without reloading
    op.shot("overview-running")

    # a hold with a reason, shown on the overview
    op.go("Run control")
    op.command("hold", "film edge looks uneven")
    assert op.asked[-1].startswith("Hold the run?")
    op.go("Overview")
    op.state_is("Held")
    assert page.locator(".hold-reason").inner_text() == "held by user op: film edge looks uneven"
    op.shot("overview-held")

    # engineer A fails the quench bath's heater on the simulator page; the banner shows it live
    eng_a.go("Simulator")
    form = eng_a.page.locator('[data-fault="heater"]')
    form.get_by_label("Device").select_option("quench_bath")
    form.get_by_role("button", name="Inject heater").click()
    eng_a.page.locator(".message").filter(has_text="fault heater injected on quench_bath").wait_for(timeout=15_000)
    eng_a.shot("simulator")
    eng_a.go("Loops")
    eng_a.page.locator('[data-loop="quench_bath_temperature"]').wait_for()
    eng_a.shot("loops")
    eng_a.go("Simulator")
    banner = page.locator("#alarm-banner")
    banner.locator(f'[data-alarm="{ALARM}"]').wait_for(timeout=30_000)
    assert "UNACK" in banner.locator(f'[data-alarm="{ALARM}"]').inner_text()
    assert banner.get_attribute("aria-live") == "polite"
    assert page.evaluate("window.loadedOnce") is True
    op.shot("overview-alarm")

    # the engineer repairs the heater; the alarm returns unacknowledged; the operator acknowledges
    # it and the interlock lets go; the operator unholds
    eng_a.page.get_by_role("button", name="Clear every fault").click()
    eng_a.page.locator(".message").filter(has_text="faults cleared").wait_for(timeout=15_000)
    banner.locator(f'[data-alarm="{ALARM}"].rtn_unacknowledged').wait_for(timeout=30_000)
    op.go("Alarms")
    page.get_by_role("button", name=f"Acknowledge {ALARM}").click()
    page.get_by_role("status").filter(has_text=f"{ALARM} acknowledged").wait_for(timeout=15_000)
    op.shot("alarms")
    banner.locator(f'[data-alarm="{ALARM}"]').wait_for(state="detached", timeout=30_000)  # normal again
    op.go("Run control")
    op.command("unhold", "heater repaired, edge checked")
    assert op.asked[-1].startswith("Unhold the run?")
    op.state_is("Execute")
    op.shot("run-control")

    # a trend of the running run extends by itself
    op.go("Trends")
    figure = page.locator("figure.trend").first
    figure.locator(".uplot canvas").wait_for(timeout=15_000)
    assert figure.get_attribute("data-live") == "true"
    note = figure.locator(".trend-note")
    first_note = note.inner_text()
    assert "intervals from" in first_note
    page.wait_for_function("(first) => document.querySelector('figure.trend .trend-note').innerText !== first",
                           arg=first_note, timeout=30_000)
    op.shot("trends")

    # the run completes; its page shows the steps; the batch report downloads
    op.go("Overview")
    op.state_is("Complete", timeout_s=90)
    op.go("Runs")
    op.shot("runs")
    page.get_by_role("link", name="run 1", exact=True).click()
    page.wait_for_url("**/hmi/runs/1")
    assert page.locator("tr[data-step]").evaluate_all("rows => rows.map(r => r.dataset.step)") == [
        "warm_up", "production", "shutdown"]
    op.shot("run-record")
    with page.expect_download() as download:
        page.get_by_role("link", name="Batch report (PDF)").click()
    pdf = download.value.path().read_bytes()
    (shots / "batch-report.pdf").write_bytes(pdf)
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for shown in (RECIPE_ID, "Complete", "eng_a", "eng_b", "warm_up", "production", "shutdown", ALARM,
                  "film edge looks uneven", "heater repaired, edge checked"):
        assert shown in text, f"the batch report does not show {shown!r}"

    for person in (eng_a, eng_b, op):
        assert person.hosts == {urlsplit(base_url).netloc}, person.name
        person.context.close()


PAGES = ("/", "/hmi/run", "/hmi/alarms", "/hmi/trends", "/hmi/recipes", "/hmi/runs", "/hmi/loops", "/hmi/simulator")
# every visible control without an accessible name (a label, aria-label(ledby), a button's text, a title)
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')]
    .filter(el => el.offsetParent !== null && el.getAttribute('aria-hidden') !== 'true')
    .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label')
                    || el.getAttribute('aria-labelledby') || el.innerText.trim() || el.title))
    .map(el => el.outerHTML.slice(0, 120))"""


def test_an_engineer_works_every_page_by_keyboard_on_a_10_inch_tablet(served: str, tmp_path: Path) -> None:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 800, "height": 1280}, has_touch=True)  # portrait
            page = context.new_page()
            page.goto(served + "/")
            for _ in range(20):  # Tab to the user name field, type, Tab, type, Enter: no mouse
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.name") == "username":
                    break
            page.keyboard.type("eng_a")
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_selector("[data-state]")

            for path in PAGES:
                page.goto(served + path)
                page.get_by_role("heading", level=1).wait_for()
                name = path.rsplit("/", 1)[-1] or "overview"
                page.screenshot(path=str(tmp_path / f"tablet-{name}.png"), full_page=True)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 1, f"{path} is {overflow} px wider than the tablet's screen"
                assert page.evaluate(UNLABELLED) == [], f"{path} has controls without a name"

            # the page navigation by keyboard: focus moves to a link, Enter follows it
            page.goto(served + "/")
            page.wait_for_selector("[data-state]")
            for _ in range(30):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.textContent.trim()") == "Alarms":
                    break
            page.keyboard.press("Enter")
            page.wait_for_url("**/hmi/alarms")
            context.close()
        finally:
            browser.close()
