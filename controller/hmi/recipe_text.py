"""What the recipe pages show, computed from a recipe's text: each validation error at the line
of its field, the formula and procedure of a compiled recipe as rows, a diff as classified
lines. Pure functions (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import yaml

from controller.hmi.display import duration
from controller.recipe import RecipeError
from controller.recipe.model import Action, CompiledRecipe, LoopAction, RampAction, RatioAction, SetAction

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def field_path(field: str) -> list[str | int]:
    """``procedure[5].transition.hold_for`` -> ``["procedure", 5, "transition", "hold_for"]``."""
    return [int(index) if index else name for name, index in _PART.findall(field)]


def field_line(text: str, field: str) -> int | None:
    """The 1-based line of ``text`` where ``field`` is written: its key's line, or the line of
    the deepest part of its path the text has (None: unreadable text, or no part of it)."""
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line: int | None = None
    for part in field_path(field):
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    line, child = key.start_mark.line + 1, value
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


@dataclass(frozen=True, slots=True)
class TextLine:
    number: int
    text: str
    errors: tuple[RecipeError, ...]


def annotated(text: str, errors: Iterable[RecipeError]) -> tuple[list[TextLine], list[RecipeError]]:
    """The text's lines, each with the errors of the fields written on it; and the errors no
    line of the text holds (a syntax error names its line in its message)."""
    by_line: dict[int, list[RecipeError]] = {}
    unplaced: list[RecipeError] = []
    for error in errors:
        line = field_line(text, error.field) if error.field else None
        if line is None:
            unplaced.append(error)
        else:
            by_line.setdefault(line, []).append(error)
    lines = [TextLine(n, t, tuple(by_line.get(n, ()))) for n, t in enumerate(text.splitlines(), start=1)]
    return lines, unplaced


@dataclass(frozen=True, slots=True)
class FormulaRow:
    name: str
    value: str
    unit: str
    low: str
    high: str


@dataclass(frozen=True, slots=True)
class StepRow:
    number: int
    name: str
    description: str
    production: bool
    actions: tuple[str, ...]
    condition: str
    hold_for: str
    timeout: str
    on_timeout: str


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def describe(action: Action) -> str:
    """One procedure action as a sentence fragment."""
    if isinstance(action, SetAction):
        return f"set {action.address} to {action.value:g}"
    if isinstance(action, RampAction):
        return f"ramp {action.address} to {action.target:g} at {action.rate_per_s * 60:g}/min"
    if isinstance(action, LoopAction):
        parts = [f"loop {action.loop} {action.mode.value}"]
        if action.setpoint is not None:
            parts.append(f"setpoint {action.setpoint:g}")
        if action.output is not None:
            parts.append(f"output {action.output:g}")
        return " ".join(parts)
    if isinstance(action, RatioAction):
        return f"ratio {action.station} {'on' if action.on else 'off'}" + (f", ratio {action.ratio:g}" if action.on else "")
    return str(action)


def formula_rows(recipe: CompiledRecipe) -> list[FormulaRow]:
    return [FormulaRow(p.name, _number(p.value), p.unit, _number(p.low), _number(p.high))
            for p in recipe.parameters.values()]


def step_rows(recipe: CompiledRecipe) -> list[StepRow]:
    return [StepRow(number=n, name=s.name, description=s.description, production=s.production,
                    actions=tuple(describe(a) for a in s.actions), condition=s.transition.condition.source,
                    hold_for=duration(s.transition.hold_for_s), timeout=duration(s.transition.timeout_s),
                    on_timeout=s.transition.on_timeout.value)
            for n, s in enumerate(recipe.steps, start=1)]


@dataclass(frozen=True, slots=True)
class DiffLine:
    kind: str  # "added", "removed", "hunk", "file" or "same"
    text: str


def diff_lines(diff: str) -> list[DiffLine]:
    """A unified diff's lines, each classified for the page (and its screen reader label)."""
    out: list[DiffLine] = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "added"
        elif line.startswith("-"):
            kind = "removed"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out

