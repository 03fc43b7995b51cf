"""YAML text -> ``CompiledRecipe``, or ``RecipeInvalid`` with every error found.

Order of work: YAML syntax, then shape (the line kind's ``RecipeSpec``), then meaning:
header, formula (parameters in canonical units), the line kind's own blocks (e.g. layers
and the mass balance of a casting line), procedure (tags, units, limits, loops,
transitions, conditions), alarms, and finally the process rules (the generic ones of
``rules`` and the line kind's). Every stage after the shape collects all its errors
instead of stopping at the first.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sized
from typing import Any

import yaml
from pydantic import ValidationError

from controller.recipe import rules
from controller.recipe.conditions import ConditionError, compile_condition
from controller.recipe.context import NAME, CompileContext, unit_error
from controller.recipe.control import LineControl
from controller.recipe.errors import RecipeError, RecipeInvalid
from controller.recipe.kind import RecipeKind
from controller.recipe.limits import MAX_YAML_DEPTH, text_problem
from controller.recipe.model import (
    Action,
    AlarmAction,
    AlarmDefinition,
    CompiledRecipe,
    Condition,
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
from controller.recipe.rules import RecipeFacts, ResolvedAction, ResolvedStep
from controller.recipe.schema import LoopSpec, RampSpec, RatioSpec, RecipeSpec, SetSpec
from controller.recipe.units import UnitError, canonical, rate_unit, to_unit
from drivers.definition import LineDefinition
from drivers.profiles import DataType, Tag

_RESERVED = frozenset({"true", "false", "abs", "min", "max", "and", "or", "not"})


# ----------------------------------------------------------------------------- API
def compile_recipe(text: str, kind: RecipeKind, line: LineDefinition, control: LineControl) -> CompiledRecipe:
    """Compile recipe YAML for ``line`` (of ``kind``); raise ``RecipeInvalid`` listing every error."""
    recipe, _warnings = compile_recipe_with_warnings(text, kind, line, control)
    return recipe


def compile_recipe_with_warnings(
    text: str, kind: RecipeKind, line: LineDefinition, control: LineControl
) -> tuple[CompiledRecipe, list[RecipeError]]:
    """As ``compile_recipe``, and also return the warnings (e.g. outside a preferred range)."""
    recipe, findings = _compile(text, kind, line, control)
    errors = [f for f in findings if f.severity == "error"]
    warnings = [f for f in findings if f.severity == "warning"]
    if errors or recipe is None:
        raise RecipeInvalid(errors, warnings)
    return recipe, warnings


def check_recipe(text: str, kind: RecipeKind, line: LineDefinition, control: LineControl) -> list[RecipeError]:
    """Every finding (errors and warnings) without raising: for editors and approval."""
    return _compile(text, kind, line, control)[1]


def compile_standing_alarms(line: LineDefinition, control: LineControl) -> tuple[AlarmDefinition, ...]:
    """The line's standing alarms (``control.alarms``) compiled with the same grammar."""
    known = _known_addresses(line)
    return tuple(
        AlarmDefinition(
            alarm_id=a.alarm_id, message=a.message, priority=a.priority,
            condition=compile_condition(a.condition, known_addresses=known, parameters={}),
            delay_s=a.delay_s, action=AlarmAction(a.action), force_safe=a.force_safe,
        )
        for a in control.alarms
    )


