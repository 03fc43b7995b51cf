"""Line definitions: which devices a line has, their names and equipment data.

Equipment data (pump displacement, knife width, bath volume, heater power) is what a
plant engineer reads off the data sheets. The controller uses it to validate recipes
(flow a pump can deliver, knife width for the mass balance) and the simulator uses it
to size its models, so it is declared here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drivers import casting_profiles as cp
from drivers.profiles import DeviceProfile, Tag


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    name: str
    profile: DeviceProfile
    equipment: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "equipment", MappingProxyType(dict(self.equipment)))


@dataclass(frozen=True, slots=True)
class LineDefinition:
    kind: str  # "casting" or "foaming"
    name: str
    devices: tuple[DeviceSpec, ...]
    _by_name: dict[str, DeviceSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, DeviceSpec] = {}
        for spec in self.devices:
            if spec.name in by_name:
                raise ValueError(f"line {self.name}: duplicate device {spec.name}")
            by_name[spec.name] = spec
        object.__setattr__(self, "_by_name", by_name)

    def device(self, name: str) -> DeviceSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"line {self.name} has no device {name!r} "
                           f"(devices: {', '.join(self._by_name)})") from None

    def has_device(self, name: str) -> bool:
        return name in self._by_name

    def tag(self, address: str) -> Tag:
        """The tag at ``device.tag``."""
        device, _, tag = address.partition(".")
        if not tag:
            raise KeyError(f"{address!r} is not of the form device.tag")
        return self.device(device).profile.tag(tag)

    def devices_of_kind(self, kind: str) -> tuple[DeviceSpec, ...]:
        return tuple(d for d in self.devices if d.profile.kind == kind)


def casting_line(layers: int = 2, name: str = "casting-1") -> LineDefinition:
    """The built-in pilot casting line: one dope vessel and one gear pump per layer,
    a multi-slot applicator, support belt, quench bath, wash bath and dryer.

    Equipment data (sources in PHYSICS.md unless noted):
    - dope pump 3.0 cm3/rev: pilot dope pumps are 0.6-3 cm3/rev; 0.3 m x 254 um at
      2 m/min needs 152 cm3/min, i.e. 51 rpm at 3 cm3/rev;
    - knife width 0.3 m: the PHYSICS.md worked example;
    - vessel charge 100 kg (8 h at 152 cm3/min is ~77 kg of dope), jacket 6 kW; bath 400 L with 12 kW of heaters; wash 400 L with
      9 kW; dryer 15 kW: pilot-scale assumptions.
    """
    devices: list[DeviceSpec] = []
    for layer in range(1, layers + 1):
        devices.append(DeviceSpec(f"dope_vessel_{layer}", cp.DOPE_VESSEL,
                                  {"charge_kg": 100.0, "jacket_power_kw": 6.0}))
    for layer in range(1, layers + 1):
        devices.append(DeviceSpec(f"dope_pump_{layer}", cp.DOPE_PUMP,
                                  {"displacement_cm3_rev": 3.0, "layer": float(layer)}))
    devices += [
        DeviceSpec("casting_knife", cp.casting_knife_profile(layers), {"width_m": 0.3}),
        DeviceSpec("support_belt", cp.SUPPORT_BELT, {}),
        DeviceSpec("quench_bath", cp.QUENCH_BATH, {"volume_l": 400.0, "heater_power_kw": 12.0}),
        DeviceSpec("wash_bath", cp.WASH_BATH, {"volume_l": 400.0, "heater_power_kw": 9.0}),
        DeviceSpec("dryer", cp.DRYER, {"heater_power_kw": 15.0}),
    ]
    return LineDefinition(kind="casting", name=name, devices=tuple(devices))


def foaming_line(name: str = "foaming-1") -> LineDefinition:
    """The built-in pilot extrusion-foaming line (seed 001): extruder with CO2 and water
    metering pumps, melt pump 1, heat exchanger with static mixer, melt pump 2, slit die.

    Equipment data:
    - melt pumps 5 cm3/rev: pilot melt pumps are 1.2-10 cc/rev (PHYSICS.md, estimate);
      30 rpm at 5 cm3/rev and 1150 kg/m3 is ~10 kg/h;
    - extruder: 30 mm screw (PHYSICS.md: 25-35 mm machines), 4 zones of 2 kW (PHYSICS.md
      1.5-3 kW per zone); # assumption: 4 cm3 of drag delivery per screw revolution;
    - die 0.2 m wide, 1.0 mm gap, 10 mm land: # assumption, a pilot wide-slit membrane die;
    - exchanger UA 150 W/K, 1.5 L melt volume, Kenics mixer 0.5 m x 35 mm (K = 7, Thakur
      et al. 2003 via PHYSICS.md): # assumption, sized to cool ~10 kg/h by 50-80 K;
    - metering pumps 100 g/min: # assumption (see drivers.foaming_profiles).
    """
    from drivers import foaming_profiles as fp

    devices = (
        DeviceSpec("extruder", fp.EXTRUDER, {"screw_diameter_mm": 30.0, "zone_heater_power_kw": 2.0,
                                             "drag_delivery_cm3_rev": 4.0}),
        DeviceSpec("co2_pump", fp.CO2_PUMP, {"max_flow_g_min": 100.0}),
        DeviceSpec("water_pump", fp.WATER_PUMP, {"max_flow_g_min": 100.0}),
        DeviceSpec("melt_pump_1", fp.MELT_PUMP, {"displacement_cm3_rev": 5.0}),
        DeviceSpec("heat_exchanger", fp.HEAT_EXCHANGER, {"ua_w_k": 150.0, "melt_volume_l": 1.5,
                                                         "mixer_length_m": 0.5, "mixer_diameter_m": 0.035,
                                                         "mixer_factor": 7.0}),
        DeviceSpec("melt_pump_2", fp.MELT_PUMP, {"displacement_cm3_rev": 5.0}),
        DeviceSpec("die", fp.DIE, {"width_m": 0.2, "gap_mm": 1.0, "land_length_m": 0.010,
                                   "zone_heater_power_kw": 1.5}),
    )
    return LineDefinition(kind="foaming", name=name, devices=devices)
