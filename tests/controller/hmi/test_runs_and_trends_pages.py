"""The runs pages and the trends page, on two runs of one line (one app for the module): one
that completed after 15 min of production, one aborted in its warm-up with a reason.

Runs: the history filters by recipe, final state, quality verdict and start date; a run's page
shows its steps (planned and actual durations), commands, alarms, verdict and the downloads.
Trends: tags offered device by device, a tag's series over a window of its run with its setpoint
tag's series and its limits, extended while a run executes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from api_support import PASSWORD, closed_record, release, run_state, short_recipe, wait_for
from fastapi.testclient import TestClient
from hmi_support import HmiSession

LINE_SPEED = "support_belt.line_speed_m_min"
LINE_SPEED_SETPOINT = "support_belt.line_speed_setpoint_m_min"


def leaves(client: TestClient, op: dict[str, str], states: set[str], what: str) -> None:
    wait_for(lambda: run_state(client, op)["state"] not in states, what)


def to_idle(client: TestClient, op: dict[str, str]) -> None:
    """Reset (or clear, then reset) the line after a run's end."""
    for _ in range(3):
        state = run_state(client, op)
        if state["state"] == "Idle":
            return
        command = "clear" if "clear" in state["accepted_commands"] else "reset"
        assert client.post(f"/runs/current/{command}", json={"reason": "next run"}, headers=op).status_code == 202
        leaves(client, op, {state["state"], "Resetting", "Clearing"}, command)
    assert run_state(client, op)["state"] == "Idle"


def start(client: TestClient, op: dict[str, str], recipe: tuple[str, int]) -> int:
    to_idle(client, op)
    started = client.post("/runs", json={"recipe_id": recipe[0], "version": recipe[1]}, headers=op)
    assert started.status_code == 202, started.text
    wait_for(lambda: run_state(client, op)["state"] == "Execute", "Execute")
    return int(run_state(client, op)["run_id"])


@pytest.fixture(scope="module")
def runs(hmi_client: TestClient, users: dict[str, dict[str, str]]) -> dict[str, int]:
    """{"complete": run id, "aborted": run id}."""
    op = users["op"]
    recipe = release(hmi_client, users, short_recipe(production_min=15), PASSWORD)
    complete = start(hmi_client, op, recipe)
    wait_for(lambda: run_state(hmi_client, op)["state"] == "Complete", "Complete", 60)
    closed_record(hmi_client, op, complete)
    aborted = start(hmi_client, op, recipe)
    assert hmi_client.post("/runs/current/abort", json={"reason": "wrong dope"}, headers=op).status_code == 202
    wait_for(lambda: run_state(hmi_client, op)["state"] == "Aborted", "Aborted")
    closed_record(hmi_client, op, aborted)
    return {"complete": complete, "aborted": aborted}


def listed(session: HmiSession, **filters: str) -> set[int]:
    response = session.client.get("/hmi/runs", params=filters)
    assert response.status_code == 200, response.text
    return {int(n) for n in re.findall(r'<tr data-run="(\d+)">', response.text)}


def test_the_runs_page_filters_by_recipe_state_verdict_and_date(
        hmi_client: TestClient, users: dict[str, dict[str, str]], runs: dict[str, int],
        signed_in: Callable[[str], HmiSession]) -> None:
    view = signed_in("view")
    both = {runs["complete"], runs["aborted"]}
    assert both <= listed(view)
    complete, aborted = listed(view, final_state="Complete"), listed(view, final_state="Aborted")
    assert runs["complete"] in complete and runs["aborted"] not in complete
    assert runs["aborted"] in aborted and runs["complete"] not in aborted
    assert both <= listed(view, recipe_id="psf-microfilter-ex8") and not listed(view, recipe_id="no-such-recipe")

    verdicts = {name: hmi_client.get(f"/runs/{run_id}", headers=users["view"]).json()["quality_verdict"]
                for name, run_id in runs.items()}
    assert verdicts["aborted"] == "no production" and verdicts["complete"] != "no production", verdicts
    assert runs["complete"] in listed(view, verdict=verdicts["complete"])
    assert runs["aborted"] not in listed(view, verdict=verdicts["complete"])

    today = datetime.now(UTC).date()
    assert both <= listed(view, started_from=today.isoformat(), started_until=today.isoformat())
    assert not listed(view, started_from=(today + timedelta(days=1)).isoformat())
    assert not listed(view, started_until=(today - timedelta(days=1)).isoformat())
    wrong = view.client.get("/hmi/runs", params={"started_from": "28.11.2026"})
    assert wrong.status_code == 422 and "started_from: give a date as YYYY-MM-DD" in wrong.text


