"""The casting line end to end on the built-in simulator: recipes, hold, abort, faults."""

from __future__ import annotations

import asyncio

import pytest
from paths import RECIPES
from scanning import run_until
from typer.testing import CliRunner

from controller.assembly import build_line
from controller.cli.main import app
from controller.engine.states import UnitState
from controller.lines import builtin_line, compile_for_line
from controller.recipe.model import LoopAction, LoopMode
from controller.store import BatchRecorder, create_engine_for, load_batch_record, upgrade

RECIPES = RECIPES
CASTING_RECIPES = sorted(p for p in RECIPES.glob("*.yaml")
                         if "line_kind: casting" in p.read_text(encoding="utf-8"))


def compile_text(text: str):
    definition, control = builtin_line("casting")
    return compile_for_line(text, definition, control)


def shortened(text: str, production: str = "20 min") -> str:
    """The same recipe with a shorter production hold (the time base of these tests)."""
    compiled = compile_text(text)
    production_steps = [s for s in compiled.steps if s.production]
    assert production_steps, "recipe has no production step"
    out = []
    for line in text.splitlines():
        if line.strip().startswith("production_time:"):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}production_time: {{value: "{production}"}}')
        else:
            out.append(line)
    return "\n".join(out) + "\n"


@pytest.fixture
def recorder(tmp_path) -> BatchRecorder:
    url = f"sqlite:///{tmp_path / 'batch.db'}"
    upgrade(url)
    return BatchRecorder(create_engine_for(url))



@pytest.mark.parametrize("path", CASTING_RECIPES, ids=lambda p: p.stem)
def test_shipped_recipe_runs_to_complete_and_its_batch_record_holds_steps_and_samples(path, recorder):
    recipe = compile_text(path.read_text(encoding="utf-8"))
    sim = build_line(recipe=recipe, recorder=recorder, sample_period_s=60.0)
    sim.engine.request("start")
    final = asyncio.run(sim.engine.run(max_duration_s=30 * 3600.0))
    assert final is UnitState.COMPLETE
    record = load_batch_record(recorder.engine, sim.engine.run_id)
    assert [s.name for s in record.steps] == [s.name for s in recipe.steps]
    assert all(s.outcome == "complete" for s in record.steps)
    assert record.sample_count > 1000
    assert record.run.final_state == "Complete"
    assert sim.engine.image["support_belt.length_m"] > 100.0  # membrane was cast


