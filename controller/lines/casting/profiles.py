"""Device profiles of the casting line (seeds 000 and 003).

Ranges are engineering limits of pilot-scale equipment. Sources:
- gear pump speed 0-90 rpm: Zenith PEP-II metering pumps run 10-90 rpm (PHYSICS.md, Pumps);
- knife gap: seed 000 casts at 10 mil (254 um) wet; applicators go to about 1 mm (assumption);
- quench baths run 20-60 degC (PHYSICS.md, Casting line); the heater range allows 0-95 degC;
- the dope is titrated and cast at 40 degC in seed 000 Example VIII; the jacket goes to 120 degC
  (assumption: a pressurised-water jacket, below DMF's 153 degC boiling point);
- line speeds of pilot casting lines 0.5-10 m/min (assumption); limit 20 m/min.

The casting line has no OPC UA companion specification: dope pumps follow OPC 40084's
melt-pump pattern (Drive, Pressures), bath and jacket heaters follow temperature zones,
and the knife follows the die's DimensionAdjustment (see PROTOCOLS.md).
"""

from __future__ import annotations

from drivers.profiles import (
    DeviceProfile,
    HoldAction,
    command,
    measured,
    setpoint,
    status,
)

# Noise bands of the line's instruments (``Tag.noise`` / ``noise_of_reading``: ±3 σ of a
# steady reading, the one declaration the SCADA deadband and the simulator's sensors read).
# # assumption: no datasheets read; figures for industrial instruments, each a few counts of
# a 16-bit conversion plus the 4-20 mA loop's noise:
# - Pt100 temperatures (0-150 degC): σ 0.05 K;
# - drive speeds from encoders: σ 0.05 rpm; the belt's line speed σ 0.005 m/min;
# - the turbidity probe: σ 0.002 AU; the vessel's load cells: σ 0.02 kg (1 in 10^4 of a
#   200 kg vessel);
# - the dope pumps' discharge pressure: σ 0.02 bar;
# - dope flow (Coriolis, and the catch pan's overflow): σ 0.3 % of reading;
# - knife gap (position readback): σ 0.5 µm; the wet-film gauge σ 1 µm, the bead level
#   σ 0.1 mm (the bead's 0.2 %-of-span deadband, 0.2 mm, sat inside it);
# - baths: solvent fraction (density/refractive index) σ 0.02 wt %, water flows σ 0.01 L/min,
#   level σ 0.1 %; the dryer's moisture analyser σ 0.05 %.
# The non-solvent dosing flow and the totalisers (dosed volume, cast length) are read exact.
NOISE_TEMPERATURE_C: float = 0.15
NOISE_SPEED_RPM: float = 0.15
NOISE_LINE_SPEED_M_MIN: float = 0.015
NOISE_ABSORBANCE_AU: float = 0.006
NOISE_MASS_KG: float = 0.06
NOISE_PRESSURE_BAR: float = 0.06
NOISE_FLOW_OF_READING: float = 0.009
NOISE_GAP_UM: float = 1.5
NOISE_THICKNESS_UM: float = 3.0
NOISE_BEAD_LEVEL_MM: float = 0.3
NOISE_DMF_FRACTION_PCT: float = 0.06
NOISE_WATER_FLOW_L_MIN: float = 0.03
NOISE_BATH_LEVEL_PCT: float = 0.3
NOISE_MOISTURE_PCT: float = 0.15

