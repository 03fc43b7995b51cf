"""A line's controller configuration: its loops, ratio stations and standing alarms (the
recipe language checks recipes against it, the engine runs it).

The line definition (``drivers.definition``) says which devices exist; a line kind
(``controller.lines``) says how the controller closes loops around them and which alarms
always apply, whatever the recipe. Recipes switch loops and give setpoints; they cannot
invent loops.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoopDefinition:
    """A PID loop: ``pv`` is read, ``output`` is written.

    ``gain`` is in output units per pv unit; ``reverse`` means a rising pv must lower the
    output (heating: a hotter bath needs less heater output, so heating loops are
    reverse acting in this sign convention: error = setpoint - pv, output rises with error).
    """

    name: str
    pv: str  # device.tag of a measured tag
    output: str  # device.tag of a setpoint tag
    gain: float
    integral_time_s: float
    derivative_time_s: float = 0.0
    direct_acting: bool = False  # True: output rises when pv rises above setpoint (cooling, dilution)
    description: str = ""


@dataclass(frozen=True, slots=True)
class RatioDefinition:
    """A ratio station (``controller.engine.ratio``): ``output`` (a flow setpoint) is held at
    ratio × ``wild`` × ``scale``. ``wild`` may be a measured tag or a soft-sensor value
    (``device.tag`` either way); ``ratio_unit`` is the unit recipes give the ratio in."""

    name: str
    wild: str
    output: str
    ratio_unit: str
    scale: float  # output units per (wild unit × ratio unit)
    description: str = ""
    # recipe parameter holding the planned wild flow (in the wild's unit), if the compiler
    # derives one: the compiler checks the output it gives against the output's limits
    planned_wild_parameter: str = ""
    # recipe parameter the compiler derives the ratio into from the materials (e.g. a gas
    # ratio from the blowing agent's loading); a recipe's ratio must agree with it
    material_ratio_parameter: str = ""
    # output of a master loop (device.tag, percent) that trims the ratio by 1 + trim/100
    # (cascade: e.g. a thickness gauge trimming pump speed to belt speed); "" for none
    trim: str = ""


@dataclass(frozen=True, slots=True)
class StandingAlarm:
    alarm_id: str
    message: str
    priority: int
    condition: str  # source in the condition grammar (controller.recipe.conditions)
    delay_s: float
    action: str  # AlarmAction value
    force_safe: tuple[str, ...] = ()  # interlock: devices or device.tag outputs forced safe


@dataclass(frozen=True, slots=True)
class LineControl:
    loops: tuple[LoopDefinition, ...]
    alarms: tuple[StandingAlarm, ...]
    ratios: tuple[RatioDefinition, ...] = ()

    def loop(self, name: str) -> LoopDefinition:
        for loop in self.loops:
            if loop.name == name:
                return loop
        raise KeyError(f"no loop {name!r} (loops: {', '.join(loop.name for loop in self.loops)})")

    def ratio(self, name: str) -> RatioDefinition:
        for ratio in self.ratios:
            if ratio.name == name:
                return ratio
        raise KeyError(f"no ratio station {name!r} (ratio stations: {', '.join(r.name for r in self.ratios) or 'none'})")
