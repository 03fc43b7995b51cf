"""Loop faceplates over the API: anyone may read every loop's mode, setpoint and output; an
engineer sets a loop's mode, setpoint or manual output with a reason, the output reaches the
line, and the audit trail keeps who, what and why; operators and viewers are refused, and so
is a setpoint outside its measurement's range (the engine's rules: test_scan_faceplates.py)."""

from __future__ import annotations

import pytest

LOOP = "quench_bath_temperature"
HEATER = "quench_bath.heater_output_pct"


@pytest.fixture
def h(sqlite_client, sqlite_url, api):
    return api.create_users(sqlite_client, sqlite_url)


def test_an_engineer_drives_a_loop_from_its_faceplate_and_the_audit_trail_keeps_why(sqlite_client, h, api):
    client = sqlite_client
    loops = {p["loop"]: p for p in client.get("/loops", headers=h["view"]).json()}
    plate = loops[LOOP]
    assert (plate["mode"], plate["measurement"], plate["measurement_unit"]) == ("off", "quench_bath.temperature_c",
                                                                               "degC")
    assert (plate["output_address"], plate["output_low"], plate["output_high"]) == (HEATER, 0.0, 100.0)
    assert plate["forced_by"] == [] and plate["held_safe"] is False

    manual = {"mode": "manual", "output": 12.5, "reason": "preheat the quench bath"}
    for name in ("view", "op"):
        r = client.post(f"/loops/{LOOP}", json=manual, headers=h[name])
        assert r.status_code == 403 and "engineer" in r.json()["detail"], r.text
    r = client.post(f"/loops/{LOOP}", json=manual, headers=h["eng_a"])
    assert r.status_code == 200, r.text
    assert (r.json()["mode"], r.json()["output"]) == ("manual", 12.5)
    api.wait_for(lambda: api.line_tags(client.get("/line", headers=h["view"]).json())[HEATER]["value"] == 12.5,
                 "the manual output on the line")

    r = client.post(f"/loops/{LOOP}", json={"mode": "auto", "setpoint": 500.0, "reason": "too hot"}, headers=h["eng_a"])
    assert r.status_code == 422 and "outside quench_bath.temperature_c's range" in r.json()["detail"], r.text
    r = client.post(f"/loops/{LOOP}", json={"mode": "auto", "setpoint": 30.0}, headers=h["eng_a"])
    assert r.status_code == 422 and "reason" in r.text, r.text
    r = client.post("/loops/no_such_loop", json={"mode": "off", "reason": "x"}, headers=h["eng_a"])
    assert r.status_code == 404 and "no loop 'no_such_loop'" in r.json()["detail"], r.text
    r = client.post(f"/loops/{LOOP}", json={"mode": "off", "reason": "done"}, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["mode"] == "off", r.text

    def audit() -> list[tuple[str, str, str, str]]:  # the runtime's historian writes it, off its scan
        return [(e["actor"], e["subject"], e["details"]["mode"], e["details"]["reason"])
                for e in client.get("/audit", headers=h["view"]).json() if e["action"] == "loop.set"]

    api.wait_for(lambda: len(audit()) >= 2, "the audit trail")
    assert audit() == [("eng_a", f"loop {LOOP}", "manual", "preheat the quench bath"), ("eng_a", f"loop {LOOP}", "off", "done")]


def test_in_maintenance_no_run_starts_and_the_mode_changes_only_where_no_run_executes(sqlite_client, h, api):
    client = sqlite_client
    recipe_id, version = api.release(client, h, api.short_recipe(production_min=60), api.PASSWORD)
    start = {"recipe_id": recipe_id, "version": version}
    maintenance = {"mode": "maintenance", "reason": "replace the quench bath heater"}
    r = client.post("/line/mode", json=maintenance, headers=h["op"])
    assert r.status_code == 403 and "engineer" in r.json()["detail"], r.text
    r = client.post("/line/mode", json=maintenance, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["unit_mode"] == "Maintenance", r.text
    assert api.run_state(client, h["view"])["unit_mode"] == "Maintenance"

    r = client.post("/runs", json=start, headers=h["op"])
    assert r.status_code == 409 and "unit mode Maintenance: runs start in Production only" in r.json()["detail"], r.text
    assert client.get("/runs", headers=h["view"]).json() == []  # no batch record claims anything
    r = client.post("/loops/quench_bath_temperature", json={"mode": "manual", "output": 5.0, "reason": "heater test"},
                    headers=h["eng_a"])
    assert r.status_code == 200, r.text  # the line is worked on from its faceplates

    r = client.post("/line/mode", json={"mode": "production", "reason": "heater replaced"}, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["unit_mode"] == "Production", r.text
    assert client.post("/runs", json=start, headers=h["op"]).status_code == 202
    api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Execute", "Execute")
    r = client.post("/line/mode", json=maintenance, headers=h["eng_a"])
    assert r.status_code == 409 and "where no run executes; the unit is Execute" in r.json()["detail"], r.text
    assert client.post("/runs/current/abort", headers=h["op"]).status_code == 202

    def audit() -> list[tuple[str, str, str, str]]:
        return [(e["actor"], e["details"]["from"], e["details"]["to"], e["details"]["reason"])
                for e in client.get("/audit", headers=h["view"]).json() if e["action"] == "line.unit_mode"]

    api.wait_for(lambda: len(audit()) >= 2, "the audit trail")
    assert audit() == [("eng_a", "Production", "Maintenance", "replace the quench bath heater"),
                     ("eng_a", "Maintenance", "Production", "heater replaced")]
