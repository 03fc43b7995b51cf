"""Typed foaming device classes (drivers.devices) against a served FoamingPlant over Modbus/TCP
on loopback: writes are limit-checked before the wire, the plant sees what is set, readings
come back typed; the kind lookup covers both lines."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from controller.assembly.plant_file import build_hardware_line
from controller.assembly import build_plant
from drivers import devices as dv
from controller.lines.foaming import profiles as fp
from drivers.clock import WallClock
from drivers.line import Line
from controller.lines.casting.definition import casting_line
from controller.lines.foaming.definition import foaming_line
from drivers.profiles import TagLimitError
from drivers.transport import TransportError
from simulator.foaming.plant import FoamingPlant
from hil_support import free_port
from simulator.serve.runner import ServedPlant
from paths import DEPLOY

SPEED = 200.0  # simulated seconds per wall second
DEPLOY = DEPLOY
DEFINITION = foaming_line()


@dataclass
class Rig:
    served: ServedPlant
    plant: FoamingPlant
    line: Line
    writes: list[tuple[str, dict[str, float]]]  # what went to the transport


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    plant = build_plant(DEFINITION)
    assert isinstance(plant, FoamingPlant)
    served = ServedPlant(plant, DEFINITION, modbus_port=free_port(), opcua_devices=(), speed=SPEED,
                         step_s=0.02, watchdog_s=60.0)
    async with served:
        path = tmp_path / "plant.yaml"
        path.write_text(f"line: foaming\nendpoints:\n  - {{name: plc, transport: modbus, port: {served.modbus_port}, "
                        "map_devices: line, devices: all}\n", encoding="utf-8")
        line = build_hardware_line(path, DEFINITION, WallClock(SPEED))
        transport = line._transports[0]  # noqa: SLF001 - spy on what reaches the wire
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


async def signal_eventually(get: Callable[[], object], check: Callable[[float], bool], what: str,
                            timeout_s: float = 5.0) -> float:
    """Poll a typed signal over the wire until ``check`` holds; returns the last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await get()  # type: ignore[misc]
        if check(value):
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what} (last {value})"
        await asyncio.sleep(0.02)


async def test_metering_pump_out_of_limit_setpoint_is_refused_before_the_wire(rig: Rig) -> None:
    co2 = dv.MeteringPump("co2_pump", rig.line)
    high = co2.profile.tag("mass_flow_setpoint_g_min").high
    with pytest.raises(TagLimitError):
        await co2.mass_flow_setpoint_g_min.set(high + 1.0)
    with pytest.raises(TagLimitError):
        await co2.mass_flow_setpoint_g_min.set(-0.5)
    with pytest.raises(TagLimitError):
        await co2.head_cooling_on.set(0.5)  # a bool takes 0 or 1
    assert rig.writes == []  # nothing reached the transport
    assert rig.served.modbus_server is not None and rig.served.modbus_server.last_refusal == ""
    assert rig.plant.commands["co2_pump"]["mass_flow_setpoint_g_min"] == 0.0
    await co2.mass_flow_setpoint_g_min.set(12.0)  # in limits: goes out and reaches the plant
    assert rig.writes == [("co2_pump", {"mass_flow_setpoint_g_min": 12.0})]
    await eventually(lambda: rig.plant.commands["co2_pump"]["mass_flow_setpoint_g_min"] == 12.0,
                     "the setpoint to reach the plant")
    await signal_eventually(co2.mass_flow_g_min.get, lambda v: abs(v - 12.0) < 0.5, "the CO2 flow")


async def test_metering_pumps_of_both_kinds_and_head_cooling(rig: Rig) -> None:
    water = dv.MeteringPump("water_pump", rig.line)
    assert water.profile.kind == fp.WATER_PUMP.kind
    await water.set_head_cooling(True)
    await eventually(lambda: rig.plant.commands["water_pump"]["head_cooling_on"] == 1.0, "head cooling on")
    await signal_eventually(water.head_temperature_c.get, lambda v: v < 10.0, "the cooled pump head")
    await water.to_safe()
    await eventually(lambda: rig.plant.commands["water_pump"] == {"mass_flow_setpoint_g_min": 0.0,
                                                                  "head_cooling_on": 0.0}, "safe values")


async def test_melt_pump_speed_is_seen_by_the_plant(rig: Rig) -> None:
    pump = dv.MeltPump("melt_pump_2", rig.line)
    await pump.speed_setpoint_rpm.set(12.5)
    await eventually(lambda: rig.plant.commands["melt_pump_2"]["speed_setpoint_rpm"] == 12.5, "the setpoint")
    assert rig.plant.commands["melt_pump_1"]["speed_setpoint_rpm"] == 0.0  # the other pump untouched
    await eventually(lambda: abs(rig.plant.n2_rpm - 12.5) < 0.2, "the drive to follow")
    speed = await signal_eventually(pump.speed_rpm.get, lambda v: abs(v - 12.5) < 0.3, "the speed reading")
    assert await pump.running.get() == 1.0
    assert speed == pytest.approx(12.5, abs=0.3)
    assert isinstance(await pump.outlet_pressure_bar.get(), float)
    with pytest.raises(TagLimitError):
        await pump.speed_setpoint_rpm.set(90.5)


