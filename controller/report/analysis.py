"""Pure computations of the batch report: the PackML state timeline replayed from the command
log, which tag each formula parameter was set on, the production windows, and the formula's
actual values against their setpoints. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.engine.states import STATE_COMPLETE, Command, CommandRejected, UnitState, next_state
from controller.recipe.model import Parameter
from controller.recipe.units import UnitError, convert
from controller.report.model import FormulaRow, Report, StateSpan
from drivers.definition import LineDefinition
from drivers.profiles import Direction

SETPOINT_WORD = "setpoint"


@dataclass(frozen=True, slots=True)
class LoggedCommand:
    t_s: float
    command: str
    user: str
    accepted: bool
    reason: str | None


def hms(seconds: float | None) -> str:
    """A duration or a run time as h:mm:ss ("—" for none)."""
    if seconds is None:
        return "—"
    t = round(seconds)
    return f"{t // 3600:d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def wall(moment: datetime | None) -> str:
    """A wall time as the report prints it (UTC, to the second)."""
    return "—" if moment is None else moment.isoformat(sep=" ", timespec="seconds")


def event_clock(report: Report) -> str:
    """The clock the report tells its events on: wall time (UTC), or for a simulated run its
    own run time, since its simulated seconds are not wall seconds."""
    return "run time" if report.header.simulated else "UTC"


def event_time(report: Report, moment: datetime | None) -> str:
    """When an event of the run happened, on ``event_clock``: a simulated run's moments are
    ``time_origin`` plus simulated seconds, told as run time h:mm:ss."""
    if moment is None or not report.header.simulated:
        return wall(moment)
    return hms((moment - report.time_origin).total_seconds())


def state_timeline(commands: Iterable[LoggedCommand], end_t_s: float, final_state: str | None) -> list[StateSpan]:
    """The unit's wait and acting states over the run, replayed from its accepted PackML
    commands through the state table (an acting state such as Holding completes within the scan
    that entered it, so each command leads to the state it settles in). The run's final state
    (e.g. Complete, reached by the procedure without a command) closes the timeline at
    ``end_t_s``."""
    spans: list[StateSpan] = []
    state = UnitState.IDLE
    opened: tuple[UnitState, float, str] | None = None
    for logged in commands:
        if not logged.accepted:
            continue
        try:
            command = Command(logged.command)
            target = next_state(state, command)
        except (ValueError, CommandRejected):  # an alarm or loop action, or a command that did not act
            continue
        settled = STATE_COMPLETE.get(target, target)
        cause = f"{logged.command} by {logged.user}" + (f": {logged.reason}" if logged.reason else "")
        if opened is not None:
            spans.append(StateSpan(opened[0].value, opened[1], logged.t_s, opened[2]))
        opened, state = (settled, logged.t_s, cause), settled
    if opened is None:
        return spans
    if final_state is not None and final_state != opened[0].value:
        spans.append(StateSpan(opened[0].value, opened[1], end_t_s, opened[2]))
        spans.append(StateSpan(final_state, end_t_s, end_t_s, "end of the procedure"
                               if final_state == UnitState.COMPLETE.value else "end of the run"))
    else:
        spans.append(StateSpan(opened[0].value, opened[1], end_t_s, opened[2]))
    return spans


def execute_spans(spans: Iterable[StateSpan]) -> list[tuple[float, float]]:
    return [(s.start_t_s, s.end_t_s) for s in spans if s.state == UnitState.EXECUTE.value and s.seconds > 0.0]


def intersect(a: Iterable[tuple[float, float]], b: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The overlaps of two sets of intervals (each ordered, non-overlapping), empty ones dropped."""
    out: list[tuple[float, float]] = []
    for a_lo, a_hi in a:
        for b_lo, b_hi in b:
            lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a formula parameter went: a setpoint tag (``set``/``ramp``) or a loop's setpoint."""

    kind: str  # "tag" or "loop"
    name: str  # the tag's address or the loop's name
    production: bool  # set in a production step


def parameter_targets(recipe_data: Mapping[str, Any]) -> dict[str, Target]:
    """For each formula parameter a procedure action sets, its target: the first one set in a
    production step, else the first one set anywhere (``recipe_data``: the recipe's parsed YAML)."""
    found: dict[str, Target] = {}
    procedure = recipe_data.get("procedure")
    for step in procedure if isinstance(procedure, list) else []:
        if not isinstance(step, dict):
            continue
        production = bool(step.get("production", False))
        actions = step.get("actions")
        for action in actions if isinstance(actions, list) else []:
            if not isinstance(action, dict):
                continue
            if "set" in action:
                target, value = Target("tag", str(action["set"]), production), action.get("value")
            elif "ramp" in action:
                target, value = Target("tag", str(action["ramp"]), production), action.get("to")
            elif "loop" in action:
                target, value = Target("loop", str(action["loop"]), production), action.get("setpoint")
            else:
                continue
            if not isinstance(value, str):
                continue
            known = found.get(value)
            if known is None or (production and not known.production):
                found[value] = target
    return found


