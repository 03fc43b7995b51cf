"""The ``poreline`` command line (typer + rich)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

app = typer.Typer(help="Poreline: process control for membrane manufacturing lines.",
                  no_args_is_help=True, add_completion=False)
console = Console()

RecipePath = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                            help="Recipe YAML file")]


def _line_kind_of(text: str) -> str:
    """The line kind a recipe says it is for (the compiler reports a bad header)."""
    try:
        data = yaml.safe_load(text)
        kind = data["header"]["line_kind"]
        return kind if isinstance(kind, str) else "casting"
    except Exception:  # noqa: BLE001 - any malformed header: compile reports it
        return "casting"


def _compile(path: Path):  # -> CompiledRecipe, exits non-zero with every error
    from controller.recipe import RecipeInvalid, compile_recipe, format_errors
    from controller.simulation import line_for_kind

    text = path.read_text(encoding="utf-8")
    try:
        definition, control = line_for_kind(_line_kind_of(text))
    except ValueError as exc:
        console.print(f"[red]{path}: {exc}[/red]")
        raise typer.Exit(2) from None
    try:
        return compile_recipe(text, definition, control)
    except RecipeInvalid as exc:
        console.print(f"[red]{path}: {len(exc.errors)} error(s)[/red]")
        console.print(format_errors(exc.errors), markup=False, highlight=False)
        raise typer.Exit(1) from None


@app.command()
def validate(recipe: RecipePath) -> None:
    """Check a recipe against the line's equipment and the process rules."""
    compiled = _compile(recipe)
    h = compiled.header
    console.print(f"[green]OK[/green] {h.recipe_id} v{h.version} ({h.line_kind}): "
                  f"{len(compiled.steps)} steps, {len(compiled.parameters)} parameters")


@app.command()
def run(
    recipe: RecipePath,
    database: Annotated[str | None, typer.Option(
        "--database", "-d", envvar="PORELINE_DATABASE_URL",
        help="SQLAlchemy URL of the batch-record database (default sqlite:///var/poreline.db)")] = None,
    seed: Annotated[int, typer.Option(help="Simulator noise seed")] = 0,
    scan_period_s: Annotated[float, typer.Option("--scan-period", help="Scan period, s")] = 1.0,
    sample_period_s: Annotated[float, typer.Option(
        "--sample-period", help="Historian sample period, s")] = 10.0,
    operator: Annotated[str, typer.Option(help="Operator name for the batch record")] = "operator",
    plant: Annotated[Path | None, typer.Option(
        "--plant", exists=True, dir_okay=False,
        help="Plant file: drive the devices it names (served simulator or hardware) on wall time")] = None,
    speed: Annotated[float, typer.Option(help="With --plant: wall-clock speed factor (match the served simulator)")] = 1.0,
) -> None:
    """Run a recipe on the built-in simulator on virtual time (or, with --plant, on the
    plant file's devices on wall time) and write its batch record."""
    from controller.simulation import build_simulated_line
    from controller.store import BatchRecorder, create_engine_for, default_database_url, upgrade

    compiled = _compile(recipe)
    url = database or default_database_url()
    upgrade(url)
    db = create_engine_for(url)
    recorder = BatchRecorder(db)
    if plant is not None:
        from controller.cli.hil import run_on_plant
        raise typer.Exit(run_on_plant(compiled, plant, recorder=recorder, url=url, scan_period_s=scan_period_s,
                                      sample_period_s=sample_period_s, operator=operator, speed=speed))
    sim = build_simulated_line(compiled, seed=seed, scan_period_s=scan_period_s,
                               sample_period_s=sample_period_s, recorder=recorder,
                               operator=operator)
    engine = sim.engine
    budget_s = sum(s.transition.timeout_s for s in compiled.steps)
    tally = ProductionTally(PRODUCT_TAGS.get(compiled.header.line_kind, ()))
    wall_start = time.perf_counter()

    with Progress(TextColumn("[bold]{task.fields[step]:<24}"), BarColumn(),
                  TextColumn("{task.fields[sim]}"), console=console, transient=False) as bar:
        task = bar.add_task("run", total=len(compiled.steps), step="starting", sim="")
        last_update = [0.0]

        def show(e) -> None:  # type: ignore[no-untyped-def]
            tally.add(e)
            now = time.perf_counter()
            if now - last_update[0] < 0.1 and e.state.value != "Complete":
                return
            last_update[0] = now
            st = e.status()
            bar.update(task, completed=max(0, st.step_index), step=st.step_name or st.state.value,
                       sim=f"{_hms(st.t_s)} simulated  {st.state.value}")

        engine.request("start", operator)
        final = asyncio.run(engine.run(max_duration_s=budget_s + 3600.0, on_scan=show))
        bar.update(task, completed=len(compiled.steps) if final.value == "Complete" else
                   max(0, engine.progress.index), step=final.value)
    wall_s = time.perf_counter() - wall_start
    if final.value not in ("Complete", "Stopped", "Aborted"):
        engine.request("abort", "system")
        asyncio.run(engine.scan())
    _summary(sim, compiled, wall_s, url, tally)
    if engine.state.value != "Complete":
        raise typer.Exit(3)


