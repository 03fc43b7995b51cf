"""What the screens show, computed from the line definition and the runtime's status: values in
display units rounded to their tag's resolution, devices in process order, alarms in the order
an operator works them. Pure functions (no I/O), tested on their own."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from controller.report.analysis import device_pairs, hms
from drivers.definition import LineDefinition
from drivers.display import format_value, label, shown_unit
from drivers.profiles import Direction, Tag

# how each direction is grouped on a device's panel
SECTIONS: tuple[tuple[str, tuple[Direction, ...]], ...] = (
    ("measurements", (Direction.MEASURED, Direction.STATUS)),
    ("setpoints", (Direction.SETPOINT,)),
    ("outputs", (Direction.COMMAND,)),
)
QUALITY_TEXT = {"good": "good", "stale": "stale (last good value)", "bad_comm": "no communication",
                "not_computed": "not computed"}
ALARM_STATE_ORDER = {"unacknowledged": 0, "rtn_unacknowledged": 1, "acknowledged": 2, "shelved": 3}
PRIORITY_TEXT = {1: "critical", 2: "high", 3: "medium", 4: "low"}
HOLD_STATES = frozenset({"Holding", "Held"})


@dataclass(frozen=True, slots=True)
class TagView:
    address: str
    label: str
    value: str
    unit: str
    quality: str
    quality_text: str
    direction: str
    setpoint: TagView | None = None  # a measurement's setpoint, shown beside it


@dataclass(frozen=True, slots=True)
class DeviceView:
    name: str
    label: str
    kind: str
    quality: str
    quality_text: str
    sections: tuple[tuple[str, tuple[TagView, ...]], ...]


def _tag_view(address: str, tag: Tag, live: Mapping[str, Sequence[Any]], prefix: str = "",
              setpoint: TagView | None = None) -> TagView:
    value, quality = live.get(address, (None, "bad_comm"))
    return TagView(address=address, label=prefix + label(tag.name, tag.unit), value=format_value(value, tag),
                   unit=shown_unit(tag),
                   quality=str(quality), quality_text=QUALITY_TEXT.get(str(quality), str(quality)),
                   direction=tag.direction.value, setpoint=setpoint)


def schematic(definition: LineDefinition, stages: Iterable[Iterable[str]], live: Mapping[str, Sequence[Any]],
              pairs: Mapping[str, str] | None = None) -> list[list[DeviceView]]:
    """The devices stage by stage (process order), each with its tags grouped in sections; a
    measurement shows the setpoint tag that sets it (``pairs``: measured -> setpoint address)
    beside it, and that setpoint is not listed again."""
    drawn: list[list[DeviceView]] = []
    for stage in stages:
        row = []
        for name in stage:
            spec = definition.device(name)
            tags = {f"{name}.{t.name}": t for t in spec.profile.tags}
            own = device_pairs(tags, pairs or {})
            sections = []
            for title, directions in SECTIONS:
                views = tuple(_tag_view(address, t, live, setpoint=_tag_view(own[address], tags[own[address]], live)
                                        if address in own else None)
                              for address, t in tags.items()
                              if t.direction in directions and address not in own.values())
                if views:
                    sections.append((title, views))
            quality = str(live.get(f"{name}.{spec.profile.tags[0].name}", (None, "bad_comm"))[1])
            row.append(DeviceView(name=name, label=label(name), kind=spec.profile.kind, quality=quality,
                                  quality_text=QUALITY_TEXT.get(quality, quality), sections=tuple(sections)))
        drawn.append(row)
    return drawn


def derived(definition: LineDefinition, live: Mapping[str, Sequence[Any]]) -> list[TagView]:
    """The quality estimates the controller computes (soft sensors), in declaration order."""
    return [_tag_view(d.address, d.tag, live, f"{label(d.device)}: ") for d in definition.derived]


def sorted_alarms(alarms: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Highest priority first; within a priority unacknowledged first, then the newest."""
    return sorted(alarms, key=lambda a: (a["priority"], ALARM_STATE_ORDER.get(a["state"], 9), -a["raised_t_s"]))


@dataclass(frozen=True, slots=True)
class AlarmCounts:
    total: int
    unacknowledged: int
    shelved: int


def alarm_counts(alarms: Iterable[Mapping[str, Any]]) -> AlarmCounts:
    states = [a["state"] for a in alarms]
    return AlarmCounts(total=len(states), unacknowledged=sum(s in ("unacknowledged", "rtn_unacknowledged") for s in states),
                       shelved=states.count("shelved"))


def duration(seconds: float | None) -> str:
    """``seconds`` as h:mm:ss (process time), never below 0; "—" for none."""
    if seconds is None or math.isnan(seconds):
        return "—"
    return hms(max(0.0, seconds))


def wall_time(epoch_s: float) -> str:
    """Unix epoch seconds (a run-less alarm's times) as UTC wall time."""
    return f"{datetime.fromtimestamp(epoch_s, UTC):%Y-%m-%d %H:%M:%S} UTC"


@dataclass(frozen=True, slots=True)
class StepView:
    number: int  # 1-based; 0: no step
    count: int
    name: str | None
    elapsed: str
    progress_pct: float | None  # of the transition's hold time, once its condition holds
    remaining: str  # of the hold time, or of the timeout while the condition waits
    waiting_for: str | None  # the condition, while it is not met


def step_view(status: Mapping[str, Any]) -> StepView:
    hold_for = status.get("step_hold_for_s")
    held = status.get("step_condition_true_s")
    timeout, counted = status.get("step_timeout_s"), status.get("step_timeout_elapsed_s")
    progress = remaining = None
    waiting = None
    if hold_for is not None and held is not None:
        progress = 100.0 if hold_for <= 0 else min(100.0, 100.0 * held / hold_for)
        remaining = f"{duration(max(0.0, hold_for - held))} to the next step"
    elif timeout is not None and counted is not None and status.get("step_name"):
        waiting = status.get("step_condition")
        remaining = f"{duration(max(0.0, timeout - counted))} to the timeout"
    return StepView(number=status["step_index"] + 1 if status.get("step_name") else 0,
                    count=int(status.get("step_count") or 0), name=status.get("step_name"),
                    elapsed=duration(status.get("step_elapsed_s")), progress_pct=progress,
                    remaining=remaining or "—", waiting_for=waiting)
