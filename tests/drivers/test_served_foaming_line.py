"""The foaming line through ``drivers.line.Line`` against the served foaming plant over
Modbus/TCP on loopback: a write outside a tag's limits is refused before it reaches the
transport, what is written reaches the plant and its measurements follow, readings come back
per device with their quality, a dead link is reported as such, and the plant files in
deploy/ build lines of the right kind. Every wait is bounded; only 127.0.0.1 is used."""

from __future__ import annotations

import asyncio
import re
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
from drivers.clock import WallClock
from drivers.line import Line
from drivers.profiles import TagLimitError
from drivers.transport import Quality
from simulator.foaming.plant import FoamingPlant
from simulator.serve.runner import ServedPlant

SPEED = 200.0  # simulated seconds per wall second
FOAMING = kind_named("foaming")
DEFINITION = FOAMING.definition()

Values = dict[str, float]


@dataclass
class Rig:
    served: ServedPlant
    plant: FoamingPlant
    line: Line
    writes: list[tuple[str, Values]]  # what reached the transport, in order


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    plant = simulated_plant(FOAMING, DEFINITION)
    assert isinstance(plant, FoamingPlant)
    served = ServedPlant(plant, DEFINITION, modbus_port=free_port(), opcua_devices=(), speed=SPEED,
                         step_s=0.02, watchdog_s=60.0)
    async with served:
        path = tmp_path / "plant.yaml"
        path.write_text(f"line: foaming\nendpoints:\n  - {{name: plc, transport: modbus, port: {served.modbus_port}, "
                        "map_devices: line, devices: all}\n", encoding="utf-8")
        line = build_hardware_line(path, DEFINITION, WallClock(SPEED))
        transport = line._transports[0]  # spy on what reaches the wire
        writes: list[tuple[str, Values]] = []
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


async def read_good(line: Line, device: str) -> Mapping[str, float]:
    """One reading of ``device`` over the wire; it must be GOOD."""
    reading = (await line.read_inputs())[device]
    assert reading.quality is Quality.GOOD, f"{device}: {reading.quality.value} ({reading.error})"
    return reading.values


async def reading_eventually(line: Line, device: str, check: Callable[[Mapping[str, float]], bool],
                             what: str, timeout_s: float = 5.0) -> Mapping[str, float]:
    """Read ``device`` over the wire until ``check`` holds on its values; returns them."""
    deadline = time.monotonic() + timeout_s
    while True:
        values = await read_good(line, device)
        if check(values):
            return values
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what} (last {values})"
        await asyncio.sleep(0.02)


def zone_numbers(values: Mapping[str, float]) -> list[int]:
    return sorted(int(m.group(1)) for name in values if (m := re.fullmatch(r"zone_(\d+)_temperature_c", name)))


async def test_an_out_of_limit_setpoint_never_reaches_the_wire_an_in_limit_one_reaches_the_plant(rig: Rig) -> None:
    high = DEFINITION.device("co2_pump").profile.tag("mass_flow_setpoint_g_min").high
    with pytest.raises(TagLimitError):
        await rig.line.write("co2_pump", {"mass_flow_setpoint_g_min": high + 1.0})
    with pytest.raises(TagLimitError):
        await rig.line.write("co2_pump", {"mass_flow_setpoint_g_min": -0.5})
    with pytest.raises(TagLimitError):
        await rig.line.write("co2_pump", {"head_cooling_on": 0.5})  # a bool takes 0 or 1
    assert rig.writes == []  # nothing reached the transport
    assert rig.served.modbus_server is not None and rig.served.modbus_server.last_refusal == ""
    assert rig.plant.commands["co2_pump"]["mass_flow_setpoint_g_min"] == 0.0

    await rig.line.write("co2_pump", {"mass_flow_setpoint_g_min": 12.0})  # in limits: goes out
    assert rig.writes == [("co2_pump", {"mass_flow_setpoint_g_min": 12.0})]
    await eventually(lambda: rig.plant.commands["co2_pump"]["mass_flow_setpoint_g_min"] == 12.0,
                     "the setpoint to reach the plant")
    await reading_eventually(rig.line, "co2_pump", lambda v: abs(v["mass_flow_g_min"] - 12.0) < 0.5,
                             "the CO2 flow")


