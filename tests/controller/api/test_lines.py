"""The API on every line the controller knows: a plant file pointing at a served simulator
(Modbus/TCP + OPC UA over loopback, the simulator in a process of its own) and a foaming recipe
on the built-in simulator."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from api_support import line_tags
from asyncua import Client, ua
from fastapi.testclient import TestClient
from hil_support import SHORT_RECIPE, free_port, plant_file
from paths import REPO_ROOT

from controller.api import Settings, create_app
from controller.lines import builtin_line

pytestmark = pytest.mark.timeout(120)  # a hung socket fails fast, with the stacks

ROOT = REPO_ROOT
SERVED_SPEED = 50.0  # plant and controller clocks alike (simulated seconds per wall second)
PLANT_NAMESPACE = "urn:poreline:line"


@dataclass(frozen=True)
class ServedProcess:
    modbus_port: int
    opcua_port: int


async def _watchdog_trip_count(opcua_port: int) -> int:
    """The served plant's ``Controller.WatchdogTripCount`` (docs/register-map-casting.md)."""
    async with Client(f"opc.tcp://127.0.0.1:{opcua_port}/poreline/", timeout=5.0) as client:
        index = await client.get_namespace_index(PLANT_NAMESPACE)
        return int(await client.get_node(ua.NodeId("Controller.WatchdogTripCount", index)).read_value())


@pytest.fixture
def served() -> Iterator[ServedProcess]:
    """The casting line served by ``poreline sim serve`` in a process of its own, prepared for
    the short HIL recipe, once it answers on both ports. A PLC does not share the API's
    interpreter. On a thread of the test's process the plant shared it with the API (which
    compiles recipes there), and on a loaded machine the controller's reads, 0.3 s timeout,
    failed twice in a row before the start now and then: COMM alarms refused the start."""
    modbus_port, opcua_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "sim", "serve", "--line", "casting", "--modbus-port", str(modbus_port),
         "--opcua-port", str(opcua_port), "--speed", str(SERVED_SPEED), "--watchdog", "3",
         "--recipe", str(SHORT_RECIPE), "--allow-anonymous-writes"],  # the plant file's OPC UA has no user
        cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60.0
        while True:
            assert proc.poll() is None, f"poreline sim serve exited with {proc.returncode}"
            try:
                socket.create_connection(("127.0.0.1", modbus_port), timeout=1.0).close()
                assert asyncio.run(_watchdog_trip_count(opcua_port)) == 0
                break
            except (OSError, TimeoutError):
                assert time.monotonic() < deadline, "poreline sim serve did not answer within 60 s"
                time.sleep(0.3)
        yield ServedProcess(modbus_port, opcua_port)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_plant_file_drives_a_served_plant_with_live_good_tags(served: ServedProcess, tmp_path: Path,
                                                              sqlite_url: str, api: Any) -> None:
    path = plant_file(tmp_path, modbus_port=served.modbus_port, opcua_port=served.opcua_port,
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
        # the controller's heartbeat kept the plant's watchdog quiet all along
        assert asyncio.run(_watchdog_trip_count(served.opcua_port)) == 0

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