DOPE_VESSEL = DeviceProfile(
    kind="dope_vessel",
    description="Jacketed dope vessel with agitator, absorbance (turbidity) probe and "
    "non-solvent dosing pump for titration to the metastable state (seed 000)",
    opcua_type="DopeVesselType",
    tags=(
        measured("temperature_c", "degC", 0.0, 150.0, "Dope temperature",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        measured("jacket_temperature_c", "degC", 0.0, 150.0, "Jacket fluid temperature",
                 "TemperatureZones/TemperatureZone_002/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("jacket_output_pct", "percent", -100.0, 100.0,
                 "Jacket temperature-control unit output, split range: + heats, - cools",
                 "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0),
        setpoint("agitator_speed_setpoint_rpm", "rpm", 0.0, 300.0, "Agitator speed setpoint",
                 "Agitator/Speed/SetValue", safe_value=0.0),
        measured("agitator_speed_rpm", "rpm", 0.0, 300.0, "Agitator speed",
                 "Agitator/Speed/ActualValue", noise=NOISE_SPEED_RPM),
        measured("absorbance", "AU", 0.0, 4.0,
                 "Absorbance from the in-line turbidity probe (seed 000 titrates to 0.600)",
                 "Turbidity/Absorbance/ActualValue", noise=NOISE_ABSORBANCE_AU),
        setpoint("dosing_flow_setpoint_ml_min", "mL/min", 0.0, 1000.0,
                 "Non-solvent dosing pump flow setpoint", "Dosing/Flow/SetValue",
                 safe_value=0.0, hold_action=HoldAction.SAFE),
        measured("dosing_flow_ml_min", "mL/min", 0.0, 1000.0, "Non-solvent dosing flow",
                 "Dosing/Flow/ActualValue"),
        measured("dosed_total_ml", "mL", 0.0, 1.0e6, "Non-solvent dosed since charge (totaliser)",
                 "Dosing/Total/ActualValue"),
        measured("mass_kg", "kg", 0.0, 500.0, "Dope mass in the vessel (load cells)",
                 "Weight/ActualValue", noise=NOISE_MASS_KG),
    ),
)

DOPE_PUMP = DeviceProfile(
    kind="dope_pump",
    description="Gear metering pump feeding one layer's dope to the applicator",
    opcua_type="MeltPump_InterfaceType",
    tags=(
        setpoint("speed_setpoint_rpm", "rpm", 0.0, 90.0, "Pump speed setpoint",
                 "Drive/Speed/SetValue", safe_value=0.0, hold_action=HoldAction.SAFE),
        measured("speed_rpm", "rpm", 0.0, 90.0, "Pump speed", "Drive/Speed/ActualValue", noise=NOISE_SPEED_RPM),
        measured("discharge_pressure_bar", "bar", 0.0, 100.0, "Discharge pressure",
                 "MeltPressures/MeltPressure_001/ActualValue", noise=NOISE_PRESSURE_BAR),
        measured("flow_ml_min", "mL/min", 0.0, 5000.0, "Delivered dope flow (flow meter)",
                 "Throughput/ActualValue", noise_of_reading=NOISE_FLOW_OF_READING),
        status("running", "Drive running", "Drive/Running"),
        # heat-traced dope path (seed 000: the dope must not cool across the spinodal on its way)
        measured("head_temperature_c", "degC", 0.0, 150.0, "Pump head temperature",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("head_heater_output_pct", "percent", 0.0, 100.0, "Pump head heater output",
                 "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0),
        measured("filter_temperature_c", "degC", 0.0, 150.0, "Dope filter housing temperature",
                 "TemperatureZones/TemperatureZone_002/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("filter_heater_output_pct", "percent", 0.0, 100.0, "Dope filter band heater output",
                 "TemperatureZones/TemperatureZone_002/Output", safe_value=0.0),
        measured("line_temperature_c", "degC", 0.0, 150.0, "Feed line wall temperature (heat tracing)",
                 "TemperatureZones/TemperatureZone_003/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("line_heater_output_pct", "percent", 0.0, 100.0, "Feed line trace heater output",
                 "TemperatureZones/TemperatureZone_003/Output", safe_value=0.0),
    ),
)


def casting_knife_profile(slots: int) -> DeviceProfile:
    """Casting knife (one slot) or multi-slot applicator: one gap per layer."""
    if not 1 <= slots <= 4:
        raise ValueError(f"an applicator has 1-4 slots, not {slots}")
    tags = []
    for slot in range(1, slots + 1):
        zone = f"DimensionAdjustment_{slot:03d}"
        tags.append(setpoint(f"gap_{slot}_setpoint_um", "um", 0.0, 1000.0,
                             f"Slot {slot} gap setpoint", f"{zone}/SetValue", safe_value=0.0))
        tags.append(measured(f"gap_{slot}_um", "um", 0.0, 1000.0, f"Slot {slot} gap",
                             f"{zone}/ActualValue", noise=NOISE_GAP_UM))
    tags.append(measured("wet_thickness_um", "um", 0.0, 2000.0,
                         "Total wet film thickness (in-line gauge after the knife)",
                         "WetThickness/ActualValue", noise=NOISE_THICKNESS_UM))
    for slot in range(1, slots + 1):
        tags.append(measured(f"bead_{slot}_level_mm", "mm", 0.0, 100.0,
                             f"Dope bead (pool) height behind slot {slot}'s knife", f"Bead_{slot:03d}/Level/ActualValue",
                             noise=NOISE_BEAD_LEVEL_MM))
    tags.append(measured("overflow_ml_min", "mL/min", 0.0, 5000.0,
                         "Dope running over the bead's edges into the catch pan", "CatchPan/Flow/ActualValue",
                         noise_of_reading=NOISE_FLOW_OF_READING))
    tags.append(measured("temperature_c", "degC", 0.0, 150.0, "Applicator body temperature",
                         "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C))
    tags.append(setpoint("heater_output_pct", "percent", 0.0, 100.0, "Applicator heater output",
                         "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0))
    tags.append(setpoint("thickness_trim_pct", "percent", -20.0, 20.0,
                         "Wet-thickness trim on the pumps' ratio to the belt speed (cascade from the gauge)",
                         "WetThickness/Trim/SetValue", safe_value=0.0))
    return DeviceProfile(
        kind="casting_knife",
        description=f"Casting knife / {slots}-slot applicator over the support belt",
        opcua_type="Die_InterfaceType",
        tags=tuple(tags),
    )


SUPPORT_BELT = DeviceProfile(
    kind="support_belt",
    description="Moving nonporous support belt drive (sets the line speed)",
    opcua_type="Haul_OffType",
    tags=(
        setpoint("line_speed_setpoint_m_min", "m/min", 0.0, 20.0, "Line speed setpoint",
                 "Drive/Speed/SetValue", safe_value=0.0, hold_action=HoldAction.SAFE),
        measured("line_speed_m_min", "m/min", 0.0, 20.0, "Line speed", "Drive/Speed/ActualValue", noise=NOISE_LINE_SPEED_M_MIN),
        measured("length_m", "m", 0.0, 1.0e7, "Belt travel since the run started (encoder)",
                 "Drive/Length/ActualValue"),
        status("running", "Drive running", "Drive/Running"),
        measured("temperature_c", "degC", 0.0, 150.0,
                 "Support temperature at the knife (heated plate under the belt; seed 000 Ex. I preheats it)",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Support plate heater output",
                 "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0),
    ),
)

QUENCH_BATH = DeviceProfile(
    kind="quench_bath",
    description="Heated coagulation (quench) bath with make-up water and overflow",
    opcua_type="BathType",
    tags=(
        measured("temperature_c", "degC", 0.0, 100.0, "Bath temperature",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater output",
                 "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0),
        status("heater_fault", "Heater current monitor: commanded but no current",
               "TemperatureZones/TemperatureZone_001/Fault"),
        measured("dmf_fraction_wt_pct", "percent", 0.0, 100.0,
                 "Solvent (DMF) in the bath liquid (refractive-index analyser)",
                 "Composition/SolventFraction/ActualValue", noise=NOISE_DMF_FRACTION_PCT),
        setpoint("makeup_water_flow_setpoint_l_min", "L/min", 0.0, 20.0, "Make-up water flow",
                 "MakeupWater/Flow/SetValue", safe_value=0.0),
        measured("makeup_water_flow_l_min", "L/min", 0.0, 20.0, "Make-up water flow",
                 "MakeupWater/Flow/ActualValue", noise=NOISE_WATER_FLOW_L_MIN),
        measured("overflow_l_min", "L/min", 0.0, 40.0, "Overflow to drain", "Overflow/Flow/ActualValue",
                 noise=NOISE_WATER_FLOW_L_MIN),
        measured("level_pct", "percent", 0.0, 100.0, "Bath level", "Level/ActualValue", noise=NOISE_BATH_LEVEL_PCT),
    ),
)

WASH_BATH = DeviceProfile(
    kind="wash_bath",
    description="Wash bath: counter-flow fresh water removes residual solvent",
    opcua_type="BathType",
    tags=(
        measured("temperature_c", "degC", 0.0, 100.0, "Wash water temperature",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater output",
                 "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0),
        setpoint("water_flow_setpoint_l_min", "L/min", 0.0, 40.0, "Fresh water flow",
                 "FreshWater/Flow/SetValue", safe_value=0.0),
        measured("dmf_fraction_wt_pct", "percent", 0.0, 100.0, "Solvent in the wash water",
                 "Composition/SolventFraction/ActualValue", noise=NOISE_DMF_FRACTION_PCT),
    ),
)

DRYER = DeviceProfile(
    kind="dryer",
    description="Convective dryer: heated air dries the washed membrane",
    opcua_type="DryerType",
    tags=(
        measured("air_temperature_c", "degC", 0.0, 200.0, "Dryer air temperature",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Air heater output",
                 "TemperatureZones/TemperatureZone_001/Output", safe_value=0.0),
        command("fan_on", "Circulation fan", "Fan/Command"),
        measured("moisture_out_pct", "percent", 0.0, 100.0,
                 "Residual water in the membrane at the dryer exit (NIR gauge)",
                 "Moisture/ActualValue", noise=NOISE_MOISTURE_PCT),
    ),
)
