"""The foaming line over Modbus/TCP on loopback, through ``drivers.line.Line`` against a served
FoamingPlant: writes are limit-checked before the wire, the plant sees what is set, readings
come back; a dead link is reported; the deploy/ plant files build lines of their kind."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hil_support import free_port
from paths import DEPLOY

from controller.assembly import simulated_plant
from controller.assembly.plant_file import build_hardware_line
from controller.lines import kind_named
from controller.lines.casting.definition import casting_line
from drivers.clock import WallClock
from drivers.line import Line
from drivers.profiles import TagLimitError
from drivers.transport import Quality, TransportError
from simulator.foaming.plant import FoamingPlant
from simulator.serve.runner import ServedPlant

SPEED = 200.0  # simulated seconds per wall second
DEPLOY = DEPLOY
DEFINITION = kind_named("foaming").definition()


@dataclass
class Rig:
    served: ServedPlant
    plant: FoamingPlant
    line: Line
    writes: list[tuple[str, dict[str, float]]]  # what went to the transport


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    plant = simulated_plant(kind_named("foaming"), DEFINITION)
    assert isinstance(plant, FoamingPlant)
    served = ServedPlant(plant, DEFINITION, modbus_port=free_port(), opcua_devices=(), speed=SPEED,
                         step_s=0.02, watchdog_s=60.0)
    async with served:
        path = tmp_path / "plant.yaml"
        path.write_text(f"line: foaming\nendpoints:\n  - {{name: plc, transport: modbus, port: {served.modbus_port}, "
                        "map_devices: line, devices: all}\n", encoding="utf-8")
        line = build_hardware_line(path, DEFINITION, WallClock(SPEED))
        transport = line._transports[0]
        writes: list[tuple[str, dict[str, float]]] = []
        real_write = transport.write

        async def spy(device: str, values: Mapping[str, float]) -> None:
            writes.append((device, dict(values)))
            await real_write(device, values)

        transport.write = spy  # type: ignore[method-assign]
        await line.connect()
        try:
            yield Rig(served, plant, line, writes)
        finally:
            await line.close()


async def eventually(predicate: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        await asyncio.sleep(0.01)


async def read(rig: Rig, device: str, tag: str) -> float:
    """One tag over the wire; TransportError when the device's reading is not good."""
    reading = (await rig.line.read_inputs())[device]
    if reading.quality is not Quality.GOOD:
        raise TransportError(f"{device}.{tag}: {reading.quality.value} ({reading.error})")
    return reading.values[tag]


