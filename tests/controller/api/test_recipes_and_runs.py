"""Recipe immutability, validation errors, diff; one run at a time; 409 with the state."""

from __future__ import annotations

import asyncio

import httpx
import pytest


@pytest.fixture
def h(sqlite_client, sqlite_url, api):
    return api.create_users(sqlite_client, sqlite_url)


def _released(client, h, api, text):
    created = client.post("/recipes", json={"yaml_text": text}, headers=h["eng_a"]).json()
    url = f"/recipes/{created['recipe_id']}/versions/{created['version']}"
    assert client.post(f"{url}/release-for-testing", json=api.signature("eng_a", "ok"),
                       headers=h["eng_a"]).status_code == 200
    assert client.post(f"{url}/release-for-production", json=api.signature("eng_b", "ok"),
                       headers=h["eng_b"]).status_code == 200
    return created["recipe_id"], created["version"], url


def test_released_recipe_cannot_be_edited_but_a_new_version_can(sqlite_client, h, api):
    client = sqlite_client
    recipe_id, version, url = _released(client, h, api, api.short_recipe())
    edited = api.short_recipe(production_min=20)
    r = client.put(url, json={"yaml_text": edited}, headers=h["eng_a"])
    assert r.status_code == 409, r.text
    assert "immutable" in r.json()["detail"] and "released_for_production" in r.json()["detail"]
    assert client.get(url, headers=h["view"]).json()["yaml_text"] == api.short_recipe()

    r = client.post("/recipes", json={"yaml_text": edited, "comment": "shorter"}, headers=h["eng_a"])
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.json()["state"]) == (version + 1, "draft")
    r = client.put(f"/recipes/{recipe_id}/versions/{version + 1}", json={"yaml_text": api.short_recipe(25)},
                   headers=h["eng_b"])
    assert r.status_code == 200 and r.json()["last_modified_by"] == "eng_b", r.text
    diff = client.get(f"/recipes/{recipe_id}/diff", params={"from_version": version, "to_version": version + 1},
                      headers=h["view"]).json()["diff"]
    assert '-  production_time: {value: "30 min"}' in diff and '+  production_time: {value: "25 min"}' in diff
    listed = client.get("/recipes", headers=h["view"]).json()
    assert [(v["version"], v["state"]) for v in listed[0]["versions"]] == [
        (1, "released_for_production"), (2, "draft")]


def test_invalid_recipe_gets_the_cli_errors(sqlite_client, h, api):
    bad = api.short_recipe().replace('polymer_wt_pct: "9.5 wt%"', 'polymer_wt_pct: "30 wt%"')
    r = sqlite_client.post("/recipes/validate", json={"yaml_text": bad}, headers=h["view"])
    assert r.status_code == 200 and r.json()["valid"] is False
    fields = {e["field"] for e in r.json()["errors"]}
    assert any("polymer_wt_pct" in f for f in fields), r.json()
    assert all(e["rule"] and e["message"] for e in r.json()["errors"])
    r = sqlite_client.post("/recipes", json={"yaml_text": bad}, headers=h["eng_a"])
    assert r.status_code == 422 and r.json()["errors"], r.text
    # a text that cannot be read as a recipe is told why, not that its header.id is missing
    r = sqlite_client.post("/recipes", json={"yaml_text": "- just\n- a list"}, headers=h["eng_a"])
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "yaml.document", r.text
    r = sqlite_client.post("/recipes", json={"yaml_text": api.short_recipe() + "\n  bad: [indent"},
                           headers=h["eng_a"])
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "yaml.syntax", r.text
    assert "line" in r.json()["errors"][0]["message"], r.text
    r = sqlite_client.post("/recipes", json={"yaml_text": api.short_recipe().replace("id: ", "name_of_it: ", 1)},
                           headers=h["eng_a"])
    assert r.status_code == 422 and "header.id" in {e["field"] for e in r.json()["errors"]}, r.text
    r = sqlite_client.post("/recipes", json={"yaml": "typo"}, headers=h["eng_a"])
    assert r.status_code == 422 and "yaml_text" in r.text


def test_a_draft_cannot_be_run(sqlite_client, h, api):
    created = sqlite_client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h["eng_a"]).json()
    r = sqlite_client.post("/runs", json={"recipe_id": created["recipe_id"], "version": 1}, headers=h["eng_a"])
    assert r.status_code == 409 and "release it first" in r.json()["detail"]
    r = sqlite_client.post("/runs", json={"recipe_id": "nope", "version": 1}, headers=h["op"])
    assert r.status_code == 404


async def test_two_concurrent_starts_make_exactly_one_run_and_unhold_while_running_is_409(sqlite_client, h, api):
    client = sqlite_client
    recipe_id, version, _ = _released(client, h, api, api.short_recipe(production_min=60))
    body = {"recipe_id": recipe_id, "version": version}

    async def start(transport: httpx.ASGITransport) -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return (await c.post("/runs", json=body, headers=h["op"])).status_code

    # both requests go through the very app (and its runtime) the TestClient started
    def both() -> list[int]:
        async def go() -> list[int]:
            transport = httpx.ASGITransport(app=client.app)
            return list(await asyncio.gather(start(transport), start(transport)))
        return client.portal.call(go)

    codes = sorted(both())
    assert codes == [202, 409], codes
    api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Execute", "Execute")
    r = client.post("/runs/current/unhold", headers=h["op"])
    assert r.status_code == 409, r.text
    assert r.json()["state"] == "Execute" and "unhold" in r.json()["detail"]
    again = client.post("/runs", json=body, headers=h["op"])
    assert again.status_code == 409 and again.json()["state"] == "Execute"
    assert client.post("/runs/current/abort", headers=h["op"]).status_code == 202
    api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Aborted", "Aborted")
    runs = client.get("/runs", params={"recipe_id": recipe_id}, headers=h["view"]).json()
    assert len(runs) == 1
    assert api.closed_record(client, h["view"], runs[0]["id"])["run"]["final_state"] == "Aborted"


