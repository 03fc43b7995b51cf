"""The controller against the foaming plant served as virtual PLCs, over real loopback sockets.

The short foaming recipe (tests/hil_data/short-foaming.yaml) still heats the barrel and
cools the melt in the exchanger at their physical pace (about 1.5 simulated hours), so
plant and controller both run at ``SPEED`` simulated seconds per wall second (about 11 wall
seconds a run). The controller then scans every 2-10 simulated seconds instead of every
second; the recipe completes even then. Every wait is bounded; only 127.0.0.1 is used.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from asyncua import Client
from hil_support import SHORT_RECIPE as SHORT_CASTING
from hil_support import free_port, wait_for
from paths import REPO_ROOT
from typer.testing import CliRunner

from controller.assembly import build_line, simulated_plant
from controller.cli.main import app
from controller.engine.scan import Engine
from controller.engine.states import UnitState
from controller.lines import builtin_line, compile_for_line, kind_named
from controller.lines.foaming.control import MELT_OVERPRESSURE_TRIP_BAR
from controller.lines.foaming.recipe import foaming_block
from controller.recipe.model import CompiledRecipe
from controller.store import create_engine_for, load_batch_record
from drivers.clock import WallClock
from drivers.opcua.map import NAMESPACE_URI
from simulator.foaming.plant import FoamingPlant
from simulator.serve.runner import ServedPlant

ROOT = REPO_ROOT
SHORT_FOAMING = ROOT / "tests" / "hil_data" / "short-foaming.yaml"
SPEED = 500.0  # simulated seconds per wall second, plant and controller alike
RUN_TIMEOUT_S = 60.0  # wall seconds for one run of the short recipe (about 11 s unloaded)
FOAMING = kind_named("foaming")
DEFINITION, CONTROL = builtin_line("foaming")
MELT_PRESSURES = ("extruder.melt_pressure_bar", "melt_pump_1.outlet_pressure_bar",
                  "melt_pump_2.outlet_pressure_bar", "die.melt_pressure_bar")
MOTION = (("melt_pump_1", "speed_setpoint_rpm"), ("melt_pump_2", "speed_setpoint_rpm"),
          ("extruder", "screw_speed_setpoint_rpm"), ("co2_pump", "mass_flow_setpoint_g_min"),
          ("water_pump", "mass_flow_setpoint_g_min"))


def short_foaming() -> CompiledRecipe:
    return compile_for_line(SHORT_FOAMING.read_text(encoding="utf-8"), DEFINITION, CONTROL)


def served_foaming(recipe: CompiledRecipe, protocol: str, *,
                   watchdog_s: float = 3.0) -> tuple[ServedPlant, FoamingPlant]:
    """The foaming plant prepared for ``recipe`` (as ``sim serve --recipe`` does), served over
    one protocol only (an OPC UA server takes seconds to start and stop)."""
    plant = simulated_plant(FOAMING, DEFINITION, recipe, seed=0)
    assert isinstance(plant, FoamingPlant)
    served = ServedPlant(plant, DEFINITION, modbus_port=free_port(), opcua_port=free_port(),
                         modbus_devices=None if protocol == "modbus" else (),
                         opcua_devices=None if protocol == "opcua" else (),
                         speed=SPEED, step_s=0.02, watchdog_s=watchdog_s)
    return served, plant


def plant_file(tmp_path: Path, served: ServedPlant, protocol: str) -> Path:
    """A foaming plant file like deploy/plant-foaming-*.yaml, for the served plant's ports."""
    if protocol == "modbus":
        endpoint = (f"{{name: plc, transport: modbus, host: 127.0.0.1, port: {served.modbus_port}, "
                    "map_devices: line, devices: all}")
    else:
        endpoint = f"{{name: ua, transport: opcua, url: '{served.opcua_endpoint}', devices: all}}"
    path = tmp_path / f"plant-foaming-{protocol}.yaml"
    path.write_text(f"line: foaming\nendpoints:\n  - {endpoint}\n", encoding="utf-8")
    return path



def alarm_ids(engine: Engine) -> set[str]:
    return {str(a["alarm_id"]) for a in engine.status().alarms}


def engine_on(line_path: Path, clock: WallClock, recipe: CompiledRecipe) -> Engine:
    engine = build_line(recipe=recipe, plant_file=line_path, clock=clock, sample_period_s=60.0).engine
    engine.request("start")
    return engine


