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
    DerivedTag("melt_pump_1", derived("volumetric_efficiency_pct", "percent", 0.0, 100.0,
                                      "Volumetric efficiency of melt pump 1 from its slip model (pressure rise, "
                                      "plasticised viscosity)"), _GAS),
    DerivedTag("die", derived("single_phase_min_bar", "bar", 0.0, 1.0e4,
                              "Single-phase minimum pressure of the gas-laden melt at the die melt temperature"), _GAS),
    DerivedTag("die", derived("gas_min_pressure_bar", "bar", 0.0, 1.0e4,
                              "Die pressure the die-pressure interlock requires: the recipe's die_pressure_factor x "
                              "P_min at the die"), _GAS),
    DerivedTag("extruder", derived("specific_energy_kwh_kg", "kWh/kg", 0.0, 10.0,
                                   "Specific energy of the main drive: shaft power over the polymer throughput "
                                   "(a single-screw line takes 0.1-0.3 kWh/kg)"),
               "extruder energy (controller.lines.foaming.soft_sensors.ExtruderEnergySensor)"),
    DerivedTag("die", derived("foam_open_cell_pct", "percent", 0.0, 100.0,
                              "Estimated open-cell content of the foam leaving the die"), _FOAM),
    DerivedTag("die", derived("foam_pore_spread_pct", "percent", 0.0, 100.0,
                              "Estimated standard deviation of the foam's pore (cell) diameter over its mean"), _FOAM),
    DerivedTag("die", derived("foaming", "", 0.0, 1.0,
                              "1 while foam is made at the recipe's conditions (melt pump 2 running, gas at half "
                              "its planned flow or more, die melt within 5 K of the foaming temperature)"), _FOAM),
    DerivedTag("die", derived("foam_in_spec", "", 0.0, 1.0,
                              "1 while the foam estimate lies in the recipe's product class (cell size, void, open "
                              "cells; single-phase melt to the die lips)"), _FOAM),
    DerivedTag("die", derived("pressure_drop_rate_gpa_s", "GPa/s", 0.0, 1.0e3,
                              f"Pressure-drop rate through the die lips (nucleation driver); die pressures up "
                              f"to {_P:g} bar"), _FOAM),
)


# The extruder (simulator.physics.screw): a 30 mm, 24 D single-flighted screw.
# - square pitch, helix 17.66° (tan θ = 1/π; Rauwendaal, Polymer Extrusion, ch. 7);
# - # assumption: flight width 0.1 D = 3 mm and radial flight clearance 0.1 mm (Rauwendaal
#   gives clearances of about 0.001 D per side for small screws; 0.1 mm is a worn-in value);
# - # assumption: metering section 6 D = 180 mm long, 3.5 mm (0.12 D) deep: a deep,
#   low-shear metering channel for heat-sensitive high-Tg melts; drag delivery ≈ 3.8
#   cm3/rev, so ≈ 10 kg/h of PSU against 200 bar takes ≈ 60 rpm;
# - 4 barrel zones of 6 D = 180 mm (24 D);
# - # assumption: main drive 7.5 kW at 150 rpm (rated torque ≈ 480 N·m), the size sold
#   with 30 mm single-screw pilot extruders; no datasheet read.
EXTRUDER_EQUIPMENT: dict[str, float] = {
    "screw_diameter_mm": 30.0, "zone_heater_power_kw": 2.0, "zone_length_mm": 180.0,
    "metering_depth_mm": 3.5, "metering_length_mm": 180.0, "helix_angle_deg": 17.66,
    "flight_width_mm": 3.0, "flight_clearance_mm": 0.1,
    "motor_rated_power_kw": 7.5, "motor_rated_speed_rpm": 150.0,
}

# simulator.physics.pumps.MeltPumpRating's defaults, as equipment data (a plant file may differ)
MELT_PUMP_RATING: dict[str, float] = {"rated_volumetric_efficiency": 0.98, "rated_speed_rpm": 30.0,
                                      "rated_pressure_rise_bar": 200.0, "rated_viscosity_pa_s": 5000.0}


def foaming_line(name: str = "foaming-1") -> LineDefinition:
    """The built-in pilot extrusion-foaming line (seed 001): extruder with CO2 and water
    metering pumps, melt pump 1, heat exchanger with static mixer, melt pump 2, slit die.

    Equipment data:
    - melt pumps 5 cm3/rev: pilot melt pumps are 1.2-10 cc/rev (PHYSICS.md, estimate);
      30 rpm at 5 cm3/rev and 1150 kg/m3 is ~10 kg/h; slip rated at η_v 0.98 (Zenith
      97-99.5 %) at 30 rpm, 200 bar and 5000 Pa·s (# assumption, simulator.physics.pumps.
      MeltPumpRating): the simulator and the throughput soft sensor both derive slip from it;
    - extruder: 30 mm screw (PHYSICS.md: 25-35 mm machines), 4 zones of 2 kW (PHYSICS.md
      1.5-3 kW per zone); the screw's metering section and drive in EXTRUDER_EQUIPMENT;
    - die 0.1 m wide, 1.8 mm land, 0.3 mm nominal gap (the recipe sets the gap, 0.1-3 mm):
      # assumption, a pilot wide-slit membrane die with short lips. Chosen so that ~10 kg/h
      of PSU with 2 wt % CO2 at 285 °C leaves at −dP/dt ≈ 1 GPa/s (microcellular: ~0.1 to
      several GPa/s, Park, Baldwin & Suh 1995; Lee, Wang & Park 2005) with ≈ 240 bar at
      the die, above 1.3 x the single-phase minimum (≈ 117 bar) and below the 350 bar
      trip. In a slit, −dP/dt = 2·τ_w·Q/(W·H²) does not depend on the land length: the
      gap and width set the rate, the land the pressure (its margin over P_min);
    - exchanger UA 150 W/K, 1.5 L melt volume, Kenics mixer 0.5 m x 35 mm (K = 7, Thakur
      et al. 2003 via PHYSICS.md): # assumption, sized to cool ~10 kg/h by 50-80 K;
    - metering pumps 100 g/min: # assumption (see controller.lines.foaming.profiles).
    """
    devices = (
        DeviceSpec("extruder", fp.EXTRUDER, EXTRUDER_EQUIPMENT),
        DeviceSpec("co2_pump", fp.CO2_PUMP, {"max_flow_g_min": 100.0}),
        DeviceSpec("water_pump", fp.WATER_PUMP, {"max_flow_g_min": 100.0}),
        DeviceSpec("melt_pump_1", fp.MELT_PUMP, {"displacement_cm3_rev": 5.0, **MELT_PUMP_RATING}),
        DeviceSpec("heat_exchanger", fp.HEAT_EXCHANGER, {"ua_w_k": 150.0, "melt_volume_l": 1.5,
                                                         "mixer_length_m": 0.5, "mixer_diameter_m": 0.035,
                                                         "mixer_factor": 7.0}),
        DeviceSpec("melt_pump_2", fp.MELT_PUMP, {"displacement_cm3_rev": 5.0, **MELT_PUMP_RATING}),
        DeviceSpec("die", fp.DIE, {"width_m": 0.1, "gap_mm": 0.3, "land_length_m": 0.0018,
                                   "zone_heater_power_kw": 1.5}),
    )
    return LineDefinition(kind=KIND, name=name, devices=devices, derived=DERIVED_TAGS)