def test_line_state_has_units_quality_and_timestamps(sqlite_client, h, api):
    api.wait_for(lambda: sqlite_client.get("/line", headers=h["view"]).json()["scanned_at"], "a scan")
    line = sqlite_client.get("/line", headers=h["view"]).json()
    tags = api.line_tags(line)
    bath = tags["quench_bath.temperature_c"]
    assert bath["unit"] == "degC" and bath["quality"] == "good" and bath["timestamp"]
    assert bath["value"] is not None and bath["low"] <= bath["value"] <= bath["high"]
    devices = sqlite_client.get("/line/devices", headers=h["view"]).json()
    assert {d["device"] for d in devices} >= {"quench_bath", "support_belt"} and all(d["healthy"] for d in devices)


def test_line_state_is_grouped_by_device_in_process_order_with_each_setpoint_beside_its_measurement(
        sqlite_client, h, api):
    api.wait_for(lambda: sqlite_client.get("/line", headers=h["view"]).json()["scanned_at"], "a scan")
    line = sqlite_client.get("/line", headers=h["view"]).json()
    order = [d["device"] for d in line["devices"]]
    # casting: vessel -> pump -> knife -> belt -> quench -> wash -> dryer
    assert order.index("dope_vessel_1") < order.index("dope_pump_1") < order.index("casting_knife") \
        < order.index("support_belt") < order.index("quench_bath") < order.index("wash_bath") < order.index("dryer")
    belt = next(d for d in line["devices"] if d["device"] == "support_belt")
    assert belt["label"] == "Support belt" and belt["quality"] == "good"
    speed = next(t for t in belt["measurements"] if t["address"] == "support_belt.line_speed_m_min")
    assert speed["label"] == "Line speed" and speed["display_unit"] == "m/min" and speed["resolution"] == 0.01
    assert speed["setpoint"]["address"] == "support_belt.line_speed_setpoint_m_min"
    assert "support_belt.line_speed_setpoint_m_min" not in {t["address"] for t in belt["setpoints"]}  # once, paired
    bath = next(d for d in line["devices"] if d["device"] == "quench_bath")
    temperature = next(t for t in bath["measurements"] if t["address"] == "quench_bath.temperature_c")
    assert temperature["display_unit"] == "°C" and temperature["resolution"] == 0.1
    assert temperature["display"] == f"{temperature['value']:.1f}"
    assert "quench_bath.heater_output_pct" in {t["address"] for t in bath["setpoints"]}  # an output, not a pair
    assert all(t["direction"] == "derived" for d in line["devices"] for t in d["derived"])


def test_stream_sends_bounded_server_sent_events(sqlite_client, h):
    params = {"tags": "quench_bath.temperature_c", "interval_s": 0.05, "max_events": 3}
    events = []
    with sqlite_client.stream("GET", "/stream", params=params, headers=h["view"]) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(line)
    assert len(events) == 3
    assert '"quench_bath.temperature_c"' in events[0] and '"state": "Idle"' in events[0]


def test_a_unit_pint_would_compute_for_ever_is_an_error_in_the_validation_not_a_stall(sqlite_client, h, api):
    # "1 m*9**9**9" hung the whole process for good (big-integer arithmetic under the GIL)
    bad = api.short_recipe().replace('polymer_wt_pct: "9.5 wt%"', 'polymer_wt_pct: "9.5 wt%*9**9**9"')
    assert bad != api.short_recipe()
    r = sqlite_client.post("/recipes/validate", json={"yaml_text": bad}, headers=h["view"])
    assert r.status_code == 200 and r.json()["valid"] is False, r.text
    messages = [e["message"] for e in r.json()["errors"] if "polymer_wt_pct" in e["field"]]
    assert messages and "a unit holds no numbers other than powers" in messages[0], r.json()


def test_a_version_released_for_another_line_is_refused_and_one_for_this_line_runs(sqlite_client, h, api):
    client = sqlite_client
    other = api.short_recipe(version_comment="for the second casting line")
    recipe_id, version = api.release(client, h, other, api.PASSWORD, line_id="casting-2")
    assert client.get(f"/recipes/{recipe_id}/versions/{version}", headers=h["view"]).json()["released_for_line"] == \
        "casting-2"
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 409, r.text
    assert "released for production on casting-2, not on casting-1" in r.json()["detail"]
    assert client.get("/runs", params={"recipe_id": recipe_id}, headers=h["view"]).json() == []  # nothing opened

    recipe_id, version = api.release(client, h, api.short_recipe(), api.PASSWORD, line_id="casting-1")
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 202, r.text
    assert client.post("/runs/current/abort", headers=h["op"]).status_code == 202
    api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Aborted", "Aborted")


def test_a_line_id_a_release_cannot_name_is_a_422(sqlite_client, h, api):
    created = sqlite_client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h["eng_a"]).json()
    url = f"/recipes/{created['recipe_id']}/versions/{created['version']}"
    assert sqlite_client.post(f"{url}/release-for-testing", json=api.signature("eng_a", "ok"),
                              headers=h["eng_a"]).status_code == 200
    r = sqlite_client.post(f"{url}/release-for-production",
                           json=api.signature("eng_b", "ok", line_id="Casting 1; DROP"), headers=h["eng_b"])
    assert r.status_code == 422 and "line_id" in r.text
