"""Device profiles of the extrusion-foaming line (seed 001).

extruder -> CO2 and water metering pumps (injection stage, cooled pump heads) -> melt
pump 1 -> heat exchanger with static mixer (second mixing stage) -> melt pump 2 ->
wide-slit die (seed 001, claims 12-17).

Names follow OPC 40084 (EUROMAP 84) where a component fits: ``TemperatureZones/
TemperatureZone_00n``, ``MeltPressureZones``, ``MeltTemperatureZones``, ``MainDrive``
for the extruder; ``MeltPressures/MeltPressure_00n`` and ``Drive`` for melt pumps;
``TemperatureZones``, ``MeltPressures`` and ``DimensionAdjustment_001`` for the die.
Dosing follows OPC 40082-4's pattern (``Dosing/...``); the exchanger has no companion
specification and follows the temperature-zone pattern.

Limits and their sources:
- barrel, die and melt temperatures 0-450 degC: PSU/PES are processed at 320-360 degC
  (Raje et al., Polymers 2023, via PHYSICS.md); 450 degC is the heater-band limit
  (assumption);
- melt pressures 0-500 bar: melt pumps take > 300 bar differential, Zenith PEP-II
  <= 345 bar (PHYSICS.md, Pumps); the transducers span 500 bar (assumption: 0-500 bar
  melt-pressure transducers are the usual range);
- melt pump speeds 0-90 rpm: Zenith PEP-II 10-90 rpm (PHYSICS.md);
- screw speed 0-150 rpm, motor load 0-150 %: 25-35 mm pilot extruder (assumption);
- metering pumps 0-100 g/min: 5 wt % of a 10 kg/h line is 8.3 g/min (assumption: HPLC-type
  syringe/piston pumps up to 100 g/min), discharge up to 500 bar;
- coolant (thermal oil) 20-350 degC, 0-40 L/min: assumption for an oil temperature-control
  unit;
- die gap 0.1-3 mm: assumption for a wide-slit membrane die.
"""

from __future__ import annotations

from drivers.profiles import DeviceProfile, HoldAction, Tag, command, measured, setpoint, status

MAX_MELT_TEMPERATURE_C: float = 450.0  # assumption: heater-band limit (see module docstring)
MAX_MELT_PRESSURE_BAR: float = 500.0  # assumption: transducer range (see module docstring)
# 150 % of the 7.5 kW main drive (controller.lines.foaming.definition.EXTRUDER_EQUIPMENT),
# the motor-load range above
MAX_DRIVE_POWER_KW: float = 11.25

# Noise bands of the line's instruments (``Tag.noise``: ±3 σ of a steady reading, the one
# declaration the SCADA deadband and the simulator's sensors read). # assumption: no
# datasheets read; figures for industrial instruments, each a few counts of a 16-bit
# conversion plus the 4-20 mA loop's noise:
# - thermocouples in melt and barrel (type J/K, 0-450 degC): σ 0.1 K, a thermocouple
#   transmitter's noise being a few µV (~0.1 K at 50 µV/K);
# - melt-pressure transducers (0-500 bar, strain gauge): σ 0.3 bar (0.06 % of span; they
#   are specified at ±0.5 % accuracy, the noise being a fraction of it);
# - drive speeds from encoders: σ 0.05 rpm;
# - Coriolis mass flow of the metering pumps: σ 0.02 g/min (0.2 % of an 8 g/min flow).
# The die gap (position), coolant flow, motor load and shaft power are read exact (drive and
# positioner readbacks).
NOISE_TEMPERATURE_C: float = 0.3
NOISE_PRESSURE_BAR: float = 0.9
NOISE_SPEED_RPM: float = 0.15
NOISE_GAS_FLOW_G_MIN: float = 0.06


