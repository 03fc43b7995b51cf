"""Running a recipe from the command line to its end, and its summary: steps and durations,
alarms, key final values, production means and the product made. ``poreline run`` uses it
on the built-in simulator (virtual time, a progress bar) and on a plant file (wall time, a
status line every few seconds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from controller.assembly import AssembledLine
from controller.cli.common import console, hms
from controller.engine.production import ProductionTally
from controller.engine.scan import Engine
from controller.engine.states import TERMINAL, Command, UnitState
from controller.recipe.model import CompiledRecipe

# Final values worth showing, by tag-name ending.
FINAL_VALUE_SUFFIXES = ("temperature_c", "absorbance", "dmf_fraction_wt_pct", "length_m", "moisture_out_pct",
                        "mass_kg")
EXTRA_TIME_S = 3600.0  # beyond the sum of the step timeouts, before the run is aborted


class Display(AbstractContextManager["Display"], Protocol):
    def update(self, engine: Engine) -> None: ...


class ProgressDisplay:
    """A progress bar of the steps with the simulated time (refreshed at most every 0.1 s)."""

    def __init__(self, compiled: CompiledRecipe) -> None:
        self._steps = len(compiled.steps)
        self._bar = Progress(TextColumn("[bold]{task.fields[step]:<24}"), BarColumn(),
                             TextColumn("{task.fields[sim]}"), console=console, transient=False)
        self._task = self._bar.add_task("run", total=self._steps, step="starting", sim="")
        self._last_s = 0.0

    def __enter__(self) -> ProgressDisplay:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)

    def update(self, engine: Engine) -> None:
        now = time.perf_counter()
        complete = engine.state is UnitState.COMPLETE
        if now - self._last_s < 0.1 and not complete:
            return
        self._last_s = now
        st = engine.status()
        self._bar.update(self._task, completed=self._steps if complete else max(0, st.step_index),
                         step=st.step_name or st.state.value, sim=f"{hms(st.t_s)} simulated  {st.state.value}")


class StatusLineDisplay:
    """A status line (process time, state, step) every ``every_s`` wall seconds."""

    def __init__(self, every_s: float = 5.0) -> None:
        self._every_s = every_s
        self._last_s = 0.0

    def __enter__(self) -> StatusLineDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, engine: Engine) -> None:
        now = time.monotonic()
        if now - self._last_s >= self._every_s:
            self._last_s = now
            st = engine.status()
            console.print(f"{st.t_s:9.0f} s  {st.state.value:<10} {st.step_name or ''}")


async def run_to_end(assembled: AssembledLine, compiled: CompiledRecipe, operator: str, display: Display,
                     tally: ProductionTally) -> UnitState:
    """Start the loaded recipe and scan until a final state (abort after the step timeouts
    plus an hour); the line is closed afterwards."""
    engine = assembled.engine
    budget_s = sum(s.transition.timeout_s for s in compiled.steps) + EXTRA_TIME_S

    def on_scan(e: Engine) -> None:
        tally.add(e.clock.now_s(), e.state, e.step, e.image)
        display.update(e)

    try:
        engine.request(Command.START, operator)
        with display:
            final = await engine.run(max_duration_s=budget_s, on_scan=on_scan)
        if final not in TERMINAL:
            engine.request(Command.ABORT, "system")
            await engine.scan()
    finally:
        await assembled.line.close()
    return engine.state


def run_and_report(build: Callable[[], AssembledLine], compiled: CompiledRecipe, *, operator: str, url: str,
                   display: Display) -> int:
    """Build the line inside the event loop (pymodbus clients bind to it), run the recipe
    to its end and print the summary; the exit code is 0 for Complete, 3 otherwise."""

    async def go() -> tuple[AssembledLine, ProductionTally]:
        assembled = build()
        tally = ProductionTally(assembled.kind.summary_tags)
        await run_to_end(assembled, compiled, operator, display, tally)
        return assembled, tally

    wall_start = time.perf_counter()
    assembled, tally = asyncio.run(go())
    print_summary(assembled, compiled, tally, time.perf_counter() - wall_start, url)
    return 0 if assembled.engine.state is UnitState.COMPLETE else 3


def print_summary(assembled: AssembledLine, compiled: CompiledRecipe, tally: ProductionTally, wall_s: float,
                  url: str) -> None:
    engine = assembled.engine
    steps = Table(title=f"{compiled.header.recipe_id} v{compiled.header.version}: "
                        f"{engine.state.value}", show_lines=False)
    for column in ("#", "step", "start", "duration", "outcome"):
        steps.add_column(column)
    for entry in engine.step_log:
        end = entry.ended_s if entry.ended_s is not None else engine.clock.now_s()
        steps.add_row(str(entry.index + 1), entry.name, hms(entry.started_s),
                      hms(end - entry.started_s), entry.outcome or "running")
    console.print(steps)
    alarms = [e for e in engine.alarms.events if e.state.value == "unacknowledged"]
    console.print(f"Alarms raised: {len(alarms)}")
    for event in alarms:
        console.print(f"  {hms(event.t_s)}  P{event.priority}  {event.alarm_id}: {event.message}")
    deviations = engine.deviations
    if deviations:
        total_s = sum(d.seconds for d in deviations)
        console.print(f"[bold red]Production deviations: {len(deviations)}[/bold red] "
                      f"({hms(total_s)} of production with outputs forced safe; not made to the recipe)")
        for d in deviations:
            console.print(f"  {hms(d.started_t_s)}-{hms(d.ended_t_s)}  {', '.join(d.alarm_ids)}  "
                          f"forced: {', '.join(d.outputs)}", highlight=False)
    check = engine.specification
    results = check.results()
    if results:
        spec = Table(title=f"Specification: {check.verdict()}")
        for column in ("quantity", "low", "high", "mean", "min", "max", "out of spec", "in spec"):
            spec.add_column(column)
        for r in results:
            share = f"{100.0 * r.out_of_spec_s / r.production_s:.1f} %" if r.production_s > 0 else "-"
            spec.add_row(f"{r.address} [{r.unit}]", *(f"{v:.4g}" if v is not None else "-"
                                                      for v in (r.low, r.high, r.mean, r.minimum, r.maximum)),
                         share, {True: "yes", False: "[red]no[/red]", None: "not measured"}[r.in_spec])
        console.print(spec)
    image = engine.image
    finals = Table(title="Key final values")
    finals.add_column("tag")
    finals.add_column("value", justify="right")
    for address in sorted(image):
        if address.endswith(FINAL_VALUE_SUFFIXES):
            finals.add_row(address, f"{image[address]:.3f}")
    console.print(finals)
    means = tally.means()
    if means:
        production = Table(title=f"Production: {hms(tally.duration_s)}, means")
        production.add_column("tag")
        production.add_column("mean", justify="right")
        for tag, value in means.items():
            production.add_row(tag, f"{value:.4g}")
        console.print(production)
    made = assembled.kind.product_quantity(means, tally.duration_s, image)
    detail = f" {made.detail}" if made.detail else ""
    product = f"{made.label}: [bold]{made.value:.1f} {made.unit}[/bold]{detail}"
    sim_s = engine.clock.now_s()
    console.print(f"{product}   simulated {hms(sim_s)} in {wall_s:.1f} s wall ({sim_s / max(wall_s, 1e-9):.0f}x)")
    console.print(f"Batch record: run {engine.run_id} in {url}")
    head = getattr(engine.recorder, "audit_head", None)  # keep it with the report: `audit verify --head ID:HASH`
    if head is not None:
        console.print(f"Audit trail head at the end: row {head[0]} sha256 {head[1]}", highlight=False)
