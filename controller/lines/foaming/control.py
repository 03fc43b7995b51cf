"""The foaming line's loops, ratio stations and standing interlocks (seed 001)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from controller.engine.loop_watch import LoopWatch, WatchedLoop
from controller.recipe.control import LineControl, LoopDefinition, RatioDefinition, StandingAlarm
from drivers.definition import LineDefinition

# Foaming line (seed 001). Tunings by the SIMC rules on the simulator's models
# (simulator.foaming.plant): barrel zones τ ≈ 640 s, gain ≈ 4.4 K/% (2 kW, hA 4.5 W/K);
# screw tip pressure τ ≈ 3 s, gain ≈ 9 bar/rpm; mixing-stage pressure integrating at
# ≈ 0.8 bar/s per rpm of melt pump 1; exchanger outlet gain ≈ 1 K/K, wall lag 120 s plus
# the coolant unit's 180 s and a transport delay of V/Q ≈ 10 min.
MELT_OVERPRESSURE_TRIP_BAR: float = 350.0  # issue 4 ("configurable, e.g. 350 bar"); Zenith PEP-II ≤ 345 bar
# CO2 turns supercritical at 31.1 °C (critical temperature 304.1 K): the head must stay
# below it to meter liquid CO2; # assumption: trip with a 6 K margin.
CO2_HEAD_TRIP_C: float = 25.0
WATER_HEAD_TRIP_C: float = 40.0  # assumption: cooled head of the water pump (seal life)
# Freeze-off at the die: the melt is held at the recipe's foaming temperature (the
# production step's melt_cooling setpoint); # assumption: more than 15 K below it the melt
# stiffens towards the die lips (PSU foamed at 285 °C, 100 K above Tg 185 °C; PES at
# 295 °C, 70 K above Tg 225 °C, Raje et al. 2023) and the run is held. The alarm is made
# per recipe by ``controller.lines.foaming.soft_sensors.foaming_interlocks``.
DIE_FREEZE_MARGIN_K: float = 15.0
COOLANT_MIN_FLOW_L_MIN: float = 2.0  # assumption: a tenth of the circulation pump's 20 L/min
# The melt outlet answers a coolant change only after the coolant unit (180 s), the wall
# (120 s) and the transport delay (≈ 10 min) above, about 900 s: its frozen-sensor watch
# (controller.engine.loop_watch, default 300 s) waits twice that before it calls a still
# reading frozen.
MELT_COOLING_FROZEN_AFTER_S: float = 1800.0
# What a gas interlock closes: the metering pumps' flows only. Their head cooling stays on
# (a pump stopped hot is what the head-temperature trip guards against, and CO2 must stay
# liquid in the head to restart).
CO2_FLOW_SETPOINT = "co2_pump.mass_flow_setpoint_g_min"
WATER_FLOW_SETPOINT = "water_pump.mass_flow_setpoint_g_min"
GAS_FLOW_SETPOINTS: tuple[str, ...] = (CO2_FLOW_SETPOINT, WATER_FLOW_SETPOINT)
_MELT_PRESSURES = ("extruder.melt_pressure_bar", "melt_pump_1.outlet_pressure_bar",
                   "melt_pump_2.outlet_pressure_bar", "die.melt_pressure_bar")


class FoamingPlantSettings(BaseModel):
    """The foaming line's settings a plant file may give (``interlocks:``)."""

    model_config = ConfigDict(extra="forbid")

    melt_overpressure_trip_bar: float = Field(default=MELT_OVERPRESSURE_TRIP_BAR, gt=0)


