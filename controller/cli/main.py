"""The ``poreline`` command line (typer + rich): validate, run and tune recipes; the
simulator as virtual PLCs and the published maps (``hil``); administration (``admin``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from controller.cli import admin, hil, line, report
from controller.cli.common import RecipePath, compile_recipe_file, console, hms
from controller.cli.errors import PorelineGroup, fail

# PorelineGroup: every error is one line on stderr with a non-zero exit code, never a traceback
app = typer.Typer(help="Poreline: process control for membrane manufacturing lines.",
                  no_args_is_help=True, add_completion=False, cls=PorelineGroup)


@app.command()
def validate(recipe: RecipePath) -> None:
    """Check a recipe against the line's equipment and the process rules."""
    compiled = compile_recipe_file(recipe)
    h = compiled.header
    console.print(f"[green]OK[/green] {h.recipe_id} v{h.version} ({h.line_kind}): "
                  f"{len(compiled.steps)} steps, {len(compiled.parameters)} parameters")


@app.command()
def kinds() -> None:
    """List the line kinds this installation knows."""
    from controller.lines import kinds as registered

    for kind in registered():
        console.print(f"[bold]{kind.name}[/bold]{' (default)' if kind.default else ''}: {kind.description}",
                      highlight=False)


@app.command()
def run(
    recipe: RecipePath,
    database: Annotated[str | None, typer.Option(
        "--database", "-d", envvar="PORELINE_DATABASE_URL",
        help="SQLAlchemy URL of the batch-record database (default sqlite:///var/poreline.db)")] = None,
    seed: Annotated[int, typer.Option(help="Simulator noise seed")] = 0,
    scan_period_s: Annotated[float, typer.Option("--scan-period", min=0.01, help="Scan period, s")] = 1.0,
    sample_period_s: Annotated[float, typer.Option(
        "--sample-period", min=0.01, help="Historian sample period, s")] = 10.0,
    operator: Annotated[str, typer.Option(help="Operator name for the batch record")] = "operator",
    plant: Annotated[Path | None, typer.Option(
        "--plant", exists=True, dir_okay=False,
        help="Plant file: drive the devices it names (served simulator or hardware) on wall time")] = None,
    speed: Annotated[float, typer.Option(
        min=0.001, help="With --plant: wall-clock speed factor (match the served simulator)")] = 1.0,
) -> None:
    """Run a recipe on the built-in simulator on virtual time (or, with --plant, on the
    plant file's devices on wall time) and write its batch record."""
    from controller.assembly import AssembledLine, PlantConfigError, build_line
    from controller.cli.running import ProgressDisplay, StatusLineDisplay, run_and_report
    from controller.store import BatchRecorder, create_engine_for, default_database_url, upgrade
    from drivers.clock import WallClock

    compiled = compile_recipe_file(recipe)
    if plant is not None:  # a bad plant file is refused before the database is touched
        from controller.assembly.plant_file import load_plant_config
        try:
            load_plant_config(plant)
        except PlantConfigError as exc:
            fail(str(exc), 2)
    url = database or default_database_url()
    upgrade(url)
    recorder = BatchRecorder(create_engine_for(url))

    def build() -> AssembledLine:
        return build_line(recipe=compiled, plant_file=plant, clock=WallClock(speed) if plant is not None else None,
                          recorder=recorder, seed=seed, scan_period_s=scan_period_s,
                          sample_period_s=sample_period_s, operator=operator)

    display = StatusLineDisplay() if plant is not None else ProgressDisplay(compiled)
    try:
        code = run_and_report(build, compiled, operator=operator, url=url, display=display)
    except PlantConfigError as exc:
        fail(str(exc), 2)
    if code:
        raise typer.Exit(code)


@app.command()
def tune(
    recipe: RecipePath,
    loop: Annotated[str, typer.Argument(help="Loop name, e.g. melt_cooling (an unknown name lists them)")],
    at_step: Annotated[str, typer.Option("--at-step", help="Recipe step to test in")] = "production",
    settle_s: Annotated[float, typer.Option("--settle", min=0.0, help="Seconds of the step before the test")] = 1800.0,
    record_s: Annotated[float, typer.Option("--record", min=60.0, help="Seconds to record after the step")] = 3600.0,
    change: Annotated[float | None, typer.Option("--change", help="Output step in the output's unit "
                                                 "(default 5 % of its span)")] = None,
) -> None:
    """Bump-test a loop on the simulator: FOPDT model and SIMC PI settings beside the configured ones."""
    from controller.tuning.bump_test import BumpTestError, bump_test

    compiled = compile_recipe_file(recipe)
    try:
        result = asyncio.run(bump_test(compiled, loop, at_step=at_step, settle_s=settle_s, record_s=record_s,
                                       output_change=change))
    except (KeyError, BumpTestError, ValueError) as exc:
        fail(str(exc.args[0] if exc.args else exc), 2)
    m, d = result.model, result.loop
    console.print(f"{d.name}: {d.output} stepped {result.output_change:+g} from {result.output_before:g} "
                  f"at {hms(result.step_time_s)}; {d.pv} responded")
    console.print(f"FOPDT model: K = {m.gain:.4g} (pv per output unit), tau = {m.time_constant_s:.1f} s, "
                  f"theta = {m.dead_time_s:.1f} s")
    t = result.tuning
    table = Table("", "gain", "integral time", "action", title="PI settings")
    for name, gain, integral_time_s, direct in (
            ("configured", d.gain, d.integral_time_s, d.direct_acting),
            (f"SIMC, tau_c = {t.closed_loop_time_constant_s:.1f} s", t.gain, t.integral_time_s, t.direct_acting)):
        table.add_row(name, f"{gain:.4g}", f"{integral_time_s:.1f} s", "direct" if direct else "reverse")
    console.print(table)
    if t.direct_acting != d.direct_acting:
        console.print("[yellow]The fitted action is the opposite of the configured one: the response is "
                      "probably a drift of the process, not the step's effect. Settle longer.[/yellow]")
    if m.dead_time_s < result.scan_period_s:
        console.print("[yellow]Dead time under one scan: SIMC's tau_c = theta gives no useful bound here; "
                      "choose tau_c from the speed the actuator and the product allow.[/yellow]")



hil.register(app)
line.register(app)
admin.register(app)
report.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
