"""A compiled recipe as a JSON document, and back.

The API (or any client) compiles and validates a recipe, which can take a while (units,
rules); the line runtime must never do that work on its scan loop. The client sends the
runtime the compiled recipe as a document: every value already in its tag's unit, every
parameter resolved, conditions as their source text. Loading it back compiles only the
conditions with the safe grammar (tens of microseconds each) against the runtime's own
line, so a document that names a tag the line does not have is refused at load.

The line kind's own blocks travel through its ``block_document``/``block_from_document``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

from controller.recipe.conditions import compile_condition
from controller.recipe.model import (
    Action,
    AlarmAction,
    AlarmDefinition,
    CompiledRecipe,
    LoopAction,
    LoopMode,
    OnTimeout,
    Parameter,
    RampAction,
    RatioAction,
    RecipeHeader,
    SetAction,
    Specification,
    Step,
    Transition,
)

FORMAT = "poreline.compiled-recipe/1"


def content_hash(yaml_text: str) -> str:
    """SHA-256 of the recipe text as stored and signed (hex)."""
    return hashlib.sha256(yaml_text.encode("utf-8")).hexdigest()


def _action_document(action: Action) -> dict[str, Any]:
    if isinstance(action, SetAction):
        return {"set": action.address, "value": action.value}
    if isinstance(action, RampAction):
        return {"ramp": action.address, "target": action.target, "rate_per_s": action.rate_per_s}
    if isinstance(action, LoopAction):
        return {"loop": action.loop, "mode": action.mode.value, "setpoint": action.setpoint, "output": action.output}
    return {"ratio": action.station, "on": action.on, "output": action.output, "value": action.ratio,
            "rate_per_s": action.rate_per_s, "planned_output": action.planned_output}


def _action(doc: Mapping[str, Any]) -> Action:
    if "set" in doc:
        return SetAction(str(doc["set"]), float(doc["value"]))
    if "ramp" in doc:
        return RampAction(str(doc["ramp"]), float(doc["target"]), float(doc["rate_per_s"]))
    if "loop" in doc:
        return LoopAction(str(doc["loop"]), LoopMode(doc["mode"]), _optional(doc.get("setpoint")),
                          _optional(doc.get("output")))
    return RatioAction(str(doc["ratio"]), bool(doc["on"]), str(doc["output"]), float(doc["value"]),
                       _optional(doc.get("rate_per_s")), float(doc["planned_output"]))


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def to_document(recipe: CompiledRecipe, block_document: Callable[[object], dict[str, Any]]) -> dict[str, Any]:
    h = recipe.header
    return {
        "format": FORMAT,
        "header": {"recipe_id": h.recipe_id, "name": h.name, "version": h.version, "line_kind": h.line_kind,
                   "product": h.product, "description": h.description, "source": h.source},
        "parameters": {n: {"value": p.value, "unit": p.unit, "low": p.low, "high": p.high}
                       for n, p in recipe.parameters.items()},
        "block": block_document(recipe.block),
        "steps": [{"name": s.name, "description": s.description, "production": s.production,
                   "actions": [_action_document(a) for a in s.actions],
                   "transition": {"condition": s.transition.condition.source, "hold_for_s": s.transition.hold_for_s,
                                  "timeout_s": s.transition.timeout_s, "on_timeout": s.transition.on_timeout.value}}
                  for s in recipe.steps],
        "alarms": [{"alarm_id": a.alarm_id, "message": a.message, "priority": a.priority,
                    "condition": a.condition.source, "delay_s": a.delay_s, "action": a.action.value,
                    "only_in_steps": sorted(a.only_in_steps), "force_safe": list(a.force_safe)}
                   for a in recipe.alarms],
        "specification": [{"address": q.address, "low": q.low, "high": q.high, "unit": q.unit,
                           "max_out_of_spec_fraction": q.max_out_of_spec_fraction, "description": q.description}
                          for q in recipe.specification],
        "yaml_text": recipe.yaml_text,
        "content_hash": content_hash(recipe.yaml_text),
    }


def from_document(doc: Mapping[str, Any], known_addresses: Collection[str],
                  block_from_document: Callable[[dict[str, Any]], object]) -> CompiledRecipe:
    """The compiled recipe of ``doc`` for a line whose tags are ``known_addresses``.
    Raises ValueError (a wrong format, a content hash that does not match the text) or
    ``ConditionError`` (a condition naming a tag the line does not have)."""
    if doc.get("format") != FORMAT:
        raise ValueError(f"not a compiled recipe document (format {doc.get('format')!r}, expected {FORMAT})")
    yaml_text = str(doc["yaml_text"])
    if content_hash(yaml_text) != doc.get("content_hash"):
        raise ValueError("the recipe text does not match its content hash")
    parameters = {n: Parameter(n, float(p["value"]), str(p["unit"]), _optional(p.get("low")),
                               _optional(p.get("high")))
                  for n, p in doc["parameters"].items()}
    values = {n: p.value for n, p in parameters.items()}

    def condition(source: str) -> Any:
        return compile_condition(source, known_addresses=known_addresses, parameters=values)

    steps = tuple(
        Step(name=str(s["name"]), description=str(s["description"]),
             actions=tuple(_action(a) for a in s["actions"]),
             transition=Transition(condition(s["transition"]["condition"]), float(s["transition"]["hold_for_s"]),
                                   float(s["transition"]["timeout_s"]), OnTimeout(s["transition"]["on_timeout"])),
             production=bool(s["production"]))
        for s in doc["steps"])
    alarms = tuple(
        AlarmDefinition(alarm_id=str(a["alarm_id"]), message=str(a["message"]), priority=int(a["priority"]),
                        condition=condition(a["condition"]), delay_s=float(a["delay_s"]),
                        action=AlarmAction(a["action"]), only_in_steps=frozenset(a["only_in_steps"]),
                        force_safe=tuple(a["force_safe"]))
        for a in doc["alarms"])
    specification = tuple(
        Specification(address=str(q["address"]), low=_optional(q["low"]), high=_optional(q["high"]),
                      unit=str(q["unit"]), max_out_of_spec_fraction=float(q["max_out_of_spec_fraction"]),
                      description=str(q["description"]))
        for q in doc.get("specification", ()))
    for q in specification:
        if q.address not in known_addresses:
            raise ValueError(f"specification: {q.address} is not a tag of this line")
    h = doc["header"]
    header = RecipeHeader(recipe_id=str(h["recipe_id"]), name=str(h["name"]), version=int(h["version"]),
                          line_kind=str(h["line_kind"]), product=str(h["product"]),
                          description=str(h["description"]), source=str(h["source"]))
    return CompiledRecipe(header=header, parameters=parameters, block=block_from_document(dict(doc["block"])),
                          steps=steps, alarms=alarms, yaml_text=yaml_text, specification=specification)