async def test_extruder_zones_screw_and_readings(rig: Rig) -> None:
    extruder = dv.Extruder("extruder", rig.line)
    assert [z.number for z in extruder.zones] == [1, 2, 3, 4]
    with pytest.raises(IndexError):
        extruder.zone(5)
    await extruder.set_zone_setpoint(2, 335.0)
    await extruder.set_zone_setpoints(340.0)
    assert rig.writes[-1] == ("extruder", {f"zone_{n}_setpoint_c": 340.0 for n in (1, 2, 3, 4)})
    with pytest.raises(TagLimitError):
        await extruder.set_zone_setpoints(500.0)  # above the heater-band limit: nothing sent
    assert len(rig.writes) == 2
    await eventually(lambda: all(rig.plant.commands["extruder"][f"zone_{n}_setpoint_c"] == 340.0
                                 for n in (1, 2, 3, 4)), "the zone setpoints")
    cold = await extruder.zone_temperatures_c()
    assert len(cold) == 4 and all(15.0 < t < 30.0 for t in cold)  # ambient
    await extruder.zone(1).heater_output_pct.set(100.0)
    await signal_eventually(extruder.zone(1).temperature_c.get, lambda v: v > cold[0] + 20.0,
                            "zone 1 to heat up")
    warm = await extruder.zone_temperatures_c()
    assert warm[0] > warm[3] + 10.0  # only zone 1 heats
    await extruder.screw_speed_setpoint_rpm.set(20.0)
    await eventually(lambda: rig.plant.commands["extruder"]["screw_speed_setpoint_rpm"] == 20.0, "the screw setpoint")
    await signal_eventually(extruder.screw_speed_rpm.get, lambda v: abs(v - 20.0) < 0.5, "the screw speed")
    assert isinstance(await extruder.melt_pressure_bar.get(), float)
    assert isinstance(await extruder.melt_temperature_c.get(), float)
    assert isinstance(await extruder.motor_load_pct.get(), float)


async def test_heat_exchanger_and_die(rig: Rig) -> None:
    hx = dv.MeltHeatExchanger("heat_exchanger", rig.line)
    await hx.set_coolant_pump(True)
    await hx.coolant_setpoint_c.set(60.0)
    await signal_eventually(hx.coolant_flow_l_min.get, lambda v: v > 10.0, "coolant flow")
    await signal_eventually(hx.coolant_temperature_c.get, lambda v: v > 40.0, "the coolant to warm")
    assert isinstance(await hx.melt_outlet_temperature_c.get(), float)
    assert isinstance(await hx.pressure_drop_bar.get(), float)
    with pytest.raises(TagLimitError):
        await hx.coolant_setpoint_c.set(10.0)  # below the oil unit's 20 degC

    die = dv.SlitDie("die", rig.line)
    assert [z.number for z in die.zones] == [1, 2]
    await die.gap_setpoint_mm.set(1.0)
    await signal_eventually(die.gap_mm.get, lambda v: abs(v - 1.0) < 0.01, "the die gap")
    await die.set_zone_setpoint(2, 290.0)
    await eventually(lambda: rig.plant.commands["die"]["zone_2_setpoint_c"] == 290.0, "the die zone setpoint")
    with pytest.raises(TagLimitError):
        await die.gap_setpoint_mm.set(3.5)


async def test_reading_a_dead_link_raises(rig: Rig) -> None:
    pump = dv.MeltPump("melt_pump_1", rig.line)
    assert await pump.speed_rpm.get() == 0.0
    assert rig.served.modbus_server is not None
    await rig.served.modbus_server.stop()
    with pytest.raises(TransportError):
        await pump.speed_rpm.get()


async def test_lookup_by_kind_gives_the_typed_view_of_each_line() -> None:
    foaming = build_hardware_line(DEPLOY / "plant-foaming-modbus.yaml", DEFINITION, WallClock())
    casting = build_hardware_line(DEPLOY / "plant-modbus.yaml", casting_line(), WallClock())
    try:  # not connected: the classes only read the definition
        typed = dv.devices(foaming)
        assert {name: type(d) for name, d in typed.items()} == {
            "extruder": dv.Extruder, "co2_pump": dv.MeteringPump, "water_pump": dv.MeteringPump,
            "melt_pump_1": dv.MeltPump, "heat_exchanger": dv.MeltHeatExchanger, "melt_pump_2": dv.MeltPump,
            "die": dv.SlitDie}
        assert list(typed) == [d.name for d in DEFINITION.devices]
        assert {type(d) for d in dv.devices(casting).values()} == {
            dv.DopeVessel, dv.DopePump, dv.CastingKnife, dv.SupportBelt, dv.QuenchBath, dv.WashBath, dv.Dryer}
        assert isinstance(dv.device(foaming, "water_pump"), dv.MeteringPump)
        with pytest.raises(TypeError, match="extruder is a extruder, not a melt_pump"):
            dv.MeltPump("extruder", foaming)
        with pytest.raises(KeyError, match="no device class for kind"):
            dv.device_class("spinneret")
    finally:
        await foaming.close()
        await casting.close()


def test_a_class_must_fit_its_profile() -> None:
    with pytest.raises(KeyError):
        class _Bad(dv.Device):  # noqa: F841 - defining it is the test
            profile = fp.MELT_PUMP
            torque_n_m: dv.SignalR
    with pytest.raises(TypeError, match="SignalR does not fit a setpoint tag"):
        class _ReadOnly(dv.Device):  # noqa: F841
            profile = fp.MELT_PUMP
            speed_setpoint_rpm: dv.SignalR
