"""The API on every line the controller knows: a plant file pointing at a served simulator
(Modbus/TCP + OPC UA over loopback, no simulator in the API process) and a foaming recipe
on the built-in simulator."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import line_tags
from fastapi.testclient import TestClient
from hil_support import SHORT_RECIPE, free_port, plant_file, short_recipe
from paths import REPO_ROOT

from controller.api import Settings, create_app
from controller.lines import builtin_line, kind_named
from simulator.casting.plant import CastingPlant
from simulator.serve.runner import ServedPlant

pytestmark = pytest.mark.timeout(120)  # a hung socket fails fast, with the stacks

ROOT = REPO_ROOT
SERVED_SPEED = 50.0  # plant and controller clocks alike (simulated seconds per wall second)


class ServedInThread:
    """A ServedPlant on its own event loop in a daemon thread (the API app has its own loop
    in TestClient's thread); start and stop are bounded."""

    def __init__(self, served: ServedPlant) -> None:
        self.served = served
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="served-plant", daemon=True)

    def __enter__(self) -> ServedPlant:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.served.start(), self.loop).result(timeout=30)
        return self.served

    def __exit__(self, *exc: object) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.served.stop(), self.loop).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


@pytest.fixture
def served() -> Iterator[ServedPlant]:
    """The casting line served on loopback, prepared for the short HIL recipe."""
    definition, _control = builtin_line("casting")
    plant = CastingPlant(definition, seed=0)
    kind_named("casting").prepare_plant(plant, short_recipe())
    served = ServedPlant(plant, definition, modbus_port=0, opcua_port=free_port(), speed=SERVED_SPEED,
                         step_s=0.02, watchdog_s=3.0)
    with ServedInThread(served) as running:
        yield running


def test_plant_file_drives_a_served_plant_with_live_good_tags(served: ServedPlant, tmp_path: Path,
                                                              sqlite_url: str, api: Any) -> None:
    assert served.opcua_endpoint is not None
    opcua_port = int(served.opcua_endpoint.rsplit(":", 1)[1].split("/")[0])
    path = plant_file(tmp_path, modbus_port=served.modbus_port, opcua_port=opcua_port,
                      modbus_devices="[dope_vessel_1, dope_vessel_2, dope_pump_1, dope_pump_2, casting_knife]",
                      opcua_devices="[support_belt, quench_bath, wash_bath, dryer]")
    settings = Settings(database_url=sqlite_url, plant=path, sim_speed=SERVED_SPEED, scan_period_s=1.0,
                        sample_period_s=5.0, state_dir=tmp_path / "runtime")
    with TestClient(create_app(settings)) as client:
        h = api.create_users(client, sqlite_url)
        # no simulator in the API process: fault injection has nothing to act on
        r = client.get("/sim/faults", headers=h["view"])
        assert r.status_code == 409 and "no simulator" in r.json()["detail"], r.text

        recipe_id, version = api.release(client, h, SHORT_RECIPE.read_text(encoding="utf-8"), api.PASSWORD)
        r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
        assert r.status_code == 202, r.text

        def belt_running() -> dict[str, Any] | None:
            tags = line_tags(client.get("/line", headers=h["view"]).json())
            belt = tags["support_belt.line_speed_m_min"]
            return tags if belt["value"] is not None and belt["value"] > 1.0 else None

        tags = api.wait_for(belt_running, "the served belt to run at line speed", timeout_s=30)
        device_tags = [t for t in tags.values() if t["direction"] != "derived"]
        assert {t["quality"] for t in device_tags} == {"good"}  # every device, both protocols
        assert tags["support_belt.line_speed_m_min"]["unit"] == "m/min"
        assert tags["casting_knife.gap_1_um"]["value"] == pytest.approx(380.0, abs=5.0)  # from the plant, over Modbus
        devices = client.get("/line/devices", headers=h["view"]).json()
        assert devices and all(d["healthy"] for d in devices)

        done = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["state"] == "Complete" and s,
                            "Complete", timeout_s=60)
        record = api.closed_record(client, h["view"], done["run_id"])
        assert record["run"]["simulated"] is False and record["run"]["final_state"] == "Complete"
        assert record["sample_count"] > 0
        assert not served.tripped  # the controller's heartbeat kept the plant's watchdog quiet

        # the plant file is a casting line: a foaming recipe is refused with the reason
        foaming = (ROOT / "recipes" / "foaming-psu-co2-water.yaml").read_text(encoding="utf-8")
        foam_id, foam_version = api.release(client, h, foaming, api.PASSWORD)
        r = client.post("/runs", json={"recipe_id": foam_id, "version": foam_version}, headers=h["op"])
        assert r.status_code == 409, r.text
        assert "foaming" in r.json()["detail"] and "casting" in r.json()["detail"]
        assert api.run_state(client, h["op"])["run_id"] == done["run_id"]  # nothing started