async def test_head_cooling_cools_the_water_pump_head_and_to_safe_writes_the_safe_values(rig: Rig) -> None:
    await rig.line.write("water_pump", {"head_cooling_on": 1.0})
    await eventually(lambda: rig.plant.commands["water_pump"]["head_cooling_on"] == 1.0, "head cooling on")
    await reading_eventually(rig.line, "water_pump", lambda v: v["head_temperature_c"] < 10.0,
                             "the cooled pump head")

    del rig.writes[:]
    await rig.line.to_safe()
    assert ("water_pump", {"mass_flow_setpoint_g_min": 0.0, "head_cooling_on": 0.0}) in rig.writes
    assert dict(rig.writes) == {d.name: d.profile.safe_values() for d in DEFINITION.devices
                                if d.profile.safe_values()}  # every device's outputs, nothing else
    await eventually(lambda: rig.plant.commands["water_pump"] == {"mass_flow_setpoint_g_min": 0.0,
                                                                  "head_cooling_on": 0.0}, "safe values")


async def test_melt_pump_speed_is_seen_by_the_plant(rig: Rig) -> None:
    await rig.line.write("melt_pump_2", {"speed_setpoint_rpm": 12.5})
    await eventually(lambda: rig.plant.commands["melt_pump_2"]["speed_setpoint_rpm"] == 12.5, "the setpoint")
    assert rig.plant.commands["melt_pump_1"]["speed_setpoint_rpm"] == 0.0  # the other pump untouched
    await eventually(lambda: abs(rig.plant.n2_rpm - 12.5) < 0.2, "the drive to follow")
    values = await reading_eventually(rig.line, "melt_pump_2", lambda v: abs(v["speed_rpm"] - 12.5) < 0.3,
                                      "the speed reading")
    assert values["speed_rpm"] == pytest.approx(12.5, abs=0.3)
    assert values["running"] == 1.0
    assert isinstance(values["outlet_pressure_bar"], float)
    writes_before = list(rig.writes)
    with pytest.raises(TagLimitError):
        await rig.line.write("melt_pump_2", {"speed_setpoint_rpm": 90.5})
    assert rig.writes == writes_before


async def test_extruder_zones_screw_and_readings(rig: Rig) -> None:
    cold_values = await read_good(rig.line, "extruder")
    assert zone_numbers(cold_values) == [1, 2, 3, 4]  # the served extruder has four zones

    await rig.line.write("extruder", {"zone_2_setpoint_c": 335.0})
    await rig.line.write("extruder", {f"zone_{n}_setpoint_c": 340.0 for n in (1, 2, 3, 4)})
    assert rig.writes == [("extruder", {"zone_2_setpoint_c": 335.0}),
                          ("extruder", {f"zone_{n}_setpoint_c": 340.0 for n in (1, 2, 3, 4)})]
    with pytest.raises(TagLimitError):  # above the heater-band limit: none of the four is sent
        await rig.line.write("extruder", {f"zone_{n}_setpoint_c": 500.0 for n in (1, 2, 3, 4)})
    assert len(rig.writes) == 2
    await eventually(lambda: all(rig.plant.commands["extruder"][f"zone_{n}_setpoint_c"] == 340.0
                                 for n in (1, 2, 3, 4)), "the zone setpoints")

    cold = [cold_values[f"zone_{n}_temperature_c"] for n in (1, 2, 3, 4)]
    assert all(15.0 < t < 30.0 for t in cold)  # ambient
    await rig.line.write("extruder", {"zone_1_heater_output_pct": 100.0})
    warm_values = await reading_eventually(rig.line, "extruder",
                                           lambda v: v["zone_1_temperature_c"] > cold[0] + 20.0,
                                           "zone 1 to heat up")
    assert warm_values["zone_1_temperature_c"] > warm_values["zone_4_temperature_c"] + 10.0  # only zone 1 heats

    await rig.line.write("extruder", {"screw_speed_setpoint_rpm": 20.0})
    await eventually(lambda: rig.plant.commands["extruder"]["screw_speed_setpoint_rpm"] == 20.0,
                     "the screw setpoint")
    values = await reading_eventually(rig.line, "extruder", lambda v: abs(v["screw_speed_rpm"] - 20.0) < 0.5,
                                      "the screw speed")
    for tag in ("melt_pressure_bar", "melt_temperature_c", "motor_load_pct"):
        assert isinstance(values[tag], float), tag


