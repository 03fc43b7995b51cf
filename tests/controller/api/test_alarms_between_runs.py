"""Standing alarms between runs: raised while no run is active, they are journaled (run id
null), listed as active, acknowledgeable, shelvable and audited - over HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

ALARM = "QUENCH_HEATER_FAULT"


def keep_bath_warm(short_recipe: str) -> str:
    """The short recipe, but the shutdown leaves the quench bath loop on (the bath is kept
    warm between runs) at the top of its range, far above what a short run reaches, so its
    heater keeps working at full output after the run."""
    line = '      - {loop: quench_bath_temperature, mode: manual, output: "0 %"}\n'
    setpoint = 'quench_temperature: {value: "40 degC"'
    assert line in short_recipe and setpoint in short_recipe
    return short_recipe.replace(line, "", 1).replace(setpoint, 'quench_temperature: {value: "60 degC"', 1)


def history(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/alarms/history", params={"alarm_id": ALARM}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def active(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    r = client.get("/alarms/active", headers=headers)
    assert r.status_code == 200, r.text
    return {a["alarm_id"]: a for a in r.json()}


def test_alarm_between_runs_is_journaled_acknowledged_and_audited(client: TestClient, database_url: str,
                                                                   api: Any) -> None:
    h = api.create_users(client, database_url)
    created = client.post("/recipes", json={"yaml_text": keep_bath_warm(api.short_recipe(production_min=1))},
                          headers=h["eng_a"])
    assert created.status_code == 201, created.text
    recipe_id, version = created.json()["recipe_id"], created.json()["version"]
    r = client.post(f"/recipes/{recipe_id}/versions/{version}/release-for-testing",
                    json=api.signature("eng_a", "between-runs test"), headers=h["eng_a"])
    assert r.status_code == 200, r.text

    # a run completes; the operator resets the line: idle, no run
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["eng_a"])
    assert r.status_code == 202, r.text
    done = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["state"] == "Complete" and s, "Complete", 60)
    r = client.post("/runs/current/reset", headers=h["op"])
    assert r.status_code == 202, r.text
    idle = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["state"] == "Idle" and s, "Idle")
    assert idle["run_id"] is None

    # the bath heater fails while idle: the alarm is raised with no run; its interlock forces
    # the heater off, so the condition clears and it waits for acknowledgement
    before_s = time.time()
    r = client.post("/sim/faults", json={"kind": "heater", "device": "quench_bath"}, headers=h["eng_a"])
    assert r.status_code == 201, r.text
    api.wait_for(lambda: ALARM in active(client, h["view"]), f"{ALARM} active while idle")
    # the journal is written by the runtime's historian, moments after the alarm is pushed
    entry = api.wait_for(lambda: (j := history(client, h["view"])) and j[0]["state"] == "rtn_unacknowledged" and j[0],
                         f"{ALARM} journaled as returned to normal, unacknowledged")
    assert entry["run_id"] is None and entry["acknowledged_by"] is None
    assert before_s - 1 <= entry["raised_t_s"] <= time.time() + 1  # run-less: Unix epoch seconds
    api.wait_for(lambda: active(client, h["view"])[ALARM]["state"] == "rtn_unacknowledged",
                 "the pushed status (at most a tenth of a second old) to show it")
    assert all(a["run_id"] == done["run_id"] for a in history(client, h["view"])[1:])  # the run's, if any

    # the heater is repaired; the operator acknowledges: journaled with who, and audited
    r = client.delete("/sim/faults", params={"device": "quench_bath"}, headers=h["eng_a"])
    assert r.status_code == 200, r.text
    r = client.post(f"/alarms/{ALARM}/acknowledge", headers=h["op"])
    assert r.status_code == 200, r.text
    assert ALARM not in {a["alarm_id"] for a in r.json()}
    # the runtime's historian journals it off the scan path, within moments
    entry = api.wait_for(lambda: (e := history(client, h["view"])[0])["state"] == "normal" and e, "the journal")
    assert entry["run_id"] is None and entry["state"] == "normal" and entry["acknowledged_by"] == "op"
    assert [(e["state"], e["actor"]) for e in entry["events"]] == [
        ("unacknowledged", None), ("rtn_unacknowledged", None), ("normal", "op")]
    r = client.post(f"/alarms/{ALARM}/acknowledge", headers=h["op"])
    assert r.status_code == 409, r.text  # nothing left to acknowledge

    # it fails again: a new run-less occurrence; an operator may not shelve an interlock, an
    # engineer may, with a reason (the expiry in wall time, epoch seconds for a run-less alarm)
    r = client.post("/sim/faults", json={"kind": "heater", "device": "quench_bath"}, headers=h["eng_a"])
    assert r.status_code == 201, r.text
    api.wait_for(lambda: ALARM in active(client, h["view"]), f"{ALARM} again")
    r = client.post(f"/alarms/{ALARM}/shelve", json={"duration_s": 3600, "reason": "heater on order"},
                    headers=h["op"])
    assert r.status_code == 403 and "interlock" in r.json()["detail"], r.text
    r = client.post(f"/alarms/{ALARM}/shelve", json={"duration_s": 3600, "reason": "heater on order"},
                    headers=h["eng_a"])
    assert r.status_code == 200, r.text
    journal = api.wait_for(lambda: (j := history(client, h["view"]))[0]["state"] == "shelved" and j, "the journal")
    assert len([a for a in journal if a["run_id"] is None]) == 2
    assert journal[0]["state"] == "shelved" and journal[0]["run_id"] is None
    assert time.time() < journal[0]["shelved_until_t_s"] < time.time() + 3600

    # shelved or not, a latched interlock refuses a start, naming it
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["eng_a"])
    assert r.status_code == 409 and ALARM in r.json()["detail"], r.text
    # repaired and acknowledged, the line starts; the run-less occurrence is closed in the journal
    r = client.delete("/sim/faults", params={"device": "quench_bath"}, headers=h["eng_a"])
    assert r.status_code == 200, r.text
    r = client.post(f"/alarms/{ALARM}/acknowledge", headers=h["op"])  # its condition cleared before the shelve
    assert r.status_code == 200, r.text
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["eng_a"])
    assert r.status_code == 202, r.text
    api.wait_for(lambda: api.run_state(client, h["op"])["run_id"] not in (None, done["run_id"]), "the second run")
    closed = api.wait_for(lambda: (a := next(a for a in history(client, h["view"]) if a["run_id"] is None))["state"]
                          == "normal" and a, "the journal")
    assert closed["events"][-1]["actor"] == "op"

    audit = [(e["action"], e["actor"], e["details"]["run_id"]) for e in client.get("/audit", headers=h["view"]).json()
             if e["action"] in ("alarm.acknowledged", "alarm.shelved")]  # audited by the runtime, in order
    assert audit == [("alarm.acknowledged", "op", None), ("alarm.shelved", "eng_a", None),
                     ("alarm.acknowledged", "op", None)]
    assert client.get("/audit/verify", headers=h["view"]).json()["ok"] is True
