"""The built-in casting line (seeds 000 and 003): devices, equipment data, derived tags."""

from __future__ import annotations

from controller.lines.casting import profiles as cp
from drivers.definition import DerivedTag, DeviceSpec, LineDefinition
from drivers.profiles import derived

KIND = "casting"
LIFETIME_ESTIMATE = "dope lifetime estimate (controller.lines.casting.soft_sensors)"


def dope_vessel_derived_tags(vessel: str) -> tuple[DerivedTag, ...]:
    """What the dope-lifetime estimator computes for a titrated dope in ``vessel``."""
    return (
        DerivedTag(vessel, derived("metastable_life_used_pct", "percent", 0.0, 1.0e6,
                                   "Share of the titrated dope's metastable lifetime used (seed 000: it "
                                   "segregates at 100 % unless redispersed)"), LIFETIME_ESTIMATE),
        DerivedTag(vessel, derived("binodal_depth", "", -1.0, 1.0,
                                   "Depth of the dope past its binodal (cloud point) at the dope temperature, "
                                   "as a non-solvent mass-fraction difference; -1 where undefined"),
                   LIFETIME_ESTIMATE),
    )


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
    derived_tags = tuple(tag for spec in devices if spec.profile is cp.DOPE_VESSEL
                         for tag in dope_vessel_derived_tags(spec.name))
    return LineDefinition(kind=KIND, name=name, devices=tuple(devices), derived=derived_tags)