def test_foaming_recipe_runs_on_the_built_in_simulator(sqlite_client: TestClient, sqlite_url: str, api: Any) -> None:
    client = sqlite_client
    h = api.create_users(client, sqlite_url)
    idle = set(line_tags(client.get("/line", headers=h["view"]).json()))
    foaming = (ROOT / "recipes" / "foaming-psu-co2-water.yaml").read_text(encoding="utf-8")
    recipe_id, version = api.release(client, h, foaming, api.PASSWORD)
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 202, r.text
    state = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["state"] == "Execute" and s, "Execute")
    assert state["recipe_id"] == recipe_id and state["run_id"] is not None

    foaming_definition, _ = builtin_line("foaming")
    expected = {f"{d.name}.{t.name}" for d in foaming_definition.devices for t in d.profile.tags}
    derived = {d.address for d in foaming_definition.derived}
    live = client.get("/line", headers=h["view"]).json()
    tags = line_tags(live)
    assert set(tags) == expected | derived and set(tags) != idle  # the foaming line replaced the idle casting line
    assert all(t["quality"] == "good" for t in tags.values())  # the run's soft sensors compute every derived tag
    cell_size = tags["die.foam_cell_size_um"]
    extruder = next(d for d in live["devices"] if d["device"] == "extruder")
    zone = next(t for t in extruder["measurements"] if t["address"] == "extruder.zone_1_temperature_c")
    assert zone["setpoint"]["address"] == "extruder.zone_1_setpoint_c"  # each barrel zone with its setpoint
    assert cell_size["unit"] == "um" and cell_size["direction"] == "derived"
    devices = {d["device"]: d["kind"] for d in client.get("/line/devices", headers=h["view"]).json()}
    assert devices == {d.name: d.profile.kind for d in foaming_definition.devices}

    # the foaming simulator offers its own faults; a casting fault is refused naming them
    heated = next(d.name for d in foaming_definition.devices if d.profile.kind == "extruder")
    r = client.post("/sim/faults", json={"kind": "belt", "device": heated}, headers=h["eng_a"])
    assert r.status_code == 422 and "foaming" in r.json()["detail"], r.text
    assert "die_blocked" in r.json()["detail"] and "heater" in r.json()["detail"], r.text
    r = client.post("/sim/faults", json={"kind": "heater", "device": heated}, headers=h["eng_a"])
    assert r.status_code == 201 and r.json()["active"] == [f"{heated} heater failed"], r.text
    r = client.delete("/sim/faults", params={"device": heated}, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["active"] == [], r.text

    r = client.post("/runs/current/abort", headers=h["op"])
    assert r.status_code == 202, r.text
    done = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["state"] == "Aborted" and s, "Aborted")
    record = api.closed_record(client, h["view"], done["run_id"])
    assert record["run"]["line_kind"] == "foaming"
    sampled = sorted(expected & set(record["tags"]))
    assert sampled  # foaming tags sampled into the batch record
    trend = client.get(f"/runs/{done['run_id']}/trend", params={"tag": sampled[0], "max_points": 10},
                       headers=h["view"])
    assert trend.status_code == 200, trend.text
    assert trend.json()["unit"] == foaming_definition.tag(sampled[0]).unit and trend.json()["points"]
    derived_trend = client.get(f"/runs/{done['run_id']}/trend", params={"tag": "die.foam_void_fraction_pct",
                                                                        "max_points": 10}, headers=h["view"])
    assert derived_trend.status_code == 200 and derived_trend.json()["unit"] == "percent", derived_trend.text