def load_yaml(text: str) -> tuple[object, list[RecipeError]]:
    """The YAML document, or why it cannot be read: text over the size limit or not
    encodable as UTF-8, a syntax error, a key given twice, an anchor or alias, nesting
    deeper than ``MAX_YAML_DEPTH``, or a value YAML cannot construct."""
    problem = text_problem(text)
    if problem is not None:
        return None, [RecipeError("", "recipe.text", problem)]
    try:
        _check_structure(text)  # before anything is composed or constructed
        return yaml.load(text, Loader=_RecipeLoader), []
    except _Refused as exc:
        return None, [RecipeError("", exc.rule, exc.message)]
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return None, [RecipeError("", "yaml.duplicate_key", f"{where}{exc.problem}")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [RecipeError("", "yaml.syntax", f"YAML syntax error: {where}{problem}")]
    except (ValueError, OverflowError) as exc:  # e.g. a date like 2024-13-45, an integer of 5000 digits
        return None, [RecipeError("", "yaml.value", f"a YAML value cannot be read: {_shown(str(exc), 120)}")]


# ------------------------------------------------------------------------- parsing
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml: the same loader in Python
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Refused(yaml.YAMLError):
    """The loader refused a construct that recipes do not use; ``message`` says where."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


def _check_structure(text: str) -> None:
    """Refuse anchors and aliases (a few KB of aliases expand to a recipe the validator
    takes seconds over, growing quadratically; a recipe never needs them) and nesting
    deeper than ``MAX_YAML_DEPTH``, from the parser's events: nothing is built yet."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused("yaml.alias", f"YAML anchors and aliases are not allowed (line {line}): "
                                         "write each value out")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise _Refused("yaml.depth", f"YAML nested deeper than {MAX_YAML_DEPTH} levels (line {line})")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


class _RecipeLoader(_SafeLoader):
    """A SafeLoader (libyaml's when PyYAML has it: ten times faster) that refuses a key
    given twice in one mapping (YAML keeps the last). Anchors, aliases and deep nesting
    were refused before (``_check_structure``)."""