async def test_short_foaming_recipe_completes_over_opcua(tmp_path: Path) -> None:
    recipe = short_foaming()
    served, plant = served_foaming(recipe, "opcua")
    co2_seen_g_min = [0.0]
    hx_outlet_in_production_c: list[float] = []

    def watch(e: Engine) -> None:  # the served plant's own state, not the controller's image
        co2_seen_g_min[0] = max(co2_seen_g_min[0], plant.co2_g_min)
        if e.step is not None and e.step.name == "production":
            hx_outlet_in_production_c.append(plant.hx_out_c)

    async with served:
        engine = engine_on(plant_file(tmp_path, served, "opcua"), WallClock(SPEED), recipe)
        try:
            final = await asyncio.wait_for(engine.run(max_duration_s=4 * 3600.0, on_scan=watch),
                                           timeout=RUN_TIMEOUT_S)
        finally:
            await engine.line.close()
        assert final is UnitState.COMPLETE, (
            f"{final} in {engine.step.name if engine.step else None}, alarms {alarm_ids(engine)}")
        assert [e.outcome for e in engine.step_log] == ["complete"] * len(recipe.steps)
        assert [e.name for e in engine.step_log] == [s.name for s in recipe.steps]
        assert not alarm_ids(engine)
        assert not served.tripped  # the heartbeat kept the watchdog quiet
        # the plant really foamed: gas metered, melt cooled to the foaming temperature (285 degC)
        foaming_c = recipe.parameter_values()["foaming_temperature"]
        assert co2_seen_g_min[0] > 1.0
        assert hx_outlet_in_production_c
        assert all(abs(t - foaming_c) < 10.0 for t in hx_outlet_in_production_c)
        # and shut down: gas, pumps and screw stopped in the plant
        await wait_for(lambda: plant.n1_rpm < 0.5 and plant.n2_rpm < 0.5 and plant.screw_rpm < 0.5
                       and plant.co2_g_min < 0.1 and plant.water_g_min < 0.1, 5.0, "the plant to stop")


async def test_poreline_run_plant_completes_the_short_foaming_recipe_over_modbus(tmp_path: Path) -> None:
    """``poreline run RECIPE --plant FILE --speed X`` in its own process against the served plant."""
    recipe = short_foaming()
    served, plant = served_foaming(recipe, "modbus", watchdog_s=30.0)
    database = tmp_path / "controller.db"
    async with served:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controller.cli", "run", str(SHORT_FOAMING),
            "--plant", str(plant_file(tmp_path, served, "modbus")), "--speed", str(SPEED),
            "--database", f"sqlite:///{database}", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        assert proc.stdout is not None
        reader = asyncio.create_task(proc.stdout.read())  # drained all along: a full pipe would block it
        co2_seen_g_min = 0.0
        try:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while proc.returncode is None:  # watch the served plant while the controller runs it
                assert time.monotonic() < deadline, "poreline run did not finish"
                co2_seen_g_min = max(co2_seen_g_min, plant.co2_g_min)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=0.02)
                except TimeoutError:
                    pass
            output = " ".join((await asyncio.wait_for(reader, timeout=10.0)).decode().split())
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            reader.cancel()
        assert proc.returncode == 0, output[-2000:]
        assert served.trip_count == 0  # the controller's heartbeat kept the watchdog quiet
    assert "Foam produced" in output and "Complete" in output
    assert co2_seen_g_min > 1.0
    assert plant.n1_rpm < 0.5 and plant.n2_rpm < 0.5 and plant.screw_rpm < 0.5 and plant.co2_g_min < 0.1
    run_id = int(re.search(r"Batch record: run (\d+)", output).group(1))  # type: ignore[union-attr]
    record = load_batch_record(create_engine_for(f"sqlite:///{database}"), run_id)
    assert record.run.line_kind == "foaming" and record.run.final_state == "Complete"
    assert [(s.name, s.outcome) for s in record.steps] == [(s.name, "complete") for s in recipe.steps]


