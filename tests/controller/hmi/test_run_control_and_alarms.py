"""Run control and alarms on the HMI, on one line (one app for the module).

Run control: a released version is started from the page; hold, unhold and the other PackML
commands need a confirmation and a reason, only those the state accepts are enabled, and a
refusal is shown with its reason. Viewers watch and are refused (403).

Alarms: the banner on every page (highest priority first, unacknowledged marked, counts) and
the alarm page: acknowledge, shelve under the runtime's shelving rules (its refusals shown with
the reason), history with who, when and why."""

from __future__ import annotations

import re
from collections.abc import Callable

from api_support import PASSWORD, release, run_state, short_recipe, wait_for
from fastapi.testclient import TestClient
from hmi_support import HmiSession


def buttons(html: str) -> dict[str, bool]:
    """Each command button of the page: enabled?"""
    found = re.findall(r'data-command="(\w+)"\s*(disabled)?', html)
    return {name: not disabled for name, disabled in found}


def test_a_viewer_sees_every_command_disabled_and_is_refused(as_user: Callable[[str], HmiSession]) -> None:
    view = as_user("view")
    page = view.get("/hmi/run").text
    assert buttons(page) and not any(buttons(page).values())
    assert "Start a released recipe version" not in page
    for url in ("/hmi/run/hold", "/hmi/run/stop"):
        response = view.post(url, reason="curious")
        assert response.status_code == 403 and "role viewer may not do this" in response.text, url
    assert view.post("/hmi/alarms/ANY/acknowledge").status_code == 403


def test_an_operator_starts_a_released_version_then_holds_and_unholds_with_reasons(
        hmi_client: TestClient, users: dict[str, dict[str, str]], as_user: Callable[[str], HmiSession]) -> None:
    recipe_id, version = release(hmi_client, users, short_recipe(production_min=60), PASSWORD)
    op = as_user("op")
    page = op.get("/hmi/run").text
    assert f'value="{recipe_id}:{version}"' in page and "released for production" in page
    response = op.post("/hmi/run/start", recipe=f"{recipe_id}:{version}", reason="first batch")
    assert response.status_code == 200 and "started" in response.text, response.text
    wait_for(lambda: run_state(hmi_client, users["op"])["state"] == "Execute", "Execute")

    # only what the state accepts is enabled; a command it refuses is shown with the reason
    page = op.get("/hmi/run").text
    accepted = set(run_state(hmi_client, users["op"])["accepted_commands"])
    assert {name for name, enabled in buttons(page).items() if enabled} == accepted and "hold" in accepted
    response = op.post("/hmi/run/unhold", reason="nothing to unhold")
    assert response.status_code == 409 and "Refused (409)" in response.text and "not accepted in state Execute" in response.text
    response = op.post("/hmi/run/hold", reason="  ")
    assert response.status_code == 422 and "give a reason" in response.text
    assert 'hx-confirm="Hold the run?' in page

    response = op.post("/hmi/run/hold", reason="check the film edge")
    assert response.status_code == 200, response.text
    wait_for(lambda: run_state(hmi_client, users["op"])["state"] == "Held", "Held")
    assert "held by user op: check the film edge" in op.get("/").text
    assert run_state(hmi_client, users["view"])["hold_reason"] == "held by user op: check the film edge"  # the API's too
    held = buttons(op.get("/hmi/run").text)
    assert held["unhold"] and not held["hold"]

    response = op.post("/hmi/run/unhold", reason="edge is fine")
    assert response.status_code == 200, response.text
    wait_for(lambda: run_state(hmi_client, users["op"])["state"] == "Execute", "Execute again")
    assert "held by user" not in op.get("/").text
    run_id = run_state(hmi_client, users["op"])["run_id"]

    def recorded() -> list[tuple[str, str, str]] | None:  # the historian writes off the scan path
        record = hmi_client.get(f"/runs/{run_id}/record", headers=users["op"]).json()
        commands = [(c["command"], c["user"], c["reason"]) for c in record["commands"]]
        return commands if ("unhold", "op", "edge is fine") in commands else None

    assert ("hold", "op", "check the film edge") in wait_for(recorded, "the unhold in the batch record")


# ------------------------------------------------------------------------------ alarms
ALARM = "QUENCH_HEATER_FAULT"  # an interlock: operators may not shelve it


def a_running_run(client: TestClient, users: dict[str, dict[str, str]]) -> None:
    """The run the test before started, or a new one when this test runs alone."""
    if run_state(client, users["op"])["state"] == "Idle":
        recipe_id, version = release(client, users, short_recipe(production_min=60), PASSWORD)
        started = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=users["op"])
        assert started.status_code == 202, started.text
    wait_for(lambda: run_state(client, users["op"])["state"] == "Execute", "Execute")


def page_showing(session: HmiSession, url: str, text: str) -> str:
    """The page at ``url`` once it shows ``text`` (bounded wait)."""
    def probe() -> str | None:
        page = session.get(url).text
        return page if text in page else None

    return wait_for(probe, f"{text!r} on {url}")


def test_an_injected_fault_shows_in_the_banner_and_is_acknowledged_on_the_alarm_page(
        hmi_client: TestClient, users: dict[str, dict[str, str]], as_user: Callable[[str], HmiSession]) -> None:
    a_running_run(hmi_client, users)
    injected = hmi_client.post("/sim/faults", json={"kind": "heater", "device": "quench_bath"}, headers=users["eng_a"])
    assert injected.status_code == 201, injected.text

    view, op = as_user("view"), as_user("op")
    for url in ("/", "/hmi/run", "/hmi/alarms"):  # the banner is on every page
        page = page_showing(view, url, f'data-alarm="{ALARM}"')
        banner = page[page.index('id="alarm-banner"'):page.index('id="main"')]
        shown = re.findall(r'data-alarm="(\w+)">\s*(<span class="unack-mark">UNACK</span>)?', banner)
        assert shown[0] == (ALARM, '<span class="unack-mark">UNACK</span>')  # priority 1 first, unacknowledged
        unacknowledged = re.search(r'data-count="unacknowledged">(\d+) unacknowledged', banner)
        assert unacknowledged is not None and int(unacknowledged.group(1)) >= 1
    assert "Acknowledge" not in view.get("/hmi/alarms").text  # a viewer has no buttons

    response = op.post(f"/hmi/alarms/{ALARM}/shelve", duration_min="60", reason="heater on order")
    assert response.status_code == 403, response.text
    assert "Refused (403)" in response.text and "interlock" in response.text

    response = op.post(f"/hmi/alarms/{ALARM}/acknowledge")
    assert response.status_code == 200 and f"{ALARM} acknowledged" in response.text, response.text
    history = page_showing(op, "/hmi/alarms", "by op")
    assert ALARM in history[history.index("<h2>History</h2>"):]