async def test_heat_exchanger_and_die(rig: Rig) -> None:
    await rig.line.write("heat_exchanger", {"coolant_pump_on": 1.0})
    await rig.line.write("heat_exchanger", {"coolant_setpoint_c": 60.0})
    await reading_eventually(rig.line, "heat_exchanger", lambda v: v["coolant_flow_l_min"] > 10.0, "coolant flow")
    values = await reading_eventually(rig.line, "heat_exchanger", lambda v: v["coolant_temperature_c"] > 40.0,
                                      "the coolant to warm")
    assert isinstance(values["melt_outlet_temperature_c"], float)
    assert isinstance(values["pressure_drop_bar"], float)
    writes_before = list(rig.writes)
    with pytest.raises(TagLimitError):
        await rig.line.write("heat_exchanger", {"coolant_setpoint_c": 10.0})  # below the oil unit's 20 degC
    assert rig.writes == writes_before

    assert zone_numbers(await read_good(rig.line, "die")) == [1, 2]  # the served die has two zones
    await rig.line.write("die", {"gap_setpoint_mm": 1.0})
    await reading_eventually(rig.line, "die", lambda v: abs(v["gap_mm"] - 1.0) < 0.01, "the die gap")
    await rig.line.write("die", {"zone_2_setpoint_c": 290.0})
    await eventually(lambda: rig.plant.commands["die"]["zone_2_setpoint_c"] == 290.0, "the die zone setpoint")
    writes_before = list(rig.writes)
    with pytest.raises(TagLimitError):
        await rig.line.write("die", {"gap_setpoint_mm": 3.5})
    assert rig.writes == writes_before


async def test_reading_a_dead_link_reports_the_loss(rig: Rig) -> None:
    assert (await read_good(rig.line, "melt_pump_1"))["speed_rpm"] == 0.0
    assert rig.served.modbus_server is not None
    await rig.served.modbus_server.stop()
    readings = await rig.line.read_inputs()
    assert set(readings) == {d.name for d in DEFINITION.devices}
    for name, reading in readings.items():
        assert reading.quality is not Quality.GOOD, name
        assert reading.error, name  # says why
    assert readings["melt_pump_1"].quality is Quality.STALE  # the last good values are kept
    assert readings["melt_pump_1"].values["speed_rpm"] == 0.0


async def test_the_plant_files_in_deploy_build_lines_of_the_right_kind() -> None:
    casting_definition = kind_named("casting").definition()
    foaming = build_hardware_line(DEPLOY / "plant-foaming-modbus.yaml", DEFINITION, WallClock())
    casting = build_hardware_line(DEPLOY / "plant-modbus.yaml", casting_definition, WallClock())
    try:  # not connected: only the definition and the transports' device lists are read
        assert foaming.definition.kind == "foaming"
        assert {d.name: d.profile.kind for d in foaming.definition.devices} == {
            "extruder": "extruder", "co2_pump": "co2_metering_pump", "water_pump": "water_metering_pump",
            "melt_pump_1": "melt_pump", "heat_exchanger": "melt_heat_exchanger", "melt_pump_2": "melt_pump",
            "die": "slit_die"}
        served = [d for t in foaming._transports for d in t.devices]  # the transports the file built
        assert served == [d.name for d in DEFINITION.devices]  # every device, in the line's order
        assert casting.definition.kind == "casting"
        assert {d.profile.kind for d in casting.definition.devices} == {
            "dope_vessel", "dope_pump", "casting_knife", "support_belt", "quench_bath", "wash_bath", "dryer"}
    finally:
        await foaming.close()
        await casting.close()