def test_a_run_page_shows_steps_planned_and_actual_commands_verdict_and_downloads(
        runs: dict[str, int], signed_in: Callable[[str], HmiSession]) -> None:
    view = signed_in("view")
    page = view.get(f"/hmi/runs/{runs['complete']}").text
    steps = re.findall(r'<tr data-step="(\w+)"><td>\d+</td><td>[^<]*</td>\s*<td>([^<]*)</td><td>([^<]*)</td><td>[^<]*</td>\s*'
                       r'<td>([^<]*)</td><td>([^<]*)</td>', page)
    assert [(name, planned) for name, _, planned, _, _ in steps] == [
        ("warm_up", "0:02:00"), ("production", "0:15:00"), ("shutdown", "0:00:10")]
    # a simulated run: its steps start at run times (simulated seconds), not at wall times it never had
    assert "Started (run time)" in page and re.fullmatch(r"0:00:\d\d", steps[0][1])  # after Starting
    assert steps[1][1] >= "0:02:00" and steps[2][1] >= "0:17:00"  # after 2 min of warm-up and 15 of production
    for _, _, planned, actual, _ in steps:
        assert actual >= planned, steps  # h:mm:ss of the same width: compared as text
    assert 'data-final-state="Complete"' in page and 'class="verdict" data-verdict="' in page
    assert f'href="/hmi/runs/{runs["complete"]}/report.pdf"' in page
    assert f'href="/hmi/runs/{runs["complete"]}/samples.csv"' in page
    assert 'data-parameter="line_speed"' in page

    aborted = view.get(f"/hmi/runs/{runs['aborted']}").text
    assert re.search(r'<tr data-logged-command="abort">.*?<td>abort</td><td>op</td>\s*<td>yes</td><td>wrong dope</td>',
                     aborted, re.S)
    assert 'data-verdict="no production"' in aborted
    assert view.get("/hmi/runs/999999").status_code == 404

    csv = view.get(f"/hmi/runs/{runs['complete']}/samples.csv")  # the session cookie is enough
    assert csv.status_code == 200 and csv.text.startswith("timestamp,t_s,") and LINE_SPEED in csv.text.splitlines()[0]


