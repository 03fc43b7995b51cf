"""The built-in extrusion-foaming line (seed 001): devices, equipment data, derived tags."""

from __future__ import annotations

from controller.lines.foaming import profiles as fp
from drivers.definition import DerivedTag, DeviceSpec, LineDefinition
from drivers.profiles import derived

KIND = "foaming"
_GAS = "gas loading and single-phase pressure (controller.lines.foaming.soft_sensors.FoamingGasSensor)"
_FOAM = "foam estimate (controller.lines.foaming.soft_sensors.FoamSensor, simulator.physics.foam)"
_P = fp.MAX_MELT_PRESSURE_BAR
DERIVED_TAGS: tuple[DerivedTag, ...] = (
    DerivedTag("extruder", derived("co2_wt_pct", "percent", 0.0, 50.0,
                                   "CO2 loading of the melt, from the metering pump's mass flow"), _GAS),
    DerivedTag("extruder", derived("water_wt_pct", "percent", 0.0, 50.0,
                                   "Water loading of the melt, from the metering pump's mass flow"), _GAS),
    DerivedTag("melt_pump_1", derived("throughput_kg_h", "kg/h", 0.0, 100.0,
                                      "Polymer throughput of melt pump 1 (displacement x speed x efficiency x "
                                      "density): the ratio stations' wild flow"), _GAS),
    DerivedTag("extruder", derived("single_phase_min_bar", "bar", 0.0, 1.0e4,
                                   "Single-phase minimum pressure P_min of the gas-laden melt at the screw-tip "
                                   "temperature (Henry's law)"), _GAS),
    DerivedTag("extruder", derived("gas_min_pressure_bar", "bar", 0.0, 1.0e4,
                                   "Injection-stage pressure the gas interlock requires: the recipe's factor x "
                                   "P_min at the screw tip"), _GAS),
    DerivedTag("heat_exchanger", derived("single_phase_min_bar", "bar", 0.0, 1.0e4,
                                         "Single-phase minimum pressure at the exchanger outlet temperature "
                                         "(second mixing stage)"), _GAS),
    DerivedTag("die", derived("foam_cell_density_per_cm3", "1/cm^3", 0.0, 1.0e20,
                              "Estimated cell density of the foam leaving the die"), _FOAM),
    DerivedTag("die", derived("foam_cell_size_um", "um", 0.0, 1.0e5,
                              "Estimated cell diameter of the foam leaving the die"), _FOAM),
    DerivedTag("die", derived("foam_void_fraction_pct", "percent", 0.0, 100.0,
                              "Estimated void fraction of the foam leaving the die"), _FOAM),
    DerivedTag("die", derived("pressure_drop_rate_gpa_s", "GPa/s", 0.0, 1.0e3,
                              f"Pressure-drop rate through the die lips (nucleation driver); die pressures up "
                              f"to {_P:g} bar"), _FOAM),
)


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
    - metering pumps 100 g/min: # assumption (see controller.lines.foaming.profiles).
    """
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
    return LineDefinition(kind=KIND, name=name, devices=devices, derived=DERIVED_TAGS)
