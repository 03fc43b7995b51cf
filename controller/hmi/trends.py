"""The trends page's data: the tags a trend can show, grouped by device (from the line's
definition), each measurement with the setpoint tag that sets it; a tag's series over a window
of its run, read with the history store's ``trend`` (per-minute rollups for wide windows, as
``GET /runs/{id}/trend``), with its setpoint's series on the same time axis, its declared
limits, and the recipe's value and limits of the formula parameter set on it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from controller.recipe.control import LineControl
from controller.recipe.model import CompiledRecipe
from controller.report.analysis import measured_tag, parameter_targets, setpoint_pairs
from controller.store import TrendPoint, trend
from drivers.definition import LineDefinition
from drivers.display import display_unit, label

# (key, label, seconds; None: the run's whole span)
WINDOWS: tuple[tuple[str, str, float | None], ...] = (
    ("10m", "10 min", 600.0), ("1h", "1 h", 3600.0), ("8h", "8 h", 8 * 3600.0), ("24h", "24 h", 24 * 3600.0),
    ("run", "Whole run", None),
)
WINDOW_SECONDS = {key: seconds for key, _, seconds in WINDOWS}
DEFAULT_WINDOW = "1h"
MAX_POINTS = 600  # about one per pixel of a chart at 1280 px


@dataclass(frozen=True, slots=True)
class TagChoice:
    address: str
    label: str
    unit: str
    setpoint: str | None  # the setpoint tag drawn with this measurement


@dataclass(frozen=True, slots=True)
class DeviceTags:
    name: str
    label: str
    tags: tuple[TagChoice, ...]


def tag_choices(definition: LineDefinition, pairs: tuple[tuple[str, str], ...] = ()) -> list[DeviceTags]:
    """Every device's tags and the derived tags computed for it, device by device."""
    paired = setpoint_pairs(definition, pairs)
    out = []
    for device in definition.devices:
        declared = [(f"{device.name}.{t.name}", t) for t in device.profile.tags]
        declared += [(d.address, d.tag) for d in definition.derived if d.device == device.name]
        choices = tuple(TagChoice(address, label(tag.name, tag.unit), display_unit(tag.unit), paired.get(address))
                        for address, tag in declared)
        out.append(DeviceTags(device.name, label(device.name), choices))
    return out


@dataclass(frozen=True, slots=True)
class RecipeLine:
    """The formula parameter set on a tag (directly, through its setpoint tag or its loop)."""

    parameter: str
    value: float
    low: float | None
    high: float | None


def recipe_lines(recipe: CompiledRecipe, recipe_data: dict[str, Any], definition: LineDefinition,
                 control: LineControl, pairs: tuple[tuple[str, str], ...] = ()) -> dict[str, RecipeLine]:
    """measured tag -> the formula parameter the procedure sets on it (``recipe_data``: the
    recipe's parsed YAML; a parameter in another unit than the tag's is not drawn)."""
    addresses = definition.addresses()
    out: dict[str, RecipeLine] = {}
    for name, target in parameter_targets(recipe_data).items():
        try:
            tag = control.loop(target.name).pv if target.kind == "loop" else (
                measured_tag(target.name, addresses, pairs) or target.name)
            unit = definition.tag(tag).unit
        except (KeyError, ValueError):
            continue
        parameter = recipe.parameters.get(name)
        if parameter is not None and parameter.unit == unit:
            out.setdefault(tag, RecipeLine(name, parameter.value, parameter.low, parameter.high))
    return out


def window(span: tuple[float, float], key: str) -> tuple[float, float]:
    """The window ``key`` over a series spanning ``span``: its last seconds, or all of it."""
    first, last = span
    seconds = WINDOW_SECONDS[key]
    return (first if seconds is None else max(first, last - seconds)), last


def series_span(session: Session, run_id: int, tag: str) -> tuple[float, float] | None:
    """The first and last instant of ``tag``'s samples in the run (None: none yet)."""
    whole = trend(session, run_id, tag, None, None, 1)
    return (whole[0].t_s, whole[-1].t_end_s) if whole else None


def aligned(measured: list[TrendPoint], setpoint: list[TrendPoint]) -> dict[str, list[Any]]:
    """Both series on one time axis (a bucket's start), None where a series has no value."""
    own = {p.t_s: p for p in measured}
    sp = {p.t_s: p.avg for p in setpoint}
    times = sorted(own.keys() | sp.keys())
    return {
        "t": times,
        "avg": [own[t].avg if t in own else None for t in times],
        "min": [own[t].min if t in own else None for t in times],
        "max": [own[t].max if t in own else None for t in times],
        "setpoint": [sp.get(t) for t in times],
    }


def tag_series(session: Session, definition: LineDefinition, run_id: int, address: str, key: str,
               pairs: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
    """The chart's data of ``address`` over window ``key`` of the run: the measurement
    (average, min and max per bucket), its setpoint tag's average on the same buckets, and the
    tag's declared limits (``low``, ``high``)."""
    tag = definition.tag(address)
    setpoint = setpoint_pairs(definition, pairs).get(address)
    span = series_span(session, run_id, address)
    data: dict[str, Any] = {"run_id": run_id, "tag": address, "label": label(tag.name, tag.unit),
                            "unit": display_unit(tag.unit), "setpoint_tag": setpoint, "low": tag.low, "high": tag.high,
                            "window": key, "t_from_s": None, "t_to_s": None}
    if span is None:
        return data | aligned([], [])
    t_from, t_to = window(span, key)
    measured = trend(session, run_id, address, t_from, t_to, MAX_POINTS)
    planned = trend(session, run_id, setpoint, t_from, t_to, MAX_POINTS) if setpoint else []
    return data | {"t_from_s": t_from, "t_to_s": t_to} | aligned(measured, planned)
