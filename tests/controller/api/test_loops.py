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

    audit = [(e["actor"], e["subject"], e["details"]["mode"], e["details"]["reason"])
             for e in client.get("/audit", headers=h["view"]).json() if e["action"] == "loop.set"]
    assert audit == [("eng_a", f"loop {LOOP}", "manual", "preheat the quench bath"), ("eng_a", f"loop {LOOP}", "off", "done")]
