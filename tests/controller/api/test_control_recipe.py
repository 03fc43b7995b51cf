"""An engineer adjusts a run's formula within the limits its released master recipe
declares (an ISA-88 control recipe): the line runs the adjusted value, and the batch record,
its summary and report say both the value run and the master's; operators may not adjust,
and a fixed parameter or a value outside the limits is refused before anything opens."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from controller.report import gather
from controller.report.render import report_html
from controller.store import create_engine_for


@pytest.fixture
def h(sqlite_client, sqlite_url, api):
    return api.create_users(sqlite_client, sqlite_url)


def test_an_engineer_adjusts_the_line_speed_and_the_record_keeps_the_master_value(sqlite_client, sqlite_url, h, api):
    client = sqlite_client
    recipe_id, version = api.release(client, h, api.short_recipe(production_min=1), api.PASSWORD)
    start = {"recipe_id": recipe_id, "version": version, "reason": "thicker support trial"}

    refused = [
        (h["op"], {"line_speed": 2.5}, 403, "only engineers adjust a run's formula"),
        (h["eng_a"], {"production_time": 2.0}, 422, "production_time: fixed by the master recipe"),
        (h["eng_a"], {"line_speed": 6.0}, 422, "line_speed = 6 m/min is outside its limits 0.5..5 m/min"),
        (h["eng_a"], {"no_such": 1.0}, 422, "no_such: the formula has no such parameter"),
        # within the limits, but the process rules are checked again: the bead would overflow the knife
        (h["eng_a"], {"line_speed": 2.5}, 422, "a 254 um wet film through a 380 um gap at 2.5 m/min"),
    ]
    for headers, adjustments, code, why in refused:
        r = client.post("/runs", json=start | {"adjustments": adjustments}, headers=headers)
        assert r.status_code == code and why in r.text, r.text
    assert client.get("/runs", params={"recipe_id": recipe_id}, headers=h["view"]).json() == []  # nothing opened

    r = client.post("/runs", json=start | {"adjustments": {"line_speed": 2.2}}, headers=h["eng_a"])
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]

    def belt_setpoint() -> float:
        return api.line_tags(client.get("/line", headers=h["view"]).json())[
            "support_belt.line_speed_setpoint_m_min"]["value"]

    api.wait_for(lambda: belt_setpoint() == pytest.approx(2.2), "the belt set to the adjusted speed")
    assert client.post("/runs/current/abort", headers=h["op"]).status_code == 202
    record = api.closed_record(client, h["view"], run_id)
    assert record["run"]["parameters"]["line_speed"] == {"value": 2.2, "unit": "m/min", "master_value": 2.0}
    assert "master_value" not in record["run"]["parameters"]["dope_temperature"]
    # the pump's flow follows the adjusted belt (h = Q/(W·U)): 152.4 x 2.2/2 = 167.64 mL/min
    assert record["run"]["parameters"]["layer_1_flow"]["value"] == pytest.approx(167.64)

    summary = client.get(f"/runs/{run_id}/summary", headers=h["view"]).json()
    row = next(f for f in summary["formula"] if f["name"] == "line_speed")
    assert (row["setpoint"], row["master_setpoint"], row["low"], row["high"]) == (2.2, 2.0, 0.5, 5.0)
    assert all(f["master_setpoint"] is None for f in summary["formula"] if f["name"] != "line_speed")
    flow = next(f for f in summary["formula"] if f["name"] == "layer_1_flow")
    assert flow["setpoint"] == pytest.approx(167.64)  # the value run, derived from the adjusted speed
    engine = create_engine_for(sqlite_url)
    try:
        with Session(engine) as session:
            html = report_html(gather(session, run_id))
    finally:
        engine.dispose()
    assert re.search(r"<td>line_speed</td><td>m/min</td><td class=\"n\">2\.2<br><span class=\"adjusted\">adjusted from "
                     r"2</span>", html), html[html.index("<h2>Formula"):][:1500]

    starts = [e for e in client.get("/audit", headers=h["view"]).json()
              if e["action"] == "run.start" and e["actor"] == "eng_a"]
    assert starts and starts[-1]["details"]["adjustments"] == [
        {"name": "line_speed", "value": 2.2, "unit": "m/min", "master_value": 2.0}]
    assert starts[-1]["details"]["reason"] == "thicker support trial"