def _hms(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600:d}:{t % 3600 // 60:02d}:{t % 60:02d}"


# Tags averaged over the production steps in the run summary, per line kind.
PRODUCT_TAGS: dict[str, tuple[str, ...]] = {
    "casting": ("support_belt.line_speed_m_min", "casting_knife.wet_thickness_um"),
    "foaming": ("melt_pump_1.throughput_kg_h", "die.foam_void_fraction_pct", "die.foam_cell_density_per_cm3",
                "die.foam_cell_size_um", "heat_exchanger.melt_outlet_temperature_c",
                "melt_pump_2.inlet_pressure_bar"),
}


class ProductionTally:
    """Time-weighted means of ``tags`` over the scans spent executing a production step."""

    def __init__(self, tags: tuple[str, ...]) -> None:
        self.tags = tags
        self.duration_s = 0.0
        self._sums = dict.fromkeys(tags, 0.0)
        self._last_t_s: float | None = None

    def add(self, engine) -> None:  # type: ignore[no-untyped-def]
        now_s = engine.clock.now_s()
        step = engine.step
        producing = engine.state.value == "Execute" and step is not None and step.production
        if producing and self._last_t_s is not None:
            dt_s = now_s - self._last_t_s
            self.duration_s += dt_s
            for tag in self.tags:
                self._sums[tag] += engine.image.get(tag, 0.0) * dt_s
        self._last_t_s = now_s if producing else None

    def means(self) -> dict[str, float]:
        if self.duration_s <= 0.0:
            return {}
        return {tag: total / self.duration_s for tag, total in self._sums.items()}


def _summary(sim, compiled, wall_s: float, url: str, tally: ProductionTally) -> None:  # type: ignore[no-untyped-def]
    engine = sim.engine
    steps = Table(title=f"{compiled.header.recipe_id} v{compiled.header.version}: "
                        f"{engine.state.value}", show_lines=False)
    for column in ("#", "step", "start", "duration", "outcome"):
        steps.add_column(column)
    for entry in engine.step_log:
        end = entry.ended_s if entry.ended_s is not None else engine.clock.now_s()
        steps.add_row(str(entry.index + 1), entry.name, _hms(entry.started_s),
                      _hms(end - entry.started_s), entry.outcome or "running")
    console.print(steps)
    alarms = [e for e in engine.alarms.events if e.state.value == "unacknowledged"]
    console.print(f"Alarms raised: {len(alarms)}")
    for event in alarms:
        console.print(f"  {_hms(event.t_s)}  P{event.priority}  {event.alarm_id}: {event.message}")
    image = engine.image
    finals = Table(title="Key final values")
    finals.add_column("tag")
    finals.add_column("value", justify="right")
    for address in sorted(image):
        if address.endswith(("temperature_c", "absorbance", "dmf_fraction_wt_pct", "length_m",
                             "moisture_out_pct", "mass_kg")):
            finals.add_row(address, f"{image[address]:.3f}")
    console.print(finals)
    means = tally.means()
    if means:
        production = Table(title=f"Production: {_hms(tally.duration_s)}, means")
        production.add_column("tag")
        production.add_column("mean", justify="right")
        for tag, value in means.items():
            production.add_row(tag, f"{value:.4g}")
        console.print(production)
    if compiled.header.line_kind == "foaming":
        polymer_kg = means.get("melt_pump_1.throughput_kg_h", 0.0) * tally.duration_s / 3600.0
        product = f"Foam produced: [bold]{polymer_kg:.1f} kg[/bold] of polymer"
    else:
        product = f"Membrane cast: [bold]{image.get('support_belt.length_m', 0.0):.1f} m[/bold]"
    sim_s = engine.clock.now_s()
    console.print(f"{product}   simulated {_hms(sim_s)} in {wall_s:.1f} s wall ({sim_s / max(wall_s, 1e-9):.0f}x)")
    console.print(f"Batch record: run {engine.run_id} in {url}")


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

    compiled = _compile(recipe)
    try:
        result = asyncio.run(bump_test(compiled, loop, at_step=at_step, settle_s=settle_s, record_s=record_s,
                                       output_change=change))
    except (KeyError, BumpTestError, ValueError) as exc:
        console.print(f"[red]{exc.args[0] if exc.args else exc}[/red]")
        raise typer.Exit(2) from None
    m, d = result.model, result.loop
    console.print(f"{d.name}: {d.output} stepped {result.output_change:+g} from {result.output_before:g} "
                  f"at {_hms(result.step_time_s)}; {d.pv} responded")
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


from controller.cli.hil import register as _register_hil; _register_hil(app)  # noqa: E402, E702


from controller.cli.admin import register as _register_admin; _register_admin(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
