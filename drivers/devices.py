"""Typed async device classes over the profiles (the ophyd-async pattern).

A device class is a typed view of its profile: each annotated ``SignalR`` / ``SignalRW``
attribute must name a tag of the profile (checked when the class is defined), so the
profile stays the single source of truth. Writes go through ``Line.write`` and so are
limit-checked before they reach a transport.
"""

from __future__ import annotations

from typing import ClassVar, get_type_hints

from drivers import casting_profiles as cp
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

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        for attribute, kind in _signal_annotations(cls).items():
            tag = cls.profile.tag(attribute)  # raises: the class names a tag the profile lacks
            if (kind is SignalRW) != tag.writable:
                raise TypeError(f"{cls.__name__}.{attribute}: {kind.__name__} does not fit a "
                                f"{tag.direction.value} tag")

    def __init__(self, name: str, line: Line) -> None:
        spec = line.definition.device(name)
        if spec.profile.kind != self.profile.kind:
            raise TypeError(f"{name} is a {spec.profile.kind}, not a {self.profile.kind}")
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
