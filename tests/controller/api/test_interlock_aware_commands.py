"""The sequence that once lost production silently, over HTTP against the simulated line: a
dope pump jams in production, its interlock forces the pump to 0 rpm and holds the run;
unhold is refused with 409 naming the trip until it is acknowledged; then production resumes
with the pump at the recipe's speed, and the batch record carries the production deviation
(the window with the pump forced safe, its interlock and output)."""

from __future__ import annotations

from typing import Any

from api_support import line_tags
from fastapi.testclient import TestClient

ALARM = "DOPE_PUMP_1_STALLED"
PUMP_SETPOINT = "dope_pump_1.speed_setpoint_rpm"
PUMP_SPEED = "dope_pump_1.speed_rpm"


def tag(client: TestClient, headers: dict[str, str], address: str) -> float | None:
    r = client.get("/line", headers=headers)
    assert r.status_code == 200, r.text
    return line_tags(r.json())[address]["value"]


def test_unhold_while_a_trip_is_latched_is_refused_and_the_record_shows_the_deviation(
        sqlite_client: TestClient, sqlite_url: str, api: Any) -> None:
    client = sqlite_client
    h = api.create_users(client, sqlite_url)
    specification = ('specification:\n  - {quantity: casting_knife.wet_thickness_um, low: "150 um", high: "350 um"}\n')
    created = client.post("/recipes", json={"yaml_text": api.short_recipe(production_min=20) + specification},
                          headers=h["eng_a"])
    assert created.status_code == 201, created.text
    recipe_id, version = created.json()["recipe_id"], created.json()["version"]
    r = client.post(f"/recipes/{recipe_id}/versions/{version}/release-for-testing",
                    json=api.signature("eng_a", "interlock test"), headers=h["eng_a"])
    assert r.status_code == 200, r.text
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["eng_a"])
    assert r.status_code == 202, r.text
    run_id = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["step_name"] == "production"
                          and s["run_id"], "the production step", 60)
    recipe_speed_rpm = api.wait_for(lambda: tag(client, h["view"], PUMP_SETPOINT), "the pump running")

    r = client.post("/sim/faults", json={"kind": "pump", "device": "dope_pump_1"}, headers=h["eng_a"])
    assert r.status_code == 201, r.text
    api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Held", "the interlock's hold", 60)
    assert tag(client, h["view"], PUMP_SETPOINT) == 0.0
    r = client.post("/runs/current/unhold", headers=h["op"])
    assert r.status_code == 409 and ALARM in r.json()["detail"], r.text

    r = client.delete("/sim/faults", params={"device": "dope_pump_1"}, headers=h["eng_a"])
    assert r.status_code == 200, r.text
    r = client.post("/runs/current/unhold", headers=h["op"])
    assert r.status_code == 409 and ALARM in r.json()["detail"] and "acknowledge" in r.json()["detail"], r.text
    r = client.post(f"/alarms/{ALARM}/acknowledge", headers=h["op"])
    assert r.status_code == 200, r.text
    r = client.post("/runs/current/unhold", json={"reason": "pump freed"}, headers=h["op"])
    assert r.status_code == 202, r.text
    api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Execute", "production again")
    assert tag(client, h["view"], PUMP_SETPOINT) == recipe_speed_rpm  # the step's speed, not the hold's 0
    api.wait_for(lambda: (v := tag(client, h["view"], PUMP_SPEED)) is not None and v > 0.9 * recipe_speed_rpm,
                 "the pump turning at the recipe's speed", 60)

    r = client.post("/runs/current/stop", json={"reason": "test done"}, headers=h["op"])
    assert r.status_code == 202, r.text
    record = api.closed_record(client, h["view"], run_id, timeout_s=60)
    (deviation,) = record["deviations"]
    assert deviation["alarm_ids"] == [ALARM] and PUMP_SETPOINT in deviation["outputs"]
    production = next(s for s in record["steps"] if s["name"] == "production")
    assert production["started_s"] < deviation["started_t_s"] < deviation["ended_t_s"] <= production["ended_s"]
    assert deviation["seconds"] == deviation["ended_t_s"] - deviation["started_t_s"] > 0
    assert record["deviation_s"] == deviation["seconds"]
    raised = next(a["raised_t_s"] for a in record["alarms"] if a["alarm_id"] == ALARM)
    assert raised - 2.0 <= deviation["started_t_s"] <= raised + 2.0  # forced in the scan of the trip

    # the thin film made while the pump was jammed and the run held is not product: the
    # specification accounts only the scans that executed production, so its production time
    # leaves out the deviation's window (one scan of slack at each end of it)
    quality = record["run"]["quality"]
    (film,) = quality["specification"]
    assert film["address"] == "casting_knife.wet_thickness_um"
    production_span_s = production["ended_s"] - production["started_s"]
    assert 0 < quality["production_s"] <= production_span_s - deviation["seconds"] + 2.0
    assert quality["verdict"] in ("in spec", "out of spec") and quality["production_s"] >= film["production_s"] > 0
    listed = client.get("/runs", params={"line_id": record["run"]["line_id"]}, headers=h["view"]).json()
    assert [r["quality_verdict"] for r in listed if r["id"] == run_id] == [quality["verdict"]]