def foaming_control(line: LineDefinition, *, melt_overpressure_trip_bar: float = MELT_OVERPRESSURE_TRIP_BAR) -> LineControl:
    """The foaming line's loops, ratio stations and standing interlocks. The melt
    over-pressure trip is the plant's to set (its rupture discs and pump ratings), within
    the transducers' range."""
    highest_bar = min(line.tag(p).high for p in _MELT_PRESSURES)
    if not 0.0 < melt_overpressure_trip_bar < highest_bar:
        raise ValueError(f"melt over-pressure trip {melt_overpressure_trip_bar:g} bar: must be above 0 and below "
                         f"the melt-pressure transducers' {highest_bar:g} bar")
    loops: list[LoopDefinition] = []
    alarms: list[StandingAlarm] = []
    for device, prefix in (("extruder", "barrel"), ("die", "die")):
        profile = line.device(device).profile
        zones = sum(1 for t in profile.tags if t.name.endswith("_heater_output_pct"))
        for zone in range(1, zones + 1):
            loops.append(LoopDefinition(
                name=f"{prefix}_zone_{zone}_temperature", pv=f"{device}.zone_{zone}_temperature_c",
                output=f"{device}.zone_{zone}_heater_output_pct", gain=2.0, integral_time_s=480.0,
                description=f"{device} zone {zone} temperature by heater output",
            ))
    loops.append(LoopDefinition(
        name="extruder_pressure", pv="melt_pump_1.inlet_pressure_bar",
        output="extruder.screw_speed_setpoint_rpm", gain=0.03, integral_time_s=8.0,
        description="Screw speed holds melt pump 1's inlet pressure (injection stage)",
    ))
    loops.append(LoopDefinition(
        name="mixing_pressure", pv="melt_pump_2.inlet_pressure_bar",
        output="melt_pump_1.speed_setpoint_rpm", gain=0.05, integral_time_s=90.0,
        description="Melt pump 1 speed holds the second mixing stage's pressure (seed 001: > 150 bar); "
        "melt pump 2 sets the throughput",
    ))
    loops.append(WatchedLoop(
        name="melt_cooling", pv="heat_exchanger.melt_outlet_temperature_c",
        output="heat_exchanger.coolant_setpoint_c", gain=0.3, integral_time_s=300.0,
        description="Coolant temperature setpoint holds the exchanger's melt outlet temperature",
        watch=LoopWatch(frozen_after_s=MELT_COOLING_FROZEN_AFTER_S),
    ))
    # Gas in ratio to the polymer throughput (issue 4; seed 001 gives the loading in wt %):
    # the wild flow is the polymer passing the injection stage, melt pump 1's delivery
    # (soft sensor ``melt_pump_1.throughput_kg_h``, controller.lines.foaming.soft_sensors); the ratio is
    # in percent of the polymer mass; kg/h x % -> g/min is 1000 / 60 / 100.
    ratios = tuple(RatioDefinition(
        name=f"{fluid}_injection", wild="melt_pump_1.throughput_kg_h", output=f"{fluid}_pump.mass_flow_setpoint_g_min",
        ratio_unit="percent", scale=1000.0 / 60.0 / 100.0, planned_wild_parameter="polymer_throughput",
        material_ratio_parameter=f"{fluid}_ratio",
        description=f"{label} mass flow in ratio to the polymer throughput of melt pump 1",
    ) for fluid, label in (("co2", "CO2"), ("water", "Water")))
    gas = GAS_FLOW_SETPOINTS
    trip = melt_overpressure_trip_bar
    alarms.append(StandingAlarm(
        "MELT_OVERPRESSURE", f"Melt pressure above {trip:g} bar: pumps, extruder and gas tripped",
        1, " or ".join(f"{p} > {trip:g}" for p in _MELT_PRESSURES), 0.0, "abort",
        force_safe=("melt_pump_1", "melt_pump_2", "extruder.screw_speed_setpoint_rpm", *gas)))
    alarms.append(StandingAlarm(
        "CO2_HEAD_OVERTEMPERATURE", f"CO2 pump head above {CO2_HEAD_TRIP_C:g} degC: CO2 pump stopped", 1,
        f"co2_pump.running > 0.5 and co2_pump.head_temperature_c > {CO2_HEAD_TRIP_C:g}", 2.0, "hold",
        force_safe=(CO2_FLOW_SETPOINT,)))
    alarms.append(StandingAlarm(
        "WATER_HEAD_OVERTEMPERATURE", f"Water pump head above {WATER_HEAD_TRIP_C:g} degC: water pump stopped", 1,
        f"water_pump.running > 0.5 and water_pump.head_temperature_c > {WATER_HEAD_TRIP_C:g}", 2.0, "hold",
        force_safe=(WATER_FLOW_SETPOINT,)))
    alarms.append(StandingAlarm(
        "COOLANT_FAILURE", "Exchanger coolant flow lost: melt not cooled, gas closed", 1,
        f"heat_exchanger.coolant_pump_on > 0.5 and heat_exchanger.coolant_flow_l_min < {COOLANT_MIN_FLOW_L_MIN:g}",
        10.0, "hold", force_safe=gas))
    return LineControl(loops=tuple(loops), alarms=tuple(alarms), ratios=ratios)
