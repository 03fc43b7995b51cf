"""The controller against the simulator served as virtual PLCs, over real loopback sockets.

Plant and controller both run on wall clocks sped up by the same factor (``SPEED``); every
wait is bounded; nothing asserts on timing except the watchdog's own limit (+ margin).
"""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asyncua import Client, ua
from hil_support import SHORT_RECIPE, SPEED, plant_file, served_plant, short_recipe, wait_for
from paths import REPO_ROOT
from pyModbusTCP.client import ModbusClient
from sqlalchemy import text

from controller.assembly import build_line
from controller.assembly.plant_file import build_hardware_line
from controller.engine.states import CommandRejected, UnitState
from controller.lines import builtin_line
from controller.store import BatchRecorder, create_engine_for, load_batch_record, upgrade
from drivers.clock import WallClock
from drivers.modbus.map import plan_line_map
from drivers.opcua.map import NAMESPACE_URI
from drivers.profiles import TagLimitError

ROOT = REPO_ROOT
CONTROL = builtin_line("casting")[1]


def opcua_port(endpoint: str | None) -> int:
    assert endpoint is not None
    return int(endpoint.rsplit(":", 1)[1].split("/")[0])



def recorder_for(tmp_path: Path) -> BatchRecorder:
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    upgrade(url)
    return BatchRecorder(create_engine_for(url))


def modbus_float(port: int, address: int) -> float | None:
    """An independent client: pyModbusTCP, two holding registers, big-endian words (ABCD)."""
    client = ModbusClient(host="127.0.0.1", port=port, unit_id=1, timeout=2.0, auto_open=True)
    try:
        regs = client.read_holding_registers(address, 2)
        if not regs:
            return None
        return struct.unpack(">f", struct.pack(">HH", regs[0], regs[1]))[0]
    finally:
        client.close()


@pytest.mark.parametrize("protocol", ["modbus", "opcua"])
async def test_short_recipe_completes_against_served_simulator(tmp_path: Path, protocol: str) -> None:
    recipe = short_recipe()
    served, _plant, _definition = served_plant(recipe)
    async with served:
        path = plant_file(tmp_path, modbus_port=served.modbus_port if protocol == "modbus" else None,
                          opcua_port=opcua_port(served.opcua_endpoint) if protocol == "opcua" else None)
        clock = WallClock(SPEED)
        assembled = build_line(recipe=recipe, plant_file=path, clock=clock, sample_period_s=5.0, recorder=recorder_for(tmp_path))
        line, engine = assembled.line, assembled.engine
        engine.request("start")
        try:
            final = await asyncio.wait_for(engine.run(max_duration_s=2000.0), timeout=25.0)
        finally:
            await line.close()
        assert final is UnitState.COMPLETE
        assert [e.outcome for e in engine.step_log] == ["complete"] * len(recipe.steps)
        assert not served.tripped  # the heartbeat kept the watchdog quiet


async def test_mixed_plant_file_drives_both_protocols(tmp_path: Path) -> None:
    recipe = short_recipe()
    served, _plant, _definition = served_plant(recipe)
    async with served:
        path = plant_file(tmp_path, modbus_port=served.modbus_port, opcua_port=opcua_port(served.opcua_endpoint),
                          modbus_devices="[dope_vessel_1, dope_vessel_2, dope_pump_1, dope_pump_2, casting_knife]",
                          opcua_devices="[support_belt, quench_bath, wash_bath, dryer]")
        clock = WallClock(SPEED)
        assembled = build_line(recipe=recipe, plant_file=path, clock=clock)
        line, engine = assembled.line, assembled.engine
        engine.request("start")
        try:
            final = await asyncio.wait_for(engine.run(max_duration_s=2000.0), timeout=25.0)
        finally:
            await line.close()
        assert final is UnitState.COMPLETE


