"""Typed async device classes over the profiles (the ophyd-async pattern).

A device class is a typed view of its profile: each annotated ``SignalR`` / ``SignalRW``
attribute must name a tag of the profile (checked when the class is defined), so the
profile stays the single source of truth. Writes go through ``Line.write`` and so are
limit-checked before they reach a transport.

:data:`DEVICE_CLASSES` maps a profile kind to its class; :func:`device` and
:func:`devices` give the typed view of a line's devices by name (casting and foaming).
Zoned devices (extruder, slit die) carry one :class:`TemperatureZone` per zone of the
instance's profile.
"""

from __future__ import annotations

import re
from typing import ClassVar, get_type_hints

from controller.lines.casting import profiles as cp
from controller.lines.foaming import profiles as fp
from drivers.line import Line
from drivers.profiles import DeviceProfile, Tag
from drivers.transport import DeviceReading, Quality, TransportError


class SignalR:
    def __init__(self, device: Device, tag: Tag) -> None:
        self.device = device
        self.tag = tag

    async def get(self) -> float:
        reading = await self.device.read()
        if reading.quality is not Quality.GOOD:
            raise TransportError(f"{self.device.name}.{self.tag.name}: {reading.quality.value} "
                                 f"({reading.error})")
        return reading.values[self.tag.name]


class SignalRW(SignalR):
    async def set(self, value: float) -> None:
        await self.device.line.write(self.device.name, {self.tag.name: value})


class Device:
    profile: ClassVar[DeviceProfile]
    kinds: ClassVar[tuple[str, ...]]  # profile kinds the class fits; default: its profile's

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if getattr(cls, "profile", None) is None:  # an abstract base (ZonedDevice): no profile yet
            return
        if "kinds" not in cls.__dict__:
            cls.kinds = (cls.profile.kind,)
        for attribute, kind in _signal_annotations(cls).items():
            tag = cls.profile.tag(attribute)  # raises: the class names a tag the profile lacks
            if (kind is SignalRW) != tag.writable:
                raise TypeError(f"{cls.__name__}.{attribute}: {kind.__name__} does not fit a "
                                f"{tag.direction.value} tag")

    def __init__(self, name: str, line: Line) -> None:
        spec = line.definition.device(name)
        if spec.profile.kind not in self.kinds:
            raise TypeError(f"{name} is a {spec.profile.kind}, not a {' or '.join(self.kinds)}")
        self.name = name
        self.line = line
        self.profile = spec.profile  # the instance's own (e.g. a 2-slot knife)
        for attribute, kind in _signal_annotations(type(self)).items():
            setattr(self, attribute, kind(self, self.profile.tag(attribute)))

    async def read(self) -> DeviceReading:
        readings = await self.line.read_inputs()
        return readings[self.name]

    async def to_safe(self) -> None:
        await self.line.write(self.name, self.profile.safe_values())


def _signal_annotations(cls: type) -> dict[str, type[SignalR]]:
    hints = get_type_hints(cls)
    return {k: v for k, v in hints.items() if v in (SignalR, SignalRW)}


class DopeVessel(Device):
    profile = cp.DOPE_VESSEL
    temperature_c: SignalR
    jacket_output_pct: SignalRW
    agitator_speed_setpoint_rpm: SignalRW
    agitator_speed_rpm: SignalR
    absorbance: SignalR
    dosing_flow_setpoint_ml_min: SignalRW
    dosed_total_ml: SignalR


class DopePump(Device):
    profile = cp.DOPE_PUMP
    speed_setpoint_rpm: SignalRW
    speed_rpm: SignalR
    discharge_pressure_bar: SignalR
    flow_ml_min: SignalR


class CastingKnife(Device):
    profile = cp.casting_knife_profile(1)  # slot-1 signals; the instance profile may have more
    gap_1_setpoint_um: SignalRW
    gap_1_um: SignalR
    wet_thickness_um: SignalR


class SupportBelt(Device):
    profile = cp.SUPPORT_BELT
    line_speed_setpoint_m_min: SignalRW
    line_speed_m_min: SignalR
    length_m: SignalR


class QuenchBath(Device):
    profile = cp.QUENCH_BATH
    temperature_c: SignalR
    heater_output_pct: SignalRW
    heater_fault: SignalR
    dmf_fraction_wt_pct: SignalR
    makeup_water_flow_setpoint_l_min: SignalRW


class WashBath(Device):
    profile = cp.WASH_BATH
    temperature_c: SignalR
    heater_output_pct: SignalRW
    water_flow_setpoint_l_min: SignalRW


class Dryer(Device):
    profile = cp.DRYER
    air_temperature_c: SignalR
    heater_output_pct: SignalRW
    fan_on: SignalRW
    moisture_out_pct: SignalR


# ---------------------------------------------------------------------- foaming line (seed 001)

_ZONE = re.compile(r"zone_(\d+)_heater_output_pct")