def test_hold_during_casting_then_unhold_resumes_the_same_step_with_its_timers(recorder):
    text = shortened((RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8"))
    recipe = compile_text(text)
    sim = build_line(recipe=recipe, recorder=recorder, sample_period_s=60.0)
    engine = sim.engine
    engine.request("start")
    run_until(engine, lambda e: e.step is not None and e.step.production
              and e.progress.elapsed_s >= 300.0, 12 * 3600.0)
    step_index = engine.progress.index
    elapsed_before = engine.progress.elapsed_s
    true_for_before = engine.progress.condition_true_s
    speed_before = engine.outputs["dope_pump_1.speed_setpoint_rpm"]
    assert speed_before > 10.0

    engine.request("hold")
    run_until(engine, lambda e: e.state is UnitState.HELD, 10.0)
    assert engine.state is UnitState.HELD
    run_until(engine, lambda e: False, 600.0)  # ten held minutes
    assert engine.outputs["dope_pump_1.speed_setpoint_rpm"] == 0.0  # pumps stop when held
    assert engine.outputs["support_belt.line_speed_setpoint_m_min"] == 0.0
    assert engine.progress.index == step_index
    assert engine.progress.elapsed_s == pytest.approx(elapsed_before, abs=1.0)  # frozen

    engine.request("unhold")
    run_until(engine, lambda e: e.state is UnitState.EXECUTE, 10.0)
    assert engine.progress.index == step_index
    assert engine.progress.condition_true_s == pytest.approx(true_for_before + 1.0, abs=2.0)
    # the pump's ratio station ramps it in again with the belt (20 rpm/min)
    run_until(engine, lambda e: abs(e.outputs["dope_pump_1.speed_setpoint_rpm"] - speed_before) < 1.0, 600.0)
    assert engine.outputs["dope_pump_1.speed_setpoint_rpm"] == pytest.approx(speed_before, abs=1.0)
    final = asyncio.run(engine.run(max_duration_s=6 * 3600.0))
    assert final is UnitState.COMPLETE
    production = next(s for s in engine.step_log if s.index == step_index)
    # the step lasted its hold time plus the ten held minutes, not less
    assert production.ended_s - production.started_s == pytest.approx(20 * 60 + 600, abs=10.0)


def test_abort_puts_every_device_at_its_safe_value_within_one_scan():
    text = shortened((RECIPES / "two-layer-unsupported-seed003.yaml").read_text(encoding="utf-8"))
    sim = build_line(recipe=compile_text(text))
    engine = sim.engine
    engine.request("start")
    run_until(engine, lambda e: e.step is not None and e.step.production, 12 * 3600.0)
    assert sim.plant.read_device("quench_bath")["heater_output_pct"] >= 0.0
    engine.request("abort")
    asyncio.run(engine.scan())  # one scan
    assert engine.state is UnitState.ABORTED
    for spec in sim.definition.devices:
        readback = sim.plant.read_device(spec.name)
        for tag in spec.profile.outputs:
            assert readback[tag.name] == tag.safe_value, f"{spec.name}.{tag.name}"


def test_a_loop_put_in_manual_from_its_faceplate_holds_its_output_and_returns_bumplessly(recorder):
    text = shortened((RECIPES / "two-layer-unsupported-seed003.yaml").read_text(encoding="utf-8"))
    sim = build_line(recipe=compile_text(text), recorder=recorder)
    engine = sim.engine
    engine.request("start")
    run_until(engine, lambda e: e.step is not None and e.step.production, 12 * 3600.0)
    with pytest.raises(KeyError, match="quench_bath_temperature"):  # the message lists the loops
        engine.set_loop(LoopAction("no_such_loop", LoopMode.MANUAL, output=1.0), "olga")
    engine.set_loop(LoopAction("quench_bath_temperature", LoopMode.MANUAL, output=12.5), "olga")
    asyncio.run(engine.run(max_duration_s=60.0))
    assert sim.plant.read_device("quench_bath")["heater_output_pct"] == 12.5  # held, not the PID's
    engine.set_loop(LoopAction("quench_bath_temperature", LoopMode.AUTO), "olga")
    asyncio.run(engine.scan())
    assert abs(sim.plant.read_device("quench_bath")["heater_output_pct"] - 12.5) < 2.0  # no bump
    record = load_batch_record(recorder.engine, engine.run_id)
    assert [(c.command, c.user) for c in record.commands if c.user == "olga"] == [
        ("loop quench_bath_temperature manual output 12.5", "olga"),
        ("loop quench_bath_temperature auto", "olga")]


def test_a_bad_recipe_is_refused_before_anything_moves(tmp_path):
    bad = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8").replace(
        'polymer_wt_pct: "9.5 wt%"', 'polymer_wt_pct: "15 wt%"')
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    database = tmp_path / "batch.db"
    result = CliRunner().invoke(app, ["run", str(path), "--database", f"sqlite:///{database}"])
    assert result.exit_code == 1
    assert "layers[0].polymer_wt_pct" in result.output and "S000.polymer_range" in result.output
    assert not database.exists()  # no run, no batch record, no plant: nothing moved


def test_failed_quench_heater_raises_an_alarm_holds_the_run_and_locks_the_heater_off(recorder):
    text = shortened((RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8"))
    sim = build_line(recipe=compile_text(text), recorder=recorder)
    engine = sim.engine
    engine.request("start")
    run_until(engine, lambda e: e.step is not None and e.step.name == "titrate_fast", 6 * 3600.0)
    sim.plant.faults.fail_heater("quench_bath")
    run_until(engine, lambda e: e.state is UnitState.HELD, 600.0)
    assert engine.state is UnitState.HELD
    assert "QUENCH_HEATER_FAULT" in [a["alarm_id"] for a in engine.status().alarms]
    assert sim.plant.read_device("quench_bath")["heater_output_pct"] == 0.0  # interlocked off
    record = load_batch_record(recorder.engine, engine.run_id)
    assert any(a.alarm_id == "QUENCH_HEATER_FAULT" for a in record.alarms)


def test_dope_left_past_its_metastable_lifetime_raises_an_alarm():
    # Titrate as Example VIII, then hold the line and leave the dope unstirred: the
    # controller's estimate and the plant's own dope must both run out of lifetime.
    # A 5 s scan: ageing takes tens of simulated hours, and the titration's loops hold at 5 s too
    text = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")
    recipe = compile_text(text)
    sim = build_line(recipe=recipe, scan_period_s=5.0)
    engine = sim.engine
    engine.request("start")
    run_until(engine, lambda e: e.step is not None and e.step.name == "equilibrate", 8 * 3600.0)
    engine.request("hold")
    run_until(engine, lambda e: e.state is UnitState.HELD, 10.0)
    sim.plant.write_device("dope_vessel_1", {"agitator_speed_setpoint_rpm": 0.0})
    engine.outputs["dope_vessel_1.agitator_speed_setpoint_rpm"] = 0.0  # operator stops the agitator
    run_until(engine, lambda e: any(a["alarm_id"] == "DOPE_1_LIFETIME_EXCEEDED"
                                    for a in e.status().alarms), 96 * 3600.0)
    assert any(a["alarm_id"] == "DOPE_1_LIFETIME_EXCEEDED" for a in engine.status().alarms)
    assert engine.image["dope_vessel_1.metastable_life_used_pct"] >= 100.0
    plant_dope = sim.plant.dope_state("dope_vessel_1")
    assert plant_dope["aging"] >= 0.95  # the simulated dope agrees it is spent
    assert not plant_dope["castable"] or plant_dope["aging"] < 1.05