def measured_tag(setpoint: str, addresses: Iterable[str], pairs: Iterable[tuple[str, str]] = ()) -> str | None:
    """The tag that measures what ``setpoint`` sets: a pair the line kind declares
    (measured, setpoint), else the device's tag named without the word "setpoint"
    (``speed_setpoint_rpm`` -> ``speed_rpm``), else its one tag named with one word in its place
    (``zone_1_setpoint_c`` -> ``zone_1_temperature_c``), else the setpoint itself is not
    measured (None)."""
    for measured, declared in pairs:
        if declared == setpoint:
            return measured
    known = set(addresses)
    device, _, name = setpoint.partition(".")
    words = name.split("_")
    if SETPOINT_WORD not in words:
        return None
    at = words.index(SETPOINT_WORD)
    candidate = f"{device}.{'_'.join(words[:at] + words[at + 1:])}"
    if candidate in known:
        return candidate
    same_place = [a for a in known if a != setpoint and a.startswith(device + ".")
                  and (other := a.partition(".")[2].split("_"))[:at] == words[:at]
                  and other[at + 1:] == words[at + 1:] and len(other) == len(words)]
    return same_place[0] if len(same_place) == 1 else None


def setpoint_pairs(definition: LineDefinition, pairs: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """measured tag -> the setpoint tag that sets it (the pairs the line kind declares, else
    the device's setpoint named like the measurement with the word "setpoint")."""
    addresses = definition.addresses()
    found: dict[str, str] = {measured: setpoint for measured, setpoint in pairs if setpoint}
    for device in definition.devices:
        for tag in device.profile.tags:
            if tag.direction is Direction.SETPOINT:
                address = f"{device.name}.{tag.name}"
                measured = measured_tag(address, addresses, pairs)
                if measured is not None:
                    found.setdefault(measured, address)
    return found


def device_pairs(tags: Mapping[str, object], pairs: Mapping[str, str]) -> dict[str, str]:
    """The pairs (measured -> setpoint address) of one device's ``tags`` (by address)."""
    return {measured: setpoint for measured, setpoint in pairs.items() if measured in tags and setpoint in tags}


def formula_rows(parameters: Mapping[str, Parameter], actuals: Mapping[str, tuple[str, float | None, str]],
                 master_values: Mapping[str, float] | None = None) -> list[FormulaRow]:
    """Each parameter with its actual: ``actuals`` maps a parameter to (tag, production mean,
    tag unit); the mean is converted to the parameter's unit (None when it cannot be).
    ``master_values``: the master recipe's value of each parameter the run adjusted."""
    masters = master_values or {}
    rows: list[FormulaRow] = []
    for name, parameter in parameters.items():
        tag, mean, unit = actuals.get(name, (None, None, ""))
        actual: float | None = None
        if mean is not None:
            try:
                actual = mean if unit == parameter.unit else convert(mean, unit, parameter.unit)
            except UnitError:
                actual = None
        rows.append(FormulaRow(name, parameter.unit, parameter.value, parameter.low, parameter.high, actual, tag,
                               masters.get(name)))
    return rows


def combine(stats: Iterable[tuple[int, float | None, float | None, float | None]]
            ) -> tuple[float, float, float] | None:
    """(mean, min, max) over buckets of (count, avg, min, max) (None: no value)."""
    count, total = 0, 0.0
    lo: float | None = None
    hi: float | None = None
    for n, avg, vmin, vmax in stats:
        if n <= 0 or avg is None or vmin is None or vmax is None:
            continue
        count += n
        total += avg * n
        lo = vmin if lo is None else min(lo, vmin)
        hi = vmax if hi is None else max(hi, vmax)
    if count == 0 or lo is None or hi is None:
        return None
    return total / count, lo, hi


def abridged(lines: Sequence[str], keep: int) -> list[str]:
    """``lines``, or when there are more than ``keep`` (a chattering alarm's transitions) the
    first and last ``keep // 2`` with a line saying how many were left out between them."""
    if len(lines) <= keep:
        return list(lines)
    half = keep // 2
    return [*lines[:half], f"... {len(lines) - 2 * half} more transitions ...", *lines[len(lines) - half:]]