def _construct_mapping(loader: _RecipeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            continue  # SafeLoader refuses it below ("found unhashable key")
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {_shown(repr(key), 60)} given twice (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_RecipeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _field_path(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.startswith("<"):
            continue  # the action-kind tag of the union, not a YAML key
        else:
            path += f".{part}" if path else str(part)
    return path


def load_recipe_mapping(text: str) -> tuple[dict[str, Any] | None, list[RecipeError]]:
    """:func:`load_yaml`, and the document must be a mapping (a recipe's top level)."""
    data, errors = load_yaml(text)
    if errors:
        return None, errors
    if not isinstance(data, dict):
        return None, [RecipeError("", "yaml.document", "a recipe is a YAML mapping with header, formula, procedure ...")]
    return data, []


def parse_spec(text: str, spec_model: type[RecipeSpec] = RecipeSpec) -> tuple[RecipeSpec | None, list[RecipeError]]:
    """YAML text -> ``spec_model`` (a line kind's ``RecipeSpec``), or the syntax/shape errors."""
    data, errors = load_recipe_mapping(text)
    if data is None:
        return None, errors
    try:
        return spec_model.model_validate(data), []
    except ValidationError as exc:
        for err in exc.errors():
            kind = err["type"]
            rule = {"extra_forbidden": "schema.unknown_key", "missing": "schema.missing",
                    "action_kind": "schema.action_kind", "too_long": "schema.too_long",
                    "string_too_long": "schema.too_long"}.get(kind, "schema.type")
            path = _field_path(err["loc"])
            ctx = err.get("ctx", {})
            if rule == "schema.unknown_key":
                message = f"unknown key {_shown(str(err['loc'][-1]), 60)!r} (a typo?)"
            elif rule == "schema.missing":
                message = f"{path or 'recipe'} is required"
            elif kind == "too_long":
                message = (f"{path or 'recipe'} has {_length(err.get('input'))} entries; "
                           f"at most {ctx.get('max_length')} are allowed")
            elif kind == "string_too_long":
                message = (f"{path or 'recipe'} is {_length(err.get('input'))} characters long; "
                           f"at most {ctx.get('max_length')} are allowed")
            else:
                message = f"{err['msg']} (got {_shown(repr(err.get('input')), 80)})"
            errors.append(RecipeError(path, rule, message))
        return None, errors


def _length(value: object) -> str:
    return str(len(value)) if isinstance(value, Sized) else "too many"


def _shown(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (a message never echoes a whole document)."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


# ---------------------------------------------------------------------- compiling
def _known_addresses(line: LineDefinition) -> frozenset[str]:
    return frozenset(line.addresses())


def _compile(text: str, kind: RecipeKind, line: LineDefinition,
             control: LineControl) -> tuple[CompiledRecipe | None, list[RecipeError]]:
    spec, errors = parse_spec(text, kind.recipe_spec)
    if spec is None:
        return None, errors
    out: list[RecipeError] = []
    header = _header(spec, line, out)
    parameters = _parameters(spec, kind, out)
    ctx = CompileContext(parameters, out)
    ctx.failed.update(name for name in spec.formula if name not in parameters)
    block = kind.compile_block(spec, line, control, ctx)
    steps = _steps(spec, line, control, ctx)
    alarms = _alarms(spec, line, control, ctx, {s.name for s in steps})
    specification = _specification(spec, line, ctx)
    facts = RecipeFacts(spec=spec, line=line, control=control, parameters=dict(parameters),
                        block=block, steps=tuple(steps))
    out.extend(rules.check_all(facts, kind.rules))
    if any(e.severity == "error" for e in out) or block is None:
        return None, out
    compiled_steps = tuple(
        Step(name=s.name, description=s.description, actions=tuple(a.action for a in s.actions),
             transition=s.transition, production=s.production)
        for s in steps if s.transition is not None  # a step without one has reported an error
    )
    recipe = CompiledRecipe(
        header=header, parameters=dict(parameters), block=block,
        steps=compiled_steps, alarms=tuple(alarms), yaml_text=text, specification=specification,
    )
    return recipe, out


def _header(spec: RecipeSpec, line: LineDefinition, out: list[RecipeError]) -> RecipeHeader:
    h = spec.header
    if not re.match(r"^[a-z0-9][a-z0-9._-]*$", h.id):
        out.append(RecipeError("header.id", "header.id",
                               f"recipe id {h.id!r}: use lower-case letters, digits, '-', '_' or '.'"))
    if h.version < 1:
        out.append(RecipeError("header.version", "header.version",
                               f"version {h.version}: a recipe version is a whole number from 1 up"))
    if h.line_kind != line.kind:
        out.append(RecipeError("header.line_kind", "header.line_kind",
                               f"recipe is for a {h.line_kind!r} line, this line ({line.name}) is a {line.kind!r} line"))
    return RecipeHeader(recipe_id=h.id, name=h.name, version=h.version, line_kind=h.line_kind,
                        product=h.product, description=h.description, source=h.source)


def _parameters(spec: RecipeSpec, kind: RecipeKind, out: list[RecipeError]) -> dict[str, Parameter]:
    parameters: dict[str, Parameter] = {}
    for name, p in spec.formula.items():
        field = f"formula.{name}"
        if not NAME.match(name) or name in _RESERVED:
            out.append(RecipeError(field, "param.name", f"parameter name {name!r}: use lower_case_with_underscores, "
                                   "not a reserved word (true, false, abs, min, max)"))
            continue
        reserved = kind.reserved_parameter(name)
        if reserved:
            out.append(RecipeError(field, "param.reserved", f"parameter name {name!r}: {reserved}"))
            continue
        if isinstance(p.value, str) and NAME.match(p.value.strip()):
            out.append(RecipeError(f"{field}.value", "param.value", f"{name}: a formula value is a quantity like "
                                   f"'40 degC', not the name {p.value!r}"))
            continue
        try:
            value, unit = canonical(p.value, what=f"parameter {name}")
        except UnitError as exc:
            out.append(unit_error(f"{field}.value", exc))
            continue
        limits: list[float | None] = []
        for key, raw in (("low", p.low), ("high", p.high)):
            if raw is None:
                limits.append(None)
                continue
            try:
                limits.append(to_unit(raw, unit, what=f"parameter {name} {key} limit"))
            except UnitError as exc:
                out.append(unit_error(f"{field}.{key}", exc))
                limits.append(None)
        low, high = limits
        shown = f"{value:g} {unit}".strip()
        if low is not None and high is not None and low > high:
            out.append(RecipeError(field, "param.limits", f"{name}: low limit {low:g} is above high limit {high:g} {unit}"))
        elif (low is not None and value < low) or (high is not None and value > high):
            out.append(RecipeError(f"{field}.value", "param.limits",
                                   f"{name} = {shown} is outside its limits "
                                   f"{'' if low is None else f'{low:g}'}..{'' if high is None else f'{high:g}'} {unit}"))
        parameters[name] = Parameter(name=name, value=value, unit=unit, low=low, high=high)
    return parameters


def _tag(address: str, field: str, line: LineDefinition, ctx: CompileContext, *, writable: bool) -> Tag | None:
    device, dot, tag_name = address.strip().partition(".")
    if not dot or not tag_name:
        ctx.error(field, "action.tag", f"{address!r}: write a tag as device.tag, e.g. support_belt.line_speed_setpoint_m_min")
        return None
    if not line.has_device(device):
        ctx.error(field, "action.device", f"unknown device {device!r} (devices: {', '.join(d.name for d in line.devices)})")
        return None
    profile = line.device(device).profile
    if line.is_derived(address.strip()):
        ctx.error(field, "action.not_writable", f"{address} is a derived tag (computed by the controller's soft "
                  f"sensors); recipes write only setpoints and commands ({', '.join(t.name for t in profile.outputs)})")
        return None
    if not profile.has_tag(tag_name):
        ctx.error(field, "action.tag", f"{device} ({profile.kind}) has no tag {tag_name!r} "
                  f"(writable: {', '.join(t.name for t in profile.outputs)})")
        return None
    tag = profile.tag(tag_name)
    if writable and not tag.writable:
        ctx.error(field, "action.not_writable", f"{address} is a {tag.direction.value} tag (read from the plant); "
                  f"recipes write only setpoints and commands ({', '.join(t.name for t in profile.outputs)})")
        return None
    return tag


def _action(raw: SetSpec | RampSpec | LoopSpec | RatioSpec, field: str, line: LineDefinition,
            control: LineControl, ctx: CompileContext) -> Action | None:
    if isinstance(raw, SetSpec):
        tag = _tag(raw.set, f"{field}.set", line, ctx, writable=True)
        if tag is None:
            return None
        address = raw.set.strip()
        value = ctx.value(raw.value, tag.unit, f"{field}.value", f"value for {address}")
        if value is None or not ctx.within(tag, value, address, f"{field}.value"):
            return None
        return SetAction(address=address, value=value)
    if isinstance(raw, RampSpec):
        tag = _tag(raw.ramp, f"{field}.ramp", line, ctx, writable=True)
        if tag is None:
            return None
        address = raw.ramp.strip()
        if tag.data_type is DataType.BOOL:
            ctx.error(f"{field}.ramp", "ramp.bool", f"{address} is on/off and cannot be ramped; use set")
            return None
        target = ctx.value(raw.to, tag.unit, f"{field}.to", f"ramp target for {address}")
        rate = ctx.value(raw.rate, rate_unit(tag.unit), f"{field}.rate", f"ramp rate for {address}")
        ok = target is not None and ctx.within(tag, target, address, f"{field}.to", "ramp target")
        if rate is not None and rate <= 0:
            ctx.error(f"{field}.rate", "ramp.rate", f"ramp rate for {address} must be above zero, not {raw.rate!r}")
            ok = False
        if not ok or target is None or rate is None:
            return None
        return RampAction(address=address, target=target, rate_per_s=rate)
    if isinstance(raw, RatioSpec):
        return _ratio_action(raw, field, line, control, ctx)
    return _loop_action(raw, field, line, control, ctx)


def _ratio_action(raw: RatioSpec, field: str, line: LineDefinition, control: LineControl,
                  ctx: CompileContext) -> RatioAction | None:
    names = [station.name for station in control.ratios]
    if raw.ratio not in names:
        ctx.error(f"{field}.ratio", "ratio.unknown",
                  f"unknown ratio station {raw.ratio!r} (ratio stations: {', '.join(names) or 'none on this line'})")
        return None
    station = control.ratio(raw.ratio)
    out_tag = line.tag(station.output)
    if raw.mode == "off":
        if raw.value is not None or raw.rate is not None:
            ctx.error(field, "ratio.mode", f"ratio station {raw.ratio} switched off takes no value or rate")
            return None
        return RatioAction(station=raw.ratio, on=False, output=station.output, planned_output=out_tag.safe_value or 0.0)
    if raw.mode != "auto":
        ctx.error(f"{field}.mode", "ratio.mode", f"ratio station mode {raw.mode!r}: auto or off")
        return None
    if raw.value is None:
        ctx.error(f"{field}.value", "ratio.value", f"ratio station {raw.ratio} in auto needs a value (the ratio)")
        return None
    ratio = ctx.value(raw.value, station.ratio_unit, f"{field}.value", f"ratio of {raw.ratio}")
    rate = None if raw.rate is None else ctx.value(raw.rate, rate_unit(out_tag.unit), f"{field}.rate",
                                                   f"slew rate of {raw.ratio}")
    if ratio is None or (raw.rate is not None and rate is None):
        return None
    if ratio <= 0.0:
        ctx.error(f"{field}.value", "ratio.value", f"ratio of {raw.ratio} must be above zero, not {raw.value!r}")
        return None
    if rate is not None and rate <= 0.0:
        ctx.error(f"{field}.rate", "ratio.rate", f"slew rate of {raw.ratio} must be above zero, not {raw.rate!r}")
        return None
    planned_output = 0.0
    planned_wild = ctx.parameters.get(station.planned_wild_parameter) if station.planned_wild_parameter else None
    if planned_wild is not None:
        planned_output = ratio * planned_wild.value * station.scale
        if not ctx.within(out_tag, planned_output, station.output, f"{field}.value",
                       f"{raw.ratio} at the planned {planned_wild.name} {planned_wild.value:.3g} {planned_wild.unit}"):
            return None
    return RatioAction(station=raw.ratio, on=True, output=station.output, ratio=ratio, rate_per_s=rate,
                       planned_output=planned_output)


def _loop_action(raw: LoopSpec, field: str, line: LineDefinition, control: LineControl, ctx: CompileContext) -> LoopAction | None:
    names = [loop.name for loop in control.loops]
    if raw.loop not in names:
        ctx.error(f"{field}.loop", "loop.unknown", f"unknown loop {raw.loop!r} (loops: {', '.join(names)})")
        return None
    loop = control.loop(raw.loop)
    try:
        mode = LoopMode(raw.mode)
    except ValueError:
        ctx.error(f"{field}.mode", "loop.mode", f"loop mode {raw.mode!r}: one of off, manual, auto")
        return None
    setpoint = output = None
    ok = True
    if mode is LoopMode.AUTO and raw.setpoint is None:
        ctx.error(f"{field}.setpoint", "loop.setpoint", f"loop {raw.loop} in auto needs a setpoint")
        ok = False
    if mode is LoopMode.MANUAL and raw.output is None:
        ctx.error(f"{field}.output", "loop.output", f"loop {raw.loop} in manual needs an output")
        ok = False
    if raw.setpoint is not None:
        pv = line.tag(loop.pv)
        setpoint = ctx.value(raw.setpoint, pv.unit, f"{field}.setpoint", f"setpoint of loop {raw.loop}")
        ok = ok and setpoint is not None and ctx.within(pv, setpoint, loop.pv, f"{field}.setpoint", "setpoint")
    if raw.output is not None:
        out_tag = line.tag(loop.output)
        output = ctx.value(raw.output, out_tag.unit, f"{field}.output", f"output of loop {raw.loop}")
        ok = ok and output is not None and ctx.within(out_tag, output, loop.output, f"{field}.output", "output")
    if not ok:
        return None
    return LoopAction(loop=raw.loop, mode=mode, setpoint=setpoint, output=output)


def _condition(source: str, field: str, line: LineDefinition, ctx: CompileContext) -> Condition | None:
    try:
        return compile_condition(source, known_addresses=_known_addresses(line),
                                 parameters=ctx.condition_parameters())
    except ConditionError as exc:
        for problem in exc.problems:
            ctx.error(field, f"condition.{problem.kind}", f"{source!r}, column {problem.column}: {problem.message}")
        return None


def _steps(spec: RecipeSpec, line: LineDefinition, control: LineControl, ctx: CompileContext) -> list[ResolvedStep]:
    if not spec.procedure:
        ctx.error("procedure", "procedure.empty", "the procedure has no steps")
    seen: dict[str, int] = {}
    steps: list[ResolvedStep] = []
    for i, step in enumerate(spec.procedure):
        field = f"procedure[{i}]"
        if not NAME.match(step.step):
            ctx.error(f"{field}.step", "procedure.step_name", f"step name {step.step!r}: use lower_case_with_underscores")
        if step.step in seen:
            ctx.error(f"{field}.step", "procedure.duplicate_step",
                      f"step {step.step!r} is already procedure[{seen[step.step]}]; step names must be unique")
        seen.setdefault(step.step, i)
        actions = []
        for j, raw in enumerate(step.actions):
            action = _action(raw, f"{field}.actions[{j}]", line, control, ctx)
            if action is not None:
                actions.append(ResolvedAction(f"{field}.actions[{j}]", action))
        transition = _transition(step, field, line, ctx)
        steps.append(ResolvedStep(index=i, field=field, name=step.step, description=step.description,
                                  actions=tuple(actions), transition=transition, production=step.production))
    return steps


def _transition(step: Any, field: str, line: LineDefinition, ctx: CompileContext) -> Transition | None:
    t = step.transition
    tf = f"{field}.transition"
    condition = _condition(t.condition, f"{tf}.condition", line, ctx)
    hold = ctx.value(t.hold_for, "s", f"{tf}.hold_for", f"step {step.step} hold_for")
    timeout = None
    if t.timeout is None:
        ctx.error(f"{tf}.timeout", "transition.timeout", f"step {step.step}: a transition needs a timeout "
                  "(and on_timeout) so that a stuck step is noticed")
    else:
        timeout = ctx.value(t.timeout, "s", f"{tf}.timeout", f"step {step.step} timeout")
    try:
        on_timeout: OnTimeout | None = OnTimeout(t.on_timeout)
    except ValueError:
        ctx.error(f"{tf}.on_timeout", "transition.on_timeout",
                  f"step {step.step}: on_timeout {t.on_timeout!r}: one of hold, stop, abort, continue")
        on_timeout = None
    if hold is not None and hold < 0:
        ctx.error(f"{tf}.hold_for", "transition.hold_for", f"step {step.step}: hold_for cannot be negative")
        hold = None
    if timeout is not None and timeout <= 0:
        ctx.error(f"{tf}.timeout", "transition.timeout", f"step {step.step}: timeout must be above zero")
        timeout = None
    if hold is not None and timeout is not None and hold >= timeout:
        ctx.error(f"{tf}.timeout", "transition.hold_exceeds_timeout",
                  f"step {step.step}: timeout {timeout:g} s must be longer than hold_for {hold:g} s, "
                  "or the step can never finish in time")
        timeout = None
    if condition is None or hold is None or timeout is None or on_timeout is None:
        return None
    return Transition(condition=condition, hold_for_s=hold, timeout_s=timeout, on_timeout=on_timeout)


def _specification(spec: RecipeSpec, line: LineDefinition, ctx: CompileContext) -> tuple[Specification, ...]:
    """The product's quality specification: each quantity a tag of the line (a derived tag,
    e.g. a soft sensor's estimate, or a measurement), its limits in any unit of the tag's
    dimension or a formula parameter, converted to the tag's unit."""
    found: list[Specification] = []
    seen: set[str] = set()
    for k, s in enumerate(spec.specification):
        field = f"specification[{k}]"
        try:
            tag = line.tag(s.quantity)
        except (KeyError, ValueError):
            ctx.error(f"{field}.quantity", "spec.quantity",
                      f"{_shown(s.quantity, 80)!r} is not a tag of the line (`poreline profiles` lists them, "
                      "derived tags included)")
            continue
        if s.quantity in seen:
            ctx.error(f"{field}.quantity", "spec.duplicate", f"{s.quantity} is specified twice")
            continue
        seen.add(s.quantity)
        if s.low is None and s.high is None:
            ctx.error(field, "spec.limits", f"{s.quantity}: give low, high or both")
            continue
        low = None if s.low is None else ctx.value(s.low, tag.unit, f"{field}.low", f"{s.quantity} low")
        high = None if s.high is None else ctx.value(s.high, tag.unit, f"{field}.high", f"{s.quantity} high")
        out_pct = ctx.value(s.max_out_of_spec, "percent", f"{field}.max_out_of_spec",
                            f"{s.quantity} max_out_of_spec")
        if (s.low is not None and low is None) or (s.high is not None and high is None) or out_pct is None:
            continue  # reported
        if low is not None and high is not None and not low < high:
            ctx.error(field, "spec.limits", f"{s.quantity}: low {low:g} must be below high {high:g} {tag.unit}")
            continue
        if not 0.0 <= out_pct <= 100.0:
            ctx.error(f"{field}.max_out_of_spec", "spec.limits", f"{s.quantity}: max_out_of_spec is 0 to 100 %")
            continue
        found.append(Specification(s.quantity, low, high, tag.unit, out_pct / 100.0, s.description))
    return tuple(found)


def _alarms(spec: RecipeSpec, line: LineDefinition, control: LineControl, ctx: CompileContext,
            step_names: set[str]) -> list[AlarmDefinition]:
    standing = {a.alarm_id for a in control.alarms}
    seen: set[str] = set()
    alarms: list[AlarmDefinition] = []
    for k, a in enumerate(spec.alarms):
        field = f"alarms[{k}]"
        ok = True
        if not re.match(r"^[A-Z][A-Z0-9_]*$", a.id):
            ctx.error(f"{field}.id", "alarm.id", f"alarm id {a.id!r}: use UPPER_CASE_WITH_UNDERSCORES")
            ok = False
        if a.id in seen or a.id in standing:
            ctx.error(f"{field}.id", "alarm.id_duplicate", f"alarm id {a.id!r} is already used "
                      f"{'by a standing alarm of the line' if a.id in standing else 'in this recipe'}")
            ok = False
        seen.add(a.id)
        if not 1 <= a.priority <= 4:
            ctx.error(f"{field}.priority", "alarm.priority", f"alarm {a.id}: priority {a.priority}: 1 (critical) to 4 (low)")
            ok = False
        try:
            action = AlarmAction(a.action)
        except ValueError:
            ctx.error(f"{field}.action", "alarm.action", f"alarm {a.id}: action {a.action!r}: one of none, hold, stop, abort")
            ok = False
        for s, name in enumerate(a.steps):
            if name not in step_names:
                ctx.error(f"{field}.steps[{s}]", "alarm.steps", f"alarm {a.id}: no step named {name!r} in the procedure")
                ok = False
        delay = ctx.value(a.delay, "s", f"{field}.delay", f"alarm {a.id} delay")
        if delay is not None and delay < 0:
            ctx.error(f"{field}.delay", "alarm.delay", f"alarm {a.id}: delay cannot be negative")
            ok = False
        condition = _condition(a.condition, f"{field}.condition", line, ctx)
        if ok and condition is not None and delay is not None:
            alarms.append(AlarmDefinition(alarm_id=a.id, message=a.message, priority=a.priority,
                                          condition=condition, delay_s=delay, action=action,
                                          only_in_steps=frozenset(a.steps)))
    return alarms

