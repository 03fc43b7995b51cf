"""Bump test of one PI loop on the built-in simulator, as a controls engineer commissions it.

The recipe runs on the simulated line until ``at_step`` has lasted ``settle_s``; the loop
is put in manual at its present output, held there for a baseline, then its output is
stepped by ``output_change`` and the pv recorded for ``record_s`` while the rest of the
line stays in automatic. The response gives a FOPDT model and SIMC PI settings
(``controller.tuning.simc``), shown beside the loop's configured ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.assembly import build_line
from controller.engine.states import TERMINAL
from controller.recipe.control import LoopDefinition
from controller.recipe.model import CompiledRecipe, LoopAction, LoopMode
from controller.tuning.simc import FopdtModel, PiTuning, fit_fopdt, simc_pi

BASELINE_FRACTION = 0.1  # of record_s: manual at the old output before the step
CHUNK_SCANS = 10  # scans per engine.run() call while waiting for the step
MAX_WAIT_S = 48 * 3600.0  # simulated time allowed to reach the step (a held run never gets there)


class BumpTestError(RuntimeError):
    """The test could not be made (step not reached, step ended during the test, ...)."""


@dataclass(frozen=True, slots=True)
class BumpTestResult:
    loop: LoopDefinition
    output_before: float
    output_change: float
    step_time_s: float
    scan_period_s: float
    times_s: tuple[float, ...]
    values: tuple[float, ...]
    model: FopdtModel
    tuning: PiTuning


async def bump_test(recipe: CompiledRecipe, loop_name: str, *, at_step: str, settle_s: float,
                    record_s: float, output_change: float | None = None, scan_period_s: float = 1.0,
                    seed: int = 0) -> BumpTestResult:
    """Bump-test loop ``loop_name`` in step ``at_step`` of ``recipe`` on the simulator.

    ``output_change`` defaults to 5 % of the output's span, downwards if the output sits
    in the upper half of its range."""
    sim = build_line(recipe=recipe, seed=seed, scan_period_s=scan_period_s)
    loop = sim.control.loop(loop_name)  # KeyError naming the loops
    device, tag = loop.output.split(".", 1)
    output_tag = sim.definition.device(device).profile.tag(tag)
    if at_step not in [s.name for s in recipe.steps]:
        raise BumpTestError(f"recipe {recipe.header.recipe_id} has no step {at_step!r}")
    engine = sim.engine
    engine.request("start")

    async def scan_for(duration_s: float) -> None:
        state = await engine.run(max_duration_s=duration_s)
        if state in TERMINAL:
            raise BumpTestError(f"the run ended ({state.value}) during the bump test")

    while not (engine.step is not None and engine.step.name == at_step and engine.progress.elapsed_s >= settle_s):
        if engine.clock.now_s() > MAX_WAIT_S:
            raise BumpTestError(f"step {at_step} not reached after {settle_s:g} s within {MAX_WAIT_S / 3600:g} "
                                f"simulated hours (state {engine.state.value}, step "
                                f"{engine.step.name if engine.step else None})")
        await scan_for(CHUNK_SCANS * scan_period_s)
    before = engine.outputs[loop.output]
    if output_change is None:
        span = output_tag.high - output_tag.low
        output_change = 0.05 * span if before < output_tag.low + 0.5 * span else -0.05 * span
    times: list[float] = []
    values: list[float] = []

    def record(_engine: object) -> None:
        times.append(engine.clock.now_s())
        values.append(engine.image[loop.pv])

    engine.set_loop(LoopAction(loop_name, LoopMode.MANUAL, output=before), user="bump test")
    state = await engine.run(max_duration_s=BASELINE_FRACTION * record_s, on_scan=record)
    step_time_s = engine.clock.now_s()
    engine.set_loop(LoopAction(loop_name, LoopMode.MANUAL, output=before + output_change), user="bump test")
    applied = engine.outputs[loop.output] - before  # the output's limits may have clipped the step
    if state not in TERMINAL:
        state = await engine.run(max_duration_s=record_s, on_scan=record)
    if state in TERMINAL or engine.step is None or engine.step.name != at_step:
        raise BumpTestError(f"step {at_step} ended during the bump test: settle for less or record "
                            f"for less than the step lasts")
    engine.set_loop(LoopAction(loop_name, LoopMode.AUTO), user="bump test")  # bumpless
    model = fit_fopdt(times, values, step_time_s, applied)
    return BumpTestResult(loop=loop, output_before=before, output_change=applied, step_time_s=step_time_s,
                          scan_period_s=scan_period_s, times_s=tuple(times), values=tuple(values), model=model,
                          tuning=simc_pi(model, scan_period_s))