class TemperatureZone:
    """One heated zone of a barrel or die: setpoint, actual temperature, heater output."""

    def __init__(self, device: Device, number: int) -> None:
        self.number = number
        self.setpoint_c = SignalRW(device, device.profile.tag(f"zone_{number}_setpoint_c"))
        self.temperature_c = SignalR(device, device.profile.tag(f"zone_{number}_temperature_c"))
        self.heater_output_pct = SignalRW(device, device.profile.tag(f"zone_{number}_heater_output_pct"))


class ZonedDevice(Device):
    """A device with ``zone_<n>_...`` temperature zones; as many zones as the instance's profile
    has (``zones[0]`` is zone 1)."""

    zones: tuple[TemperatureZone, ...]

    def __init__(self, name: str, line: Line) -> None:
        super().__init__(name, line)
        numbers = sorted(int(m.group(1)) for t in self.profile.tags if (m := _ZONE.fullmatch(t.name)))
        self.zones = tuple(TemperatureZone(self, n) for n in numbers)

    def zone(self, number: int) -> TemperatureZone:
        """Zone ``number`` (1-based)."""
        for zone in self.zones:
            if zone.number == number:
                return zone
        raise IndexError(f"{self.name} has zones 1-{len(self.zones)}, not {number}")

    async def set_zone_setpoint(self, number: int, setpoint_c: float) -> None:
        await self.zone(number).setpoint_c.set(setpoint_c)

    async def set_zone_setpoints(self, setpoint_c: float) -> None:
        """Every zone to the same setpoint, in one write (all checked before any is sent)."""
        await self.line.write(self.name, {z.setpoint_c.tag.name: setpoint_c for z in self.zones})

    async def zone_temperatures_c(self) -> list[float]:
        """Every zone's temperature from one reading, zone 1 first."""
        reading = await self.read()
        if reading.quality is not Quality.GOOD:
            raise TransportError(f"{self.name}: {reading.quality.value} ({reading.error})")
        return [reading.values[z.temperature_c.tag.name] for z in self.zones]


class Extruder(ZonedDevice):
    profile = fp.extruder_profile(1)  # zone-1 signals; the instance profile has its zones
    screw_speed_setpoint_rpm: SignalRW
    screw_speed_rpm: SignalR
    motor_load_pct: SignalR
    melt_pressure_bar: SignalR
    melt_temperature_c: SignalR
    running: SignalR


class MeteringPump(Device):
    """The CO2 or the water metering pump (same tags, two kinds)."""

    profile = fp.CO2_PUMP
    kinds = (fp.CO2_PUMP.kind, fp.WATER_PUMP.kind)
    mass_flow_setpoint_g_min: SignalRW
    mass_flow_g_min: SignalR
    discharge_pressure_bar: SignalR
    head_temperature_c: SignalR
    head_cooling_on: SignalRW
    running: SignalR

    async def set_head_cooling(self, on: bool) -> None:
        await self.head_cooling_on.set(1.0 if on else 0.0)


class MeltPump(Device):
    profile = fp.MELT_PUMP
    speed_setpoint_rpm: SignalRW
    speed_rpm: SignalR
    inlet_pressure_bar: SignalR
    outlet_pressure_bar: SignalR
    running: SignalR


class MeltHeatExchanger(Device):
    profile = fp.HEAT_EXCHANGER
    coolant_setpoint_c: SignalRW
    coolant_temperature_c: SignalR
    coolant_pump_on: SignalRW
    coolant_flow_l_min: SignalR
    melt_inlet_temperature_c: SignalR
    melt_outlet_temperature_c: SignalR
    pressure_drop_bar: SignalR

    async def set_coolant_pump(self, on: bool) -> None:
        await self.coolant_pump_on.set(1.0 if on else 0.0)


class SlitDie(ZonedDevice):
    profile = fp.die_profile(1)  # zone-1 signals; the instance profile has its zones
    melt_pressure_bar: SignalR
    melt_temperature_c: SignalR
    gap_setpoint_mm: SignalRW
    gap_mm: SignalR


# ---------------------------------------------------------------------- lookup by kind

DEVICE_CLASSES: dict[str, type[Device]] = {
    kind: cls
    for cls in (DopeVessel, DopePump, CastingKnife, SupportBelt, QuenchBath, WashBath, Dryer,
                Extruder, MeteringPump, MeltPump, MeltHeatExchanger, SlitDie)
    for kind in cls.kinds
}


def device_class(kind: str) -> type[Device]:
    """The typed class of a profile kind."""
    try:
        return DEVICE_CLASSES[kind]
    except KeyError:
        raise KeyError(f"no device class for kind {kind!r} (known: {', '.join(sorted(DEVICE_CLASSES))})") from None


def device(line: Line, name: str) -> Device:
    """The typed view of one device of the line, by its name."""
    return device_class(line.definition.device(name).profile.kind)(name, line)


def devices(line: Line) -> dict[str, Device]:
    """The typed view of every device of the line, by name, in the line's order."""
    return {spec.name: device(line, spec.name) for spec in line.definition.devices}