async def test_independent_modbus_client_sees_what_opcua_shows() -> None:
    recipe = short_recipe()
    served, _plant, _definition = served_plant(recipe)
    result = subprocess.run([sys.executable, "-m", "controller.cli", "profiles", "--format", "json"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    document = json.loads(result.stdout)
    device = next(d for d in document["devices"] if d["name"] == "dope_vessel_1")
    tag = next(t for t in device["tags"] if t["name"] == "agitator_speed_setpoint_rpm")
    assert tag["modbus"]["data_type"] == "float32" and tag["modbus"]["word_order"] == "big"
    async with served:
        client = Client(served.opcua_endpoint, timeout=5)
        async with client:
            idx = await client.get_namespace_index(NAMESPACE_URI)
            node_id = tag["opcua"]["node_id"].replace(f"nsu={NAMESPACE_URI}", f"ns={idx}")
            node = client.get_node(node_id)
            await node.write_value(ua.DataValue(ua.Variant(123.25, ua.VariantType.Float)))
            shown = await node.read_value()
            assert shown == pytest.approx(123.25)
            port = served.modbus_port
            assert port is not None
            seen: list[float | None] = [None]

            async def modbus_sees_it() -> bool:
                seen[0] = await asyncio.to_thread(modbus_float, port, tag["modbus"]["address"])
                return seen[0] == shown

            deadline = time.monotonic() + 10.0
            while not await modbus_sees_it():
                assert time.monotonic() < deadline, f"pyModbusTCP read {seen[0]}, OPC UA shows {shown}"
                await asyncio.sleep(0.05)


async def test_out_of_limit_setpoint_refused_before_the_wire(tmp_path: Path) -> None:
    recipe = short_recipe()
    served, plant, definition = served_plant(recipe)
    async with served:
        path = plant_file(tmp_path, modbus_port=served.modbus_port, opcua_port=None)
        line = build_hardware_line(path, definition, WallClock(SPEED))
        await line.connect()
        try:
            served.modbus_server.last_refusal = ""  # type: ignore[union-attr]
            with pytest.raises(TagLimitError):
                await line.write("support_belt", {"line_speed_setpoint_m_min": 99.0})
            await line.write("support_belt", {"line_speed_setpoint_m_min": 1.5})  # in limits: goes out
            await wait_for(lambda: plant.read_device("support_belt")["line_speed_setpoint_m_min"] == 1.5,
                           5.0, "the in-limit write to reach the plant")
        finally:
            await line.close()
        assert served.modbus_server.last_refusal == ""  # type: ignore[union-attr]  # the server saw nothing refused


async def test_modbus_outage_holds_then_recovers_and_completes(tmp_path: Path) -> None:
    recipe = short_recipe()
    served, _plant, _definition = served_plant(recipe, watchdog_s=30.0)
    recorder = recorder_for(tmp_path)
    async with served:
        assert served.modbus_server is not None
        path = plant_file(tmp_path, modbus_port=served.modbus_port, opcua_port=None)
        clock = WallClock(SPEED)
        assembled = build_line(recipe=recipe, plant_file=path, clock=clock, sample_period_s=5.0, recorder=recorder)
        line, engine = assembled.line, assembled.engine
        engine.request("start")
        task = asyncio.create_task(engine.run(max_duration_s=4000.0))
        try:
            await wait_for(lambda: engine.step is not None and engine.step.name == "production", 15.0,
                           "production")
            await served.modbus_server.stop()
            outage_start_s = clock.now_s()
            await wait_for(lambda: engine.state is UnitState.HELD, 10.0, "the run to hold")
            comm = [e for e in engine.alarms.events if e.alarm_id.startswith("COMM_")]
            assert comm, "no COMM alarm raised"
            await asyncio.sleep(0.5)  # an outage of ~50 simulated seconds
            outage_end_s = clock.now_s()
            await served.modbus_server.start()  # same port
            await wait_for(lambda: all(q.value == "good" for q in engine.quality.values()), 10.0,
                           "the transport to reconnect")
            with pytest.raises(CommandRejected, match="COMM_SUPPORT_BELT is not acknowledged"):
                engine.request("unhold")  # the operator acknowledges the loss before the line moves again
            for alarm in [a.definition.alarm_id for a in engine.alarms.annunciated()]:
                engine.acknowledge(alarm, "operator")
            engine.request("unhold")
            final = await asyncio.wait_for(task, timeout=25.0)
        finally:
            if not task.done():
                task.cancel()
            await line.close()
        assert final is UnitState.COMPLETE
    recorder.flush()
    record = load_batch_record(recorder.engine, engine.run_id)  # type: ignore[arg-type]
    assert [s.name for s in record.steps if s.outcome == "complete"] == [s.name for s in recipe.steps]
    with recorder.engine.connect() as db:
        stale = db.execute(text(
            "SELECT count(*) FROM samples WHERE run_id = :r AND quality != 'good' AND t_s BETWEEN :a AND :b"),
            {"r": engine.run_id, "a": outage_start_s, "b": outage_end_s}).scalar_one()
        good_in_outage = db.execute(text(
            "SELECT count(*) FROM samples WHERE run_id = :r AND quality = 'good' AND tag LIKE 'support_belt.%' "
            "AND t_s BETWEEN :a AND :b"),
            {"r": engine.run_id, "a": outage_start_s + 5.0, "b": outage_end_s - 5.0}).scalar_one()
    assert stale > 0
    assert good_in_outage == 0
    lost = [a for a in record.alarms if a.alarm_id == "COMM_SUPPORT_BELT"]  # active for as long as the link was lost
    assert len(lost) == 1 and lost[0].cleared_t_s - lost[0].raised_t_s > 0.5 * (outage_end_s - outage_start_s)


async def test_killed_controller_process_drives_plant_to_safe_values(tmp_path: Path) -> None:
    recipe = short_recipe()
    speed = 20.0
    served, plant, definition = served_plant(recipe, speed=speed, watchdog_s=1.0)
    map_ = plan_line_map(definition)
    address = map_.entry("dope_pump_1", "speed_setpoint_rpm").address
    safe = definition.device("dope_pump_1").profile.tag("speed_setpoint_rpm").safe_value
    async with served:
        assert served.modbus_port is not None
        path = plant_file(tmp_path, modbus_port=served.modbus_port, opcua_port=None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller.cli", "run", str(SHORT_RECIPE), "--plant", str(path),
            "--speed", str(speed), "--database", f"sqlite:///{tmp_path / 'controller.db'}",
            cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        try:
            await wait_for(lambda: plant.read_device("dope_pump_1")["speed_setpoint_rpm"] > 5.0, 20.0,
                           "casting to start (pump speed setpoint > 5 rpm)")
            assert not served.tripped
            proc.kill()  # SIGKILL: no clean-up in the controller
            await asyncio.wait_for(proc.wait(), timeout=5.0)
            killed = time.monotonic()
            port = served.modbus_port
            value: float | None = None
            while time.monotonic() - killed < served.watchdog_s + 2.0:
                value = await asyncio.to_thread(modbus_float, port, address)
                if value == safe:
                    break
                await asyncio.sleep(0.05)
            assert value == safe, f"pump speed setpoint {value} after the watchdog time, safe is {safe}"
            assert served.tripped
            for device in definition.devices:
                reading = plant.read_device(device.name)
                for name, safe_value in device.profile.safe_values().items():
                    assert reading[name] == safe_value, f"{device.name}.{name}"
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
