"""Process rules that hold on every line, and the facts every rule reads.

Each rule is a pure function ``(RecipeFacts) -> list[RecipeError]``; every error names
its rule id and where the rule comes from. The compiler has already checked the
equipment-level facts (devices, tags, units, limits) and hands over what it resolved;
a rule only sees values that resolved, so one mistake is not reported twice.

The rules here are generic (``LINE.*`` safe sequencing, ``MAT.*`` materials); each line
kind adds its own (``controller.lines.<kind>.rules``: the seeds' ``S000.*``, ``S001.*``,
``S003.*``, ``PHYS.*`` from PHYSICS.md, ``EQ.*`` equipment capacity).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from controller.recipe.control import LineControl
from controller.recipe.errors import RecipeError
from controller.recipe.model import (
    Action,
    LoopAction,
    LoopMode,
    Parameter,
    RampAction,
    RatioAction,
    SetAction,
    Transition,
)
from controller.recipe.schema import RecipeSpec
from drivers.definition import LineDefinition


@dataclass(frozen=True, slots=True)
class ResolvedAction:
    field: str  # e.g. procedure[3].actions[1]
    action: Action


@dataclass(frozen=True, slots=True)
class ResolvedStep:
    index: int
    field: str  # procedure[<index>]
    name: str
    description: str
    actions: tuple[ResolvedAction, ...]
    transition: Transition | None  # None when it did not compile
    production: bool


@dataclass(frozen=True, slots=True)
class RecipeFacts:
    spec: RecipeSpec
    line: LineDefinition
    control: LineControl
    parameters: Mapping[str, Parameter]  # formula and derived, canonical units
    block: object | None  # the line kind's own blocks, compiled (None: they did not)
    steps: tuple[ResolvedStep, ...]


Rule = Callable[[RecipeFacts], list[RecipeError]]

# ------------------------------------------------------------------ sequencing rules
@dataclass(frozen=True, slots=True)
class CommandedState:
    """What the procedure has commanded after a step: outputs and loop modes."""

    outputs: dict[str, float]
    loops: dict[str, LoopAction]


def commanded_states(steps: Sequence[ResolvedStep]) -> list[CommandedState]:
    """The commanded outputs and loop modes after each step (a ramp counts as its target,
    a ratio station in auto as its output at the planned throughput)."""
    outputs: dict[str, float] = {}
    loops: dict[str, LoopAction] = {}
    states = []
    for step in steps:
        for ra in step.actions:
            a = ra.action
            if isinstance(a, SetAction):
                outputs[a.address] = a.value
            elif isinstance(a, RampAction):
                outputs[a.address] = a.target
            elif isinstance(a, RatioAction):
                outputs[a.output] = a.planned_output
            elif isinstance(a, LoopAction):
                loops[a.loop] = a
        states.append(CommandedState(dict(outputs), dict(loops)))
    return states



def heaters_end(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.heaters_end (warning): heating loops left on at the end of the procedure."""
    states = commanded_states(facts.steps)
    if not states:
        return []
    last = facts.steps[-1]
    out = []
    for name, loop in sorted(states[-1].loops.items()):
        if loop.mode is LoopMode.AUTO or (loop.mode is LoopMode.MANUAL and (loop.output or 0.0) != 0.0):
            out.append(RecipeError(f"{last.field}.actions", "LINE.heaters_end",
                                   f"loop {name} is left in {loop.mode.value} at the end; switch it off in the "
                                   "shutdown step unless the line is kept warm on purpose", "warning"))
    for address, value in sorted(states[-1].outputs.items()):
        if address.endswith("heater_output_pct") and value != 0.0:
            out.append(RecipeError(f"{last.field}.actions", "LINE.heaters_end",
                                   f"{address} is left at {value:g} % at the end", "warning"))
    return out


def ratio_matches_materials(facts: RecipeFacts) -> list[RecipeError]:
    """MAT.ratio: a ratio station meters what the materials say (the batch record's
    loading is the materials'): its ratio is the one the compiler derives from them."""
    out = []
    for step in facts.steps:
        for ra in step.actions:
            a = ra.action
            if not isinstance(a, RatioAction) or not a.on:
                continue
            name = facts.control.ratio(a.station).material_ratio_parameter
            expected = facts.parameters.get(name) if name else None
            if name and expected is None:
                out.append(RecipeError(ra.field, "MAT.ratio", f"step {step.name}: {a.station} meters a fluid the "
                                       f"materials do not list (no {name})"))
            elif expected is not None and abs(a.ratio - expected.value) > 1e-6 * max(1.0, expected.value):
                out.append(RecipeError(ra.field, "MAT.ratio", f"step {step.name}: {a.station} ratio {a.ratio:.4g} % is "
                                       f"not the {expected.value:.4g} % the materials' loading gives; use {name}"))
    return out


def output_owner(facts: RecipeFacts) -> list[RecipeError]:
    """LINE.output_owner: a set or ramp does not write an output that a loop in auto or a
    ratio station in auto drives at that point of the procedure (the controller would
    overwrite it on the next scan); switch the loop to manual/off or the station off first."""
    owners: dict[str, str] = {}  # output address -> "loop x" / "ratio station y", while in auto
    loop_outputs = {loop.name: loop.output for loop in facts.control.loops}
    out = []
    for step in facts.steps:
        for ra in step.actions:
            a = ra.action
            if isinstance(a, LoopAction) and a.loop in loop_outputs:
                if a.mode is LoopMode.AUTO:
                    owners[loop_outputs[a.loop]] = f"loop {a.loop}"
                else:
                    owners.pop(loop_outputs[a.loop], None)
            elif isinstance(a, RatioAction):
                if a.on:
                    owners[a.output] = f"ratio station {a.station}"
                else:
                    owners.pop(a.output, None)
            elif isinstance(a, (SetAction, RampAction)) and a.address in owners:
                out.append(RecipeError(ra.field, "LINE.output_owner",
                                       f"step {step.name}: {a.address} is driven by {owners[a.address]} in auto; "
                                       "switch it off (or the loop to manual) before writing it"))
    return out


GENERIC_RULES: tuple[Rule, ...] = (heaters_end, ratio_matches_materials, output_owner)


def check_all(facts: RecipeFacts, kind_rules: Sequence[Rule] = ()) -> list[RecipeError]:
    """Every finding of the line kind's rules, then of the generic rules, in rule order."""
    return [error for rule in (*kind_rules, *GENERIC_RULES) for error in rule(facts)]
