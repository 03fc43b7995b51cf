"""The casting line's loops and standing alarms.

Loop tunings are for the built-in simulator's models (``simulator.casting``) and were found
by step tests on it (a first-order-plus-dead-time fit and the SIMC rules, Skogestad 2003);
a real line is tuned at commissioning.
"""

from __future__ import annotations

from controller.lines.common import GEAR_PUMP_VOLUMETRIC_EFFICIENCY
from controller.recipe.control import LineControl, LoopDefinition, RatioDefinition, StandingAlarm
from drivers.definition import LineDefinition

TRIM = "casting_knife.thickness_trim_pct"
# The recipe parameter the ratio stations take as the planned belt speed.
LINE_SPEED_PARAMETER = "line_speed"


def casting_control(line: LineDefinition) -> LineControl:
    loops: list[LoopDefinition] = []
    alarms: list[StandingAlarm] = []
    ratios: list[RatioDefinition] = []
    knife = line.devices_of_kind("casting_knife")
    width_m = knife[0].equipment.get("width_m", 0.3) if knife else 0.3
    for pump in line.devices_of_kind("dope_pump"):
        # dope path heat tracing (zones with ~1-2 K/% gain and minutes of lag; PI)
        for zone, what in (("head", "pump head"), ("filter", "dope filter"), ("line", "feed line trace")):
            loops.append(LoopDefinition(
                name=f"{pump.name}_{zone}_temperature", pv=f"{pump.name}.{zone}_temperature_c",
                output=f"{pump.name}.{zone}_heater_output_pct", gain=20.0, integral_time_s=300.0,
                description=f"{pump.name}: {what} temperature by its heater (hold the dope at its casting "
                "temperature on its way to the knife)"))
        # pump speed in ratio to belt speed: N = h·W·U/(D·η_v); the recipe gives the ratio as the
        # wet thickness h in um (m × um × m/min = cm3/min)
        displacement = pump.equipment.get("displacement_cm3_rev", 3.0)
        ratios.append(RatioDefinition(
            name=f"{pump.name}_ratio", wild="support_belt.line_speed_m_min", output=f"{pump.name}.speed_setpoint_rpm",
            ratio_unit="um", scale=width_m / (displacement * GEAR_PUMP_VOLUMETRIC_EFFICIENCY),
            description=f"{pump.name} speed in ratio to the belt speed: the ratio is the layer's wet thickness "
            "(mass balance Q = W·h·U), trimmed by the thickness gauge",
            planned_wild_parameter=LINE_SPEED_PARAMETER, trim=TRIM))
    loops.append(LoopDefinition(
        name="applicator_temperature", pv="casting_knife.temperature_c", output="casting_knife.heater_output_pct",
        gain=20.0, integral_time_s=600.0, description="Applicator body temperature by its heater"))
    loops.append(LoopDefinition(
        name="support_temperature", pv="support_belt.temperature_c", output="support_belt.heater_output_pct",
        gain=20.0, integral_time_s=600.0,
        description="Support plate temperature at the knife (seed 000 Ex. I: preheated to the casting temperature)"))
    loops.append(LoopDefinition(
        name="wet_thickness_trim", pv="casting_knife.wet_thickness_um", output=TRIM,
        gain=0.1, integral_time_s=30.0,
        description="Cascade master: the wet-thickness gauge trims the pumps' ratio to the belt speed "
        "(thinner film, more dope)"))
    for vessel in line.devices_of_kind("dope_vessel"):
        loops.append(LoopDefinition(
            name=f"{vessel.name}_temperature", pv=f"{vessel.name}.temperature_c",
            output=f"{vessel.name}.jacket_output_pct", gain=25.0, integral_time_s=600.0,
            description="Dope temperature by the jacket's split-range heat/cool output",
        ))
    for bath in ("quench_bath", "wash_bath"):
        loops.append(LoopDefinition(
            name=f"{bath}_temperature", pv=f"{bath}.temperature_c",
            output=f"{bath}.heater_output_pct", gain=40.0, integral_time_s=900.0,
            description="Bath temperature by heater output",
        ))
    loops.append(LoopDefinition(
        name="quench_bath_dmf", pv="quench_bath.dmf_fraction_wt_pct",
        output="quench_bath.makeup_water_flow_setpoint_l_min", gain=2.0,
        integral_time_s=600.0, direct_acting=True,
        description="Solvent fraction of the quench liquid by make-up water (seed 000 "
        "prefers 80/20 water/DMF): more solvent, more water",
    ))
    loops.append(LoopDefinition(
        name="dryer_temperature", pv="dryer.air_temperature_c",
        output="dryer.heater_output_pct", gain=8.0, integral_time_s=300.0,
        description="Dryer air temperature by heater output",
    ))
    alarms.append(StandingAlarm(
        "QUENCH_HEATER_FAULT", "Quench bath heater failed (commanded, no current)", 1,
        "quench_bath.heater_fault > 0.5", 5.0, "hold", force_safe=("quench_bath.heater_output_pct",)))
    alarms.append(StandingAlarm(
        "QUENCH_LOW_LEVEL", "Quench bath level low: web would leave the liquid", 2,
        "quench_bath.level_pct < 20", 10.0, "hold"))
    for pump in line.devices_of_kind("dope_pump"):
        alarms.append(StandingAlarm(
            f"{pump.name.upper()}_STALLED", f"{pump.name}: commanded to run but not turning", 1,
            f"{pump.name}.speed_setpoint_rpm > 1 and {pump.name}.speed_rpm < 0.2 * "
            f"{pump.name}.speed_setpoint_rpm", 10.0, "hold", force_safe=(pump.name,)))
        alarms.append(StandingAlarm(
            f"{pump.name.upper()}_HIGH_PRESSURE", f"{pump.name}: discharge pressure high", 1,
            # assumption: 60 bar relief margin on a 100 bar dope line
            f"{pump.name}.discharge_pressure_bar > 60", 2.0, "hold", force_safe=(pump.name,)))
    alarms.append(StandingAlarm(
        "BELT_STOPPED", "Support belt commanded to run but stopped", 1,
        "support_belt.line_speed_setpoint_m_min > 0.1 and support_belt.line_speed_m_min < 0.02",
        10.0, "hold"))
    return LineControl(loops=tuple(loops), alarms=tuple(alarms), ratios=tuple(ratios))