def _temperature_zones(count: int, what: str) -> list[Tag]:
    tags: list[Tag] = []
    for zone in range(1, count + 1):
        path = f"TemperatureZones/TemperatureZone_{zone:03d}"
        tags += [
            setpoint(f"zone_{zone}_setpoint_c", "degC", 0.0, MAX_MELT_TEMPERATURE_C,
                     f"{what} zone {zone} temperature setpoint", f"{path}/SetValue", safe_value=0.0),
            measured(f"zone_{zone}_temperature_c", "degC", 0.0, MAX_MELT_TEMPERATURE_C,
                     f"{what} zone {zone} temperature", f"{path}/ActualValue", noise=NOISE_TEMPERATURE_C),
            setpoint(f"zone_{zone}_heater_output_pct", "percent", 0.0, 100.0,
                     f"{what} zone {zone} heater output", f"{path}/Output", safe_value=0.0),
        ]
    return tags


def extruder_profile(zones: int = 4) -> DeviceProfile:
    return DeviceProfile(
        kind="extruder",
        description=f"Single-screw extruder with {zones} heated barrel zones (melts the polymer)",
        opcua_type="Extruder_InterfaceType",
        tags=tuple(_temperature_zones(zones, "Barrel") + [
            setpoint("screw_speed_setpoint_rpm", "rpm", 0.0, 150.0, "Screw speed setpoint",
                     "MainDrive/RotationalSpeed/SetValue", safe_value=0.0, hold_action=HoldAction.SAFE),
            measured("screw_speed_rpm", "rpm", 0.0, 150.0, "Screw speed", "MainDrive/RotationalSpeed/ActualValue",
                     noise=NOISE_SPEED_RPM),
            measured("motor_load_pct", "percent", 0.0, 150.0, "Main drive load (torque of rated)",
                     "MainDrive/Torque/ActualValue"),
            measured("melt_pressure_bar", "bar", 0.0, MAX_MELT_PRESSURE_BAR, "Melt pressure at the screw tip",
                     "MeltPressureZones/MeltPressureZone_001/ActualValue", noise=NOISE_PRESSURE_BAR),
            measured("melt_temperature_c", "degC", 0.0, MAX_MELT_TEMPERATURE_C, "Melt temperature at the screw tip",
                     "MeltTemperatureZones/MeltTemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
            status("running", "Main drive running", "MainDrive/Running"),
            measured("shaft_power_kw", "kW", 0.0, MAX_DRIVE_POWER_KW, "Main drive shaft power",
                     "MainDrive/Power/ActualValue"),
        ]),
    )


def _metering_pump(kind: str, fluid: str) -> DeviceProfile:
    return DeviceProfile(
        kind=kind,
        description=f"{fluid} metering pump with a coolable head, injecting into the extruder barrel "
        "through hollow needles (seed 001, claims 15-16)",
        opcua_type="DosingUnitType",
        tags=(
            setpoint("mass_flow_setpoint_g_min", "g/min", 0.0, 100.0, f"{fluid} mass flow setpoint",
                     "Dosing/MassFlow/SetValue", safe_value=0.0, hold_action=HoldAction.SAFE),
            measured("mass_flow_g_min", "g/min", 0.0, 100.0, f"{fluid} mass flow (Coriolis meter)",
                     "Dosing/MassFlow/ActualValue", noise=NOISE_GAS_FLOW_G_MIN),
            measured("discharge_pressure_bar", "bar", 0.0, MAX_MELT_PRESSURE_BAR, "Discharge pressure",
                     "Dosing/Pressure/ActualValue", noise=NOISE_PRESSURE_BAR),
            measured("head_temperature_c", "degC", -20.0, 150.0, "Pump-head temperature",
                     "Dosing/HeadTemperature/ActualValue", noise=NOISE_TEMPERATURE_C),
            command("head_cooling_on", "Pump-head cooling", "Dosing/HeadCooling/Command"),
            status("running", "Pump running", "Dosing/Running"),
        ),
    )


CO2_PUMP = _metering_pump("co2_metering_pump", "CO2")
WATER_PUMP = _metering_pump("water_metering_pump", "Water")

MELT_PUMP = DeviceProfile(
    kind="melt_pump",
    description="Gear melt pump",
    opcua_type="MeltPump_InterfaceType",
    tags=(
        setpoint("speed_setpoint_rpm", "rpm", 0.0, 90.0, "Pump speed setpoint", "Drive/Speed/SetValue",
                 safe_value=0.0, hold_action=HoldAction.SAFE),
        measured("speed_rpm", "rpm", 0.0, 90.0, "Pump speed", "Drive/Speed/ActualValue", noise=NOISE_SPEED_RPM),
        measured("inlet_pressure_bar", "bar", 0.0, MAX_MELT_PRESSURE_BAR, "Inlet (suction) pressure",
                 "MeltPressures/MeltPressure_001/ActualValue", noise=NOISE_PRESSURE_BAR),
        measured("outlet_pressure_bar", "bar", 0.0, MAX_MELT_PRESSURE_BAR, "Outlet (discharge) pressure",
                 "MeltPressures/MeltPressure_002/ActualValue", noise=NOISE_PRESSURE_BAR),
        status("running", "Drive running", "Drive/Running"),
    ),
)

HEAT_EXCHANGER = DeviceProfile(
    kind="melt_heat_exchanger",
    description="Melt heat exchanger with static mixer: the second mixing stage (seed 001, claims 12-14)",
    opcua_type="HeatExchangerType",
    tags=(
        setpoint("coolant_setpoint_c", "degC", 20.0, 350.0, "Coolant (thermal oil) temperature setpoint",
                 "TemperatureZones/TemperatureZone_001/SetValue", safe_value=20.0),
        measured("coolant_temperature_c", "degC", 0.0, 400.0, "Coolant supply temperature",
                 "TemperatureZones/TemperatureZone_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        command("coolant_pump_on", "Coolant circulation pump", "Coolant/Pump/Command"),
        measured("coolant_flow_l_min", "L/min", 0.0, 40.0, "Coolant flow", "Coolant/Flow/ActualValue"),
        measured("melt_inlet_temperature_c", "degC", 0.0, MAX_MELT_TEMPERATURE_C, "Melt inlet temperature",
                 "MeltTemperatures/MeltTemperature_001/ActualValue", noise=NOISE_TEMPERATURE_C),
        measured("melt_outlet_temperature_c", "degC", 0.0, MAX_MELT_TEMPERATURE_C, "Melt outlet temperature",
                 "MeltTemperatures/MeltTemperature_002/ActualValue", noise=NOISE_TEMPERATURE_C),
        measured("pressure_drop_bar", "bar", 0.0, MAX_MELT_PRESSURE_BAR, "Melt pressure drop over exchanger and mixer",
                 "MeltPressures/PressureDrop/ActualValue", noise=NOISE_PRESSURE_BAR),
    ),
)


def die_profile(zones: int = 2) -> DeviceProfile:
    return DeviceProfile(
        kind="slit_die",
        description=f"Wide-slit die with {zones} temperature zones and a gap adjustment (seed 001, claim 17)",
        opcua_type="Die_InterfaceType",
        tags=tuple(_temperature_zones(zones, "Die") + [
            measured("melt_pressure_bar", "bar", 0.0, MAX_MELT_PRESSURE_BAR, "Melt pressure at the die inlet",
                     "MeltPressures/MeltPressure_001/ActualValue", noise=NOISE_PRESSURE_BAR),
            measured("melt_temperature_c", "degC", 0.0, MAX_MELT_TEMPERATURE_C, "Melt temperature at the die inlet",
                     "MeltTemperatures/MeltTemperature_001/ActualValue", noise=NOISE_TEMPERATURE_C),
            setpoint("gap_setpoint_mm", "mm", 0.0, 3.0, "Die gap setpoint",
                     "DimensionAdjustment_001/SetValue", safe_value=0.0, hold_action=HoldAction.KEEP),
            measured("gap_mm", "mm", 0.0, 3.0, "Die gap", "DimensionAdjustment_001/ActualValue"),
        ]),
    )


EXTRUDER = extruder_profile(4)
DIE = die_profile(2)