async def test_blocked_die_trips_melt_overpressure_over_the_wire(tmp_path: Path) -> None:
    recipe = short_foaming()
    # a long watchdog: whatever the plant ends with is the controller's doing, not the watchdog's
    served, plant = served_foaming(recipe, "modbus", watchdog_s=120.0)
    async with served:
        engine = engine_on(plant_file(tmp_path, served, "modbus"), WallClock(SPEED), recipe)
        read_peak_bar = [0.0]  # the highest melt pressure the controller read over Modbus

        def watch(e: Engine) -> None:
            read_peak_bar[0] = max(read_peak_bar[0], *(e.image.get(tag, 0.0) for tag in MELT_PRESSURES))

        task = asyncio.create_task(engine.run(max_duration_s=4 * 3600.0, on_scan=watch))
        try:
            await wait_for(lambda: task.done() or (engine.step is not None and engine.step.name == "production"),
                           RUN_TIMEOUT_S, "production")
            assert not task.done(), f"run ended before production: {engine.state}, alarms {alarm_ids(engine)}"
            assert plant.co2_g_min > 1.0 and plant.n2_rpm > 10.0  # foaming, with gas, at speed
            plant.faults.block_die()
            try:
                final = await asyncio.wait_for(asyncio.shield(task), timeout=15.0)
            except TimeoutError:
                pytest.fail(f"no trip 15 s after the die blocked: {engine.state}, alarms {alarm_ids(engine)}")
        finally:
            if not task.done():
                task.cancel()
            await engine.line.close()
        assert final is UnitState.ABORTED
        assert "MELT_OVERPRESSURE" in alarm_ids(engine)
        assert engine.step_log[-1].name == "production"  # tripped mid-production
        # the die really blocked: the scan that tripped read the pressure over the trip value
        # (the served plant's pressure is polled by no one here: under CI load a poller can
        # miss the short peak between the block and the trip)
        assert read_peak_bar[0] > MELT_OVERPRESSURE_TRIP_BAR
        # the served plant holds the safe values the controller wrote over Modbus ...
        for device, tag in MOTION:
            safe = DEFINITION.device(device).profile.tag(tag).safe_value
            assert plant.commands[device][tag] == safe, f"{device}.{tag}"
        # ... and the drives and the gas follow them
        await wait_for(lambda: plant.n1_rpm < 0.5 and plant.n2_rpm < 0.5 and plant.screw_rpm < 0.5
                       and plant.co2_g_min < 0.1 and plant.water_g_min < 0.1, 5.0,
                       "melt pumps, screw and gas to stop in the plant")
        assert not served.tripped


def test_simulated_plant_is_prepared_for_the_recipe() -> None:
    recipe = short_foaming()
    unprepared = simulated_plant(FOAMING, DEFINITION, None)
    assert isinstance(unprepared, FoamingPlant) and unprepared.polymer.name == "PSU"
    pes = dataclasses.replace(recipe, block=dataclasses.replace(foaming_block(recipe), polymer="PES"))
    plant = simulated_plant(FOAMING, DEFINITION, pes)
    assert isinstance(plant, FoamingPlant) and plant.polymer.name == "PES"
    FOAMING.prepare_plant(plant, recipe)  # the same plant, prepared for a PSU recipe
    assert plant.polymer.name == "PSU"
    casting, _ = builtin_line("casting")
    with pytest.raises(ValueError, match="foaming line"):
        simulated_plant(kind_named("casting"), casting, recipe)


def _foaming_node(identifier: str, port: int) -> Callable[[], Awaitable[object]]:
    async def read() -> object:
        client = Client(f"opc.tcp://127.0.0.1:{port}/poreline/", timeout=2)
        async with client:
            idx = await client.get_namespace_index(NAMESPACE_URI)
            return await client.get_node(f"ns={idx};s={identifier}").read_value()
    return read


async def test_sim_serve_line_foaming_serves_the_foaming_plant(tmp_path: Path) -> None:
    modbus_port, opcua_port = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller.cli", "sim", "serve", "--line", "foaming",
        "--modbus-port", str(modbus_port), "--opcua-port", str(opcua_port), "--speed", "50",
        "--recipe", str(SHORT_FOAMING), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        read = _foaming_node("heat_exchanger.TemperatureZones.TemperatureZone_001.SetValue", opcua_port)
        deadline = time.monotonic() + 30.0
        value: object = None
        while value is None:
            assert proc.returncode is None, "sim serve exited"
            assert time.monotonic() < deadline, "sim serve --line foaming did not serve the exchanger node"
            try:
                value = await asyncio.wait_for(read(), timeout=5.0)
            except (TimeoutError, OSError, ConnectionError):
                await asyncio.sleep(0.2)
        safe = DEFINITION.device("heat_exchanger").profile.tag("coolant_setpoint_c").safe_value
        assert value == pytest.approx(safe)
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=10.0)


def test_sim_serve_refuses_a_recipe_of_another_line_kind() -> None:
    result = CliRunner().invoke(app, ["sim", "serve", "--line", "foaming", "--modbus-port", str(free_port()),
                                      "--opcua-port", str(free_port()), "--recipe", str(SHORT_CASTING)])
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "is for a casting line, foaming-1 is a foaming line" in message
