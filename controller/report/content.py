"""Gather a run's batch report from the store: the batch record (the one ``GET /runs/{id}/record``
serves), the recipe version with its release signatures, the production means from the
historian, and the audit trail's head. Read-only; the line kind (from the registry) says
which tags the report trends."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.lines import LineKind, compile_for_line, kind_named
from controller.recipe.compiler import load_yaml
from controller.recipe.errors import RecipeInvalid
from controller.recipe.model import CompiledRecipe, Parameter
from controller.report import analysis
from controller.report.model import (
    AlarmRow,
    AuditHead,
    CommandRow,
    DeviationRow,
    Header,
    Production,
    QuantityRow,
    Report,
    SignatureRow,
    StepRow,
    TrendData,
)
from controller.store import audit, load_batch_record, recipes, trend
from controller.store.batch import BatchRecord, RunInfo
from controller.store.errors import NotFoundError
from controller.store.models import RecipeVersion, Sample, utc_now
from drivers.definition import LineDefinition

TREND_POINTS = 300  # buckets per trend figure: finer than an A4 page's plot width resolves
SYSTEM_USER = "system"  # the engine's own commands (an alarm's hold), not an operator's
ALARM_HISTORY_SHOWN = 8  # transitions printed per alarm occurrence (the JSON record attached keeps all)


def gather(session: Session, run_id: int, *, now: datetime | None = None) -> Report:
    """The report of run ``run_id``; LookupError when there is no such run."""
    record = load_batch_record(session, run_id)
    run = record.run
    notes: list[str] = []
    version = _version(session, run, notes)
    if run.simulated:
        notes.append("simulated plant: the times of steps, alarms and commands are run time (h:mm:ss of simulated "
                     "seconds from the start), not wall time; only the start and end are wall times")
    kind = _kind(run.line_kind, notes)
    definition = kind.definition() if kind is not None else None
    compiled = _compiled(version, notes)
    end_t_s = _end_t_s(session, record)
    commands = [analysis.LoggedCommand(c.t_s, c.command, c.user, c.accepted, c.reason) for c in record.commands]
    states = analysis.state_timeline(commands, end_t_s, run.final_state)
    production_steps = {s.name for s in compiled.steps if s.production} if compiled is not None else set()
    step_spans = [(s.started_s, s.ended_s if s.ended_s is not None else end_t_s) for s in record.steps
                  if s.name in production_steps]
    windows = analysis.intersect(step_spans, analysis.execute_spans(states))

    def production_stats(tag: str) -> tuple[float, float, float] | None:
        buckets = [p for lo, hi in windows for p in trend(session, run_id, tag, lo, hi, max_points=1)]
        return analysis.combine((p.count, p.avg, p.min, p.max) for p in buckets)

    parameters = _run_parameters(compiled, run)
    targets = analysis.parameter_targets(_recipe_data(version))
    pairs = kind.report_trends if kind is not None else ()
    actuals = _actuals(targets, kind, definition, pairs, production_stats, set(record.tags))
    formula = analysis.formula_rows(parameters, actuals, _master_values(run))

    head = audit.head(session)
    return Report(
        header=_header(record, version, compiled),
        signatures=tuple(SignatureRow(s.user.username, s.full_name, s.meaning, s.reason, s.signed_at, s.content_sha256)
                         for s in (version.signatures if version is not None else [])),
        formula=tuple(formula),
        steps=tuple(_steps(record, compiled)),
        states=tuple(states),
        alarms=tuple(_alarms(record)),
        commands=tuple(CommandRow(run.timestamp(c.t_s), c.command, c.user, c.accepted, c.reason)
                       for c in record.commands),
        production=_production(record, kind, windows, production_stats, session),
        deviations=tuple(DeviationRow(run.timestamp(d.started_t_s), run.timestamp(d.ended_t_s), d.seconds,
                                      tuple(d.alarm_ids), tuple(d.outputs)) for d in record.deviations),
        trends=tuple(_trends(session, record, kind, definition, formula, actuals)),
        audit_head=None if head is None else AuditHead(head[0], head[1], now or utc_now()),
        time_origin=run.time_origin,
        sample_count=record.sample_count,
        notes=tuple(notes),
    )


# ------------------------------------------------------------------ sources
def _version(session: Session, run: RunInfo, notes: list[str]) -> RecipeVersion | None:
    try:
        return recipes.get_version(session, run.recipe_id, run.recipe_version)
    except NotFoundError:
        notes.append(f"recipe {run.recipe_id} v{run.recipe_version} is not in the recipe store (run from a file): "
                     "no release signatures, limits or planned durations")
        return None


def _kind(name: str, notes: list[str]) -> LineKind | None:
    try:
        return kind_named(name)
    except ValueError as exc:
        notes.append(f"{exc}: no trends or product quantity")
        return None


def _compiled(version: RecipeVersion | None, notes: list[str]) -> CompiledRecipe | None:
    if version is None:
        return None
    try:
        return compile_for_line(version.yaml_text)
    except (RecipeInvalid, ValueError) as exc:
        notes.append(f"the recipe version no longer compiles on this installation ({str(exc)[:200]})")
        return None


def _recipe_data(version: RecipeVersion | None) -> Mapping[str, Any]:
    if version is None:
        return {}
    data, _errors = load_yaml(version.yaml_text)
    return data if isinstance(data, dict) else {}


def _run_parameters(compiled: CompiledRecipe | None, run: RunInfo) -> dict[str, Parameter]:
    """The formula the run ran: each value as its batch record kept it (a control recipe's
    adjustments and what follows from them, such as a pump's flow from the line speed),
    with the master recipe's limits."""
    recorded = _recorded_parameters(run)
    if compiled is None:
        return recorded
    return {name: dataclasses.replace(p, value=recorded[name].value) if name in recorded else p
            for name, p in compiled.parameters.items()}


def _master_values(run: RunInfo) -> dict[str, float]:
    """The master recipe's value of each parameter the run's control recipe adjusted."""
    return {name: float(entry["master_value"]) for name, entry in run.parameters.items()
            if isinstance(entry, dict) and isinstance(entry.get("master_value"), int | float)}


def _recorded_parameters(run: RunInfo) -> dict[str, Parameter]:
    """The parameters the batch record kept (value and unit; no limits) when the recipe is unknown."""
    out: dict[str, Parameter] = {}
    for name, entry in run.parameters.items():
        if isinstance(entry, dict) and isinstance(entry.get("value"), int | float):
            out[name] = Parameter(name, float(entry["value"]), str(entry.get("unit", "")))
    return out


def _end_t_s(session: Session, record: BatchRecord) -> float:
    """The run's last second: its recorded end, else its last sample or step (still running)."""
    if record.run.ended_t_s is not None:
        return record.run.ended_t_s
    last = session.execute(select(Sample.t_s).where(Sample.run_id == record.run.id)
                           .order_by(Sample.t_s.desc()).limit(1)).scalar_one_or_none()
    starts = [s.started_s for s in record.steps]
    return max([t for t in [last, *starts] if t is not None], default=0.0)


# ------------------------------------------------------------------ sections
def _header(record: BatchRecord, version: RecipeVersion | None, compiled: CompiledRecipe | None) -> Header:
    run = record.run
    operators = [run.operator] + [c.user for c in record.commands if c.accepted and c.user != SYSTEM_USER]
    operators += [e.actor for a in record.alarms for e in a.events if e.actor and e.actor != SYSTEM_USER]
    return Header(
        line_id=run.line_id, line_kind=run.line_kind, recipe_id=run.recipe_id, recipe_version=run.recipe_version,
        recipe_name=compiled.header.name if compiled is not None else "",
        content_sha256=version.content_sha256 if version is not None else None,
        product=compiled.header.product if compiled is not None else "",
        run_id=run.id, started_at=run.started_at, ended_at=run.ended_at, final_state=run.final_state,
        end_reason=run.end_reason, operators=tuple(dict.fromkeys(operators)), simulated=run.simulated)


def _steps(record: BatchRecord, compiled: CompiledRecipe | None) -> list[StepRow]:
    planned = {s.name: s for s in compiled.steps} if compiled is not None else {}
    rows = []
    for s in record.steps:
        step = planned.get(s.name)
        rows.append(StepRow(
            s.index, s.name, step.production if step is not None else False,
            step.transition.hold_for_s if step is not None else None,
            step.transition.timeout_s if step is not None else None,
            record.run.timestamp(s.started_s), None if s.ended_s is None else s.ended_s - s.started_s, s.outcome))
    return rows


def _clock_text(run: RunInfo, t_s: float) -> str:
    """Run second ``t_s`` as the report tells event times: wall HH:MM:SS, or run time h:mm:ss for a
    simulated run (its seconds are simulated)."""
    return analysis.hms(t_s) if run.simulated else f"{run.timestamp(t_s):%H:%M:%S}"


def _alarms(record: BatchRecord) -> list[AlarmRow]:
    run = record.run
    rows = []
    for a in record.alarms:
        acknowledged = [e for e in a.events if e.state in ("acknowledged", "normal") and e.actor]
        history = [f"{_clock_text(run, e.t_s)} {e.state}" + (f" by {e.actor}" if e.actor else "")
                   + (f": {e.note}" if e.note else "") for e in a.events]
        rows.append(AlarmRow(
            a.alarm_id, a.message, a.priority, run.timestamp(a.raised_t_s),
            run.timestamp(acknowledged[0].t_s) if acknowledged else None,
            a.acknowledged_by or (acknowledged[0].actor if acknowledged else None),
            None if a.cleared_t_s is None else run.timestamp(a.cleared_t_s), a.state,
            tuple(analysis.abridged(history, ALARM_HISTORY_SHOWN))))
    return rows


def _actuals(targets: Mapping[str, analysis.Target], kind: LineKind | None, definition: LineDefinition | None,
             pairs: Sequence[tuple[str, str]], stats: Any, recorded: set[str]) -> dict[str, tuple[str, float | None, str]]:
    """For each parameter set on a tag or a loop: the measuring tag, its production mean and unit."""
    if kind is None or definition is None:
        return {}
    control = kind.control(definition)
    out: dict[str, tuple[str, float | None, str]] = {}
    for name, target in targets.items():
        if target.kind == "loop":
            try:
                tag: str | None = control.loop(target.name).pv
            except KeyError:
                continue
        else:
            tag = analysis.measured_tag(target.name, definition.addresses(), pairs) or target.name
        if tag is None or tag not in recorded:
            continue
        found = stats(tag)
        out[name] = (tag, None if found is None else found[0], _unit(definition, tag))
    return out


def _unit(definition: LineDefinition | None, tag: str) -> str:
    if definition is None:
        return ""
    try:
        return definition.tag(tag).unit
    except (KeyError, ValueError):
        return ""


def _final_values(session: Session, run_id: int, tags: Sequence[str]) -> dict[str, float]:
    """Each tag's last recorded value (the image at the run's end, for the product quantity)."""
    image: dict[str, float] = {}
    for tag in tags:
        value = session.execute(select(Sample.value).where(Sample.run_id == run_id, Sample.tag == tag,
                                                           Sample.value.is_not(None))
                                .order_by(Sample.t_s.desc()).limit(1)).scalar_one_or_none()
        if value is not None:
            image[tag] = float(value)
    return image


def _production(record: BatchRecord, kind: LineKind | None, windows: Sequence[tuple[float, float]], stats: Any,
                session: Session) -> Production:
    quality = record.run.quality or {}
    specification = tuple(
        QuantityRow(q["address"], q.get("unit", ""), q.get("low"), q.get("high"), q.get("mean"), q.get("minimum"),
                    q.get("maximum"), float(q.get("out_of_spec_s") or 0.0), float(q.get("production_s") or 0.0),
                    q.get("in_spec"))
        for q in quality.get("specification", []))
    production_s = float(quality.get("production_s") or sum(hi - lo for lo, hi in windows))
    means: list[tuple[str, float, float, float]] = []
    label, value, unit, detail = "Product", None, "", ""
    if kind is not None:
        for tag in kind.summary_tags:
            found = stats(tag)
            if found is not None:
                means.append((tag, *found))
        # the engine's tally is time-weighted over the scans; here the mean of the samples in
        # the production windows (equally spaced, so the same to within a sample period)
        made = kind.product_quantity({t: m for t, m, _lo, _hi in means}, production_s,
                                     _final_values(session, record.run.id, record.tags))
        label, value, unit, detail = made.label, made.value, made.unit, made.detail
    verdict = str(quality.get("verdict", "not evaluated"))
    if record.deviations:
        verdict += " (with production deviations: product made with outputs forced safe)"
    return Production(label, value, unit, detail, production_s, verdict, specification, tuple(means))


def _trends(session: Session, record: BatchRecord, kind: LineKind | None, definition: LineDefinition | None,
            formula: Sequence[Any], actuals: Mapping[str, tuple[str, float | None, str]]) -> list[TrendData]:
    if kind is None:
        return []
    pairs = kind.report_trends or tuple((tag, "") for tag in kind.summary_tags)
    spec = {q["address"]: q for q in (record.run.quality or {}).get("specification", [])}
    by_tag = {actuals[row.name][0]: row for row in formula if row.name in actuals}
    out = []
    for tag, setpoint in pairs:
        if tag not in record.tags:
            continue
        points = tuple((p.t_s, p.avg, p.min, p.max) for p in trend(session, record.run.id, tag, max_points=TREND_POINTS)
                       if p.avg is not None and p.min is not None and p.max is not None)
        setpoint_points: tuple[tuple[float, float], ...] = ()
        if setpoint and setpoint in record.tags:
            setpoint_points = tuple((p.t_s, p.avg) for p in trend(session, record.run.id, setpoint,
                                                                  max_points=TREND_POINTS) if p.avg is not None)
        unit = _unit(definition, tag)
        row = by_tag.get(tag)
        row = row if row is not None and row.unit == unit else None  # a formula value drawn in the tag's unit only
        low, high = (spec[tag].get("low"), spec[tag].get("high")) if tag in spec else (
            (row.low, row.high) if row is not None else (None, None))
        out.append(TrendData(tag, unit, points, setpoint or None, setpoint_points, low, high,
                             row.setpoint if row is not None and not setpoint_points else None))
    return out