def trend(session: HmiSession, run_id: int, tag: str, window: str) -> dict[str, Any]:
    response = session.get(f"/hmi/trends/data?run_id={run_id}&tag={tag}&window={window}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_tag_trend_has_its_setpoint_and_limits_over_the_window(
        runs: dict[str, int], signed_in: Callable[[str], HmiSession]) -> None:
    view = signed_in("view")
    last_10_min = trend(view, runs["complete"], LINE_SPEED, "10m")
    assert last_10_min["setpoint_tag"] == LINE_SPEED_SETPOINT and last_10_min["unit"] == "m/min"
    assert (last_10_min["low"], last_10_min["high"]) == (0.0, 20.0)
    assert last_10_min["t_to_s"] - last_10_min["t_from_s"] == pytest.approx(600.0)
    times = last_10_min["t"]
    assert len(times) > 50 and last_10_min["t_from_s"] <= times[0] and times[-1] <= last_10_min["t_to_s"]
    assert len(last_10_min["avg"]) == len(last_10_min["setpoint"]) == len(times)
    assert 2.0 in last_10_min["setpoint"]  # the recipe's line speed, 2 m/min
    running = [v for v, sp in zip(last_10_min["avg"], last_10_min["setpoint"]) if sp == 2.0 and v is not None]
    assert running and max(running) == pytest.approx(2.0, abs=0.2)

    whole = trend(view, runs["complete"], LINE_SPEED, "run")
    assert whole["t_from_s"] < last_10_min["t_from_s"] and whole["t_to_s"] == last_10_min["t_to_s"]
    assert whole["t_to_s"] - whole["t_from_s"] > 15 * 60

    unpaired = trend(view, runs["complete"], "quench_bath.temperature_c", "run")
    assert unpaired["setpoint_tag"] is None and set(unpaired["setpoint"]) == {None} and unpaired["avg"]
    assert "recipe" not in unpaired  # asked for once by a chart, not on every poll

    # the recipe's value and limits: of the parameter its loop's setpoint or its setpoint tag is set to
    bath = trend(view, runs["complete"], "quench_bath.temperature_c", "run&recipe=1")["recipe"]
    assert bath == {"parameter": "quench_temperature", "value": 40.0, "low": 20.0, "high": 60.0}
    speed = trend(view, runs["complete"], LINE_SPEED, "10m&recipe=1")["recipe"]
    assert speed == {"parameter": "line_speed", "value": 2.0, "low": 0.5, "high": 5.0}
    assert trend(view, runs["complete"], "quench_bath.level_pct", "run&recipe=1")["recipe"] is None
    assert view.get(f"/hmi/trends/data?run_id={runs['complete']}&tag=quench_bath.nothing&window=1h").status_code == 404


def test_the_trends_page_offers_tags_by_device_and_charts_the_picked_ones(
        runs: dict[str, int], signed_in: Callable[[str], HmiSession]) -> None:
    view = signed_in("view")
    run_id = runs["complete"]
    page = view.get(f"/hmi/trends?run_id={run_id}&window=8h&tag=quench_bath.temperature_c&tag={LINE_SPEED}").text
    assert re.findall(r"<summary>([^<]+)</summary>", page)[:3] == ["Dope vessel 1", "Dope vessel 2", "Dope pump 1"]
    assert re.search(rf'value="{LINE_SPEED}" checked', page) and re.search(r'value="8h" checked', page)
    charts = re.findall(r'<figure class="trend" data-src="([^"]+)"\s*data-live="(\w+)"', page)
    assert charts == [(f"/hmi/trends/data?run_id={run_id}&amp;tag={tag}&amp;window=8h", "false")
                      for tag in ("quench_bath.temperature_c", LINE_SPEED)]
    assert "/hmi/static/vendor/uPlot-1.6.32.iife.min.js" in page and "/hmi/static/trends.js" in page
    default = view.get(f"/hmi/trends?run_id={run_id}").text  # the line kind's key tags
    assert f"tag={LINE_SPEED}&amp;window=1h" in default


def test_a_trend_extends_while_its_run_executes(
        hmi_client: TestClient, users: dict[str, dict[str, str]], runs: dict[str, int],
        signed_in: Callable[[str], HmiSession]) -> None:
    op = users["op"]
    run_id = start(hmi_client, op, release(hmi_client, users, short_recipe(production_min=60), PASSWORD))
    try:
        view = signed_in("view")
        assert re.search(r'data-live="true"', view.get("/hmi/trends").text)  # the current run, polled
        first = wait_for(lambda: (d := trend(view, run_id, LINE_SPEED, "run"))["t"] and d, "the run's first samples")
        later = wait_for(lambda: (d := trend(view, run_id, LINE_SPEED, "run"))["t_to_s"] > first["t_to_s"] and d,
                         "the trend to extend")
        assert len(later["t"]) >= len(first["t"])
    finally:
        assert hmi_client.post("/runs/current/abort", json={"reason": "test over"}, headers=op).status_code == 202
        wait_for(lambda: run_state(hmi_client, op)["state"] == "Aborted", "Aborted")
