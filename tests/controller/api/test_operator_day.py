"""The whole operator day over HTTP, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io


def test_operator_day(client, database_url, api):
    cli, wait_for, run_state = api.cli, api.wait_for, api.run_state
    h = api.create_users(client, database_url)

    # engineer A writes the recipe and releases it for testing
    created = client.post("/recipes", json={"yaml_text": api.short_recipe(), "comment": "short day"}, headers=h["eng_a"])
    assert created.status_code == 201, created.text
    recipe_id, version = created.json()["recipe_id"], created.json()["version"]
    assert created.json()["state"] == "draft"
    url = f"/recipes/{recipe_id}/versions/{version}"
    r = client.post(f"{url}/release-for-testing", json=api.signature("eng_a", "tested on the simulator"),
                    headers=h["eng_a"])
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "released_for_testing"

    # operators may not start a version released only for testing
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 403, r.text

    # A may not sign the production release (same author); B may, with their own user name and password
    r = client.post(f"{url}/release-for-production", json=api.signature("eng_a"), headers=h["eng_a"])
    assert r.status_code == 403 and "another engineer" in r.json()["detail"], r.text
    r = client.post(f"{url}/release-for-production", json=api.signature("eng_b", "x", password="wrong-password"),
                    headers=h["eng_b"])
    assert r.status_code == 403 and "password" in r.json()["detail"], r.text
    r = client.post(f"{url}/release-for-production", json=api.signature("eng_a", "x"), headers=h["eng_b"])
    assert r.status_code == 403 and "username" in r.json()["detail"], r.text
    r = client.post(f"{url}/release-for-production", json=api.signature("eng_b", "approved for PSf-MF"),
                    headers=h["eng_b"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "released_for_production"
    assert [(s["username"], s["full_name"], s["meaning"]) for s in body["signatures"]] == [
        ("eng_a", "Anna Author", "released_for_testing"), ("eng_b", "Bruno Approver", "released_for_production")]
    assert body["signatures"][1]["reason"] == "approved for PSf-MF"
    assert {s["content_sha256"] for s in body["signatures"]} == {body["content_sha256"]}

    # the operator starts it, holds and unholds
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 202, r.text
    wait_for(lambda: run_state(client, h["op"])["state"] == "Execute", "Execute")
    r = client.post("/runs/current/hold", headers=h["op"])
    assert r.status_code == 202, r.text
    held = wait_for(lambda: (s := run_state(client, h["op"]))["state"] == "Held" and s, "Held")
    run_id = held["run_id"]
    assert run_id is not None
    r = client.post("/runs/current/unhold", headers=h["op"])
    assert r.status_code == 202, r.text
    wait_for(lambda: run_state(client, h["op"])["state"] == "Execute", "Execute after unhold")

    # a failed quench heater raises an alarm that holds the run; the operator acknowledges it
    r = client.post("/sim/faults", json={"kind": "heater", "device": "quench_bath"}, headers=h["eng_a"])
    assert r.status_code == 201, r.text
    assert r.json()["active"] == ["quench_bath heater failed"]

    def alarm_and_held():
        s = run_state(client, h["op"])
        ids = {a["alarm_id"]: a for a in s["alarms"]}
        return s["state"] == "Held" and "QUENCH_HEATER_FAULT" in ids and ids

    alarms = wait_for(alarm_and_held, "QUENCH_HEATER_FAULT and Held")
    assert alarms["QUENCH_HEATER_FAULT"]["priority"] == 1
    active = client.get("/alarms/active", headers=h["view"]).json()
    assert "QUENCH_HEATER_FAULT" in {a["alarm_id"] for a in active}
    r = client.delete("/sim/faults", params={"device": "quench_bath"}, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["active"] == [], r.text
    r = client.post("/alarms/QUENCH_HEATER_FAULT/acknowledge", headers=h["op"])
    assert r.status_code == 200, r.text
    r = client.post("/runs/current/unhold", headers=h["op"])
    assert r.status_code == 202, r.text

    # the run completes
    done = wait_for(lambda: (s := run_state(client, h["op"]))["state"] == "Complete" and s, "Complete", 60)
    assert done["run_id"] == run_id

    # the batch record, as JSON and CSV, and a trend (the runtime's historian closes the record
    # off the scan path, moments after the line reached Complete)
    rec = api.closed_record(client, h["view"], run_id)
    assert rec["run"]["recipe_id"] == recipe_id and rec["run"]["recipe_version"] == version
    assert rec["run"]["operator"] == "op" and rec["run"]["final_state"] == "Complete"
    assert [s["name"] for s in rec["steps"]] == ["warm_up", "production", "shutdown"]
    commands = [(c["command"], c["user"]) for c in rec["commands"] if c["accepted"]]
    assert ("hold", "op") in commands and ("unhold", "op") in commands
    assert ("acknowledge QUENCH_HEATER_FAULT", "op") in commands
    alarm = next(a for a in rec["alarms"] if a["alarm_id"] == "QUENCH_HEATER_FAULT")
    assert alarm["acknowledged_by"] == "op"
    assert "quench_bath.temperature_c" in rec["tags"] and rec["sample_count"] > 0
    head = rec["audit_head"]  # the report's checkpoint of the audit trail
    assert head["id"] >= 1 and len(head["hash"]) == 64

    csv_response = client.get(f"/runs/{run_id}/record.csv", headers=h["view"])
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_response.text)))
    assert len(rows) == rec["sample_count"]
    assert set(rows[0]) == {"t_s", "timestamp", "tag", "value", "quality"}

    trend = client.get(f"/runs/{run_id}/trend", params={"tag": "quench_bath.temperature_c", "max_points": 20},
                       headers=h["view"])
    assert trend.status_code == 200, trend.text
    t = trend.json()
    assert t["unit"] == "degC" and 0 < len(t["points"]) <= 20

    history = client.get("/runs", params={"recipe_id": recipe_id, "final_state": "Complete"}, headers=h["view"])
    assert [r["id"] for r in history.json()] == [run_id]
    alarm_history = client.get("/alarms/history", params={"run_id": run_id}, headers=h["view"]).json()
    assert "QUENCH_HEATER_FAULT" in {a["alarm_id"] for a in alarm_history}

    # the audit trail has every change and command, and verifies
    actions = [e["action"] for e in client.get("/audit", headers=h["view"]).json()]
    for action in ("user.created", "recipe.version_created", "recipe.released_for_testing",
                   "recipe.released_for_production", "run.start", "run.hold", "run.unhold",
                   "sim.fault_injected", "alarm.acknowledged"):
        assert action in actions, action
    verify = client.get("/audit/verify", headers=h["view"]).json()
    assert verify["ok"] is True, verify
    result = cli("audit", "verify", "--database", database_url, "--head", f"{head['id']}:{head['hash']}")
    assert result.exit_code == 0, result.output
    assert "1 recorded head(s) match" in result.output