async def read_eventually(rig: Rig, device: str, tag: str, check: Callable[[float], bool], what: str,
                          timeout_s: float = 5.0) -> float:
    """Poll a tag over the wire until ``check`` holds; returns the last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await read(rig, device, tag)
        if check(value):
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what} (last {value})"
        await asyncio.sleep(0.02)


async def test_metering_pump_out_of_limit_setpoint_is_refused_before_the_wire(rig: Rig) -> None:
    high = DEFINITION.tag("co2_pump.mass_flow_setpoint_g_min").high
    for values in ({"mass_flow_setpoint_g_min": high + 1.0}, {"mass_flow_setpoint_g_min": -0.5},
                   {"head_cooling_on": 0.5}):  # a bool takes 0 or 1
        with pytest.raises(TagLimitError):
            await rig.line.write("co2_pump", values)
    assert rig.writes == []  # nothing reached the transport
    assert rig.served.modbus_server is not None and rig.served.modbus_server.last_refusal == ""
    assert rig.plant.commands["co2_pump"]["mass_flow_setpoint_g_min"] == 0.0
    await rig.line.write("co2_pump", {"mass_flow_setpoint_g_min": 12.0})  # in limits: goes out, reaches the plant
    assert rig.writes == [("co2_pump", {"mass_flow_setpoint_g_min": 12.0})]
    await eventually(lambda: rig.plant.commands["co2_pump"]["mass_flow_setpoint_g_min"] == 12.0,
                     "the setpoint to reach the plant")
    await read_eventually(rig, "co2_pump", "mass_flow_g_min", lambda v: abs(v - 12.0) < 0.5, "the CO2 flow")


async def test_head_cooling_cools_the_pump_head_and_safe_values_go_out(rig: Rig) -> None:
    await rig.line.write("water_pump", {"head_cooling_on": 1.0})
    await eventually(lambda: rig.plant.commands["water_pump"]["head_cooling_on"] == 1.0, "head cooling on")
    await read_eventually(rig, "water_pump", "head_temperature_c", lambda v: v < 10.0, "the cooled pump head")
    await rig.line.to_safe()
    await eventually(lambda: rig.plant.commands["water_pump"] == {"mass_flow_setpoint_g_min": 0.0,
                                                                  "head_cooling_on": 0.0}, "safe values")


async def test_melt_pump_speed_is_seen_by_the_plant(rig: Rig) -> None:
    await rig.line.write("melt_pump_2", {"speed_setpoint_rpm": 12.5})
    await eventually(lambda: rig.plant.commands["melt_pump_2"]["speed_setpoint_rpm"] == 12.5, "the setpoint")
    assert rig.plant.commands["melt_pump_1"]["speed_setpoint_rpm"] == 0.0  # the other pump untouched
    await eventually(lambda: abs(rig.plant.n2_rpm - 12.5) < 0.2, "the drive to follow")
    speed = await read_eventually(rig, "melt_pump_2", "speed_rpm", lambda v: abs(v - 12.5) < 0.3, "the speed reading")
    assert await read(rig, "melt_pump_2", "running") == 1.0
    assert speed == pytest.approx(12.5, abs=0.3)
    assert isinstance(await read(rig, "melt_pump_2", "outlet_pressure_bar"), float)
    with pytest.raises(TagLimitError):
        await rig.line.write("melt_pump_2", {"speed_setpoint_rpm": 90.5})


async def test_extruder_zones_screw_and_readings(rig: Rig) -> None:
    zones = (1, 2, 3, 4)
    await rig.line.write("extruder", {"zone_2_setpoint_c": 335.0})
    await rig.line.write("extruder", {f"zone_{n}_setpoint_c": 340.0 for n in zones})
    assert rig.writes[-1] == ("extruder", {f"zone_{n}_setpoint_c": 340.0 for n in zones})
    with pytest.raises(TagLimitError):
        await rig.line.write("extruder", {f"zone_{n}_setpoint_c": 500.0 for n in zones})  # above the heater band
    assert len(rig.writes) == 2
    await eventually(lambda: all(rig.plant.commands["extruder"][f"zone_{n}_setpoint_c"] == 340.0 for n in zones),
                     "the zone setpoints")
    cold = [await read(rig, "extruder", f"zone_{n}_temperature_c") for n in zones]
    assert all(15.0 < t < 30.0 for t in cold)  # ambient
    await rig.line.write("extruder", {"zone_1_heater_output_pct": 100.0})
    await read_eventually(rig, "extruder", "zone_1_temperature_c", lambda v: v > cold[0] + 20.0, "zone 1 to heat up")
    warm = [await read(rig, "extruder", f"zone_{n}_temperature_c") for n in zones]
    assert warm[0] > warm[3] + 10.0  # only zone 1 heats
    await rig.line.write("extruder", {"screw_speed_setpoint_rpm": 20.0})
    await eventually(lambda: rig.plant.commands["extruder"]["screw_speed_setpoint_rpm"] == 20.0, "the screw setpoint")
    await read_eventually(rig, "extruder", "screw_speed_rpm", lambda v: abs(v - 20.0) < 0.5, "the screw speed")
    for tag in ("melt_pressure_bar", "melt_temperature_c", "motor_load_pct"):
        assert isinstance(await read(rig, "extruder", tag), float)


async def test_heat_exchanger_and_die(rig: Rig) -> None:
    await rig.line.write("heat_exchanger", {"coolant_pump_on": 1.0, "coolant_setpoint_c": 60.0})
    await read_eventually(rig, "heat_exchanger", "coolant_flow_l_min", lambda v: v > 10.0, "coolant flow")
    await read_eventually(rig, "heat_exchanger", "coolant_temperature_c", lambda v: v > 40.0, "the coolant to warm")
    for tag in ("melt_outlet_temperature_c", "pressure_drop_bar"):
        assert isinstance(await read(rig, "heat_exchanger", tag), float)
    with pytest.raises(TagLimitError):
        await rig.line.write("heat_exchanger", {"coolant_setpoint_c": 10.0})  # below the oil unit's 20 degC

    await rig.line.write("die", {"gap_setpoint_mm": 1.0})
    await read_eventually(rig, "die", "gap_mm", lambda v: abs(v - 1.0) < 0.01, "the die gap")
    await rig.line.write("die", {"zone_2_setpoint_c": 290.0})
    await eventually(lambda: rig.plant.commands["die"]["zone_2_setpoint_c"] == 290.0, "the die zone setpoint")
    with pytest.raises(TagLimitError):
        await rig.line.write("die", {"gap_setpoint_mm": 3.5})


async def test_reading_a_dead_link_reports_the_loss(rig: Rig) -> None:
    assert await read(rig, "melt_pump_1", "speed_rpm") == 0.0
    assert rig.served.modbus_server is not None
    await rig.served.modbus_server.stop()
    with pytest.raises(TransportError):
        await read(rig, "melt_pump_1", "speed_rpm")


async def test_the_deploy_plant_files_build_lines_of_their_kind() -> None:
    foaming = build_hardware_line(DEPLOY / "plant-foaming-modbus.yaml", DEFINITION, WallClock())
    casting = build_hardware_line(DEPLOY / "plant-modbus.yaml", casting_line(), WallClock())
    try:  # not connected: only the definitions are read
        assert [d.name for d in foaming.definition.devices] == [d.name for d in DEFINITION.devices]
        assert {d.profile.kind for d in casting.definition.devices} == {
            "dope_vessel", "dope_pump", "casting_knife", "support_belt", "quench_bath", "wash_bath", "dryer"}
    finally:
        await foaming.close()
        await casting.close()
