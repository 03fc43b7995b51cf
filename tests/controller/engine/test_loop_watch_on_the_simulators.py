"""The loop watch and the readback check end to end on the built-in simulators: a frozen
quench-bath thermometer and a failed dope-vessel heater are caught in the steps no recipe
alarm covers (warm-up, titration); healthy runs raise none of the new alarms, Example VIII
included: its 30 degC wash with 10 L/min of 15 degC water needs ~10.9 kW, which the built-in
line's 15 kW wash heater has (the former 9 kW levelled out near 27 degC and raised
HEATER_SATURATED_WASH_BATH_TEMPERATURE: tests/controller/test_casting_baths_and_dryer.py)."""

from __future__ import annotations

import asyncio

import pytest
from paths import HIL_DATA, RECIPES
from scanning import run_until

from controller.assembly import build_line
from controller.engine.scan import Engine
from controller.engine.states import UnitState
from controller.lines import compile_for_line

EXAMPLE_VIII = RECIPES / "psf-microfilter-example-viii.yaml"
FROZEN_QUENCH = "FROZEN_QUENCH_BATH_TEMPERATURE"
DOPE_HEATER = "HEATER_SATURATED_DOPE_VESSEL_1_TEMPERATURE"
TITRATION = ("titrate_fast", "titrate_slow")
WATCH_PREFIXES = ("FROZEN_", "HEATER_SATURATED_", "READBACK_")


def example_viii():
    line = build_line(recipe=compile_for_line(EXAMPLE_VIII.read_text(encoding="utf-8")))
    line.engine.request("start")
    return line


def active(engine: Engine, alarm_id: str) -> bool:
    return alarm_id in engine.alarms and engine.alarms.get(alarm_id).active


def in_step(name: str):
    return lambda engine: engine.step is not None and engine.step.name == name


def test_a_frozen_quench_bath_thermometer_is_caught_during_titration():
    line = example_viii()
    engine = line.engine
    run_until(engine, in_step("titrate_fast"), 3 * 3600.0)
    frozen_at_s = engine.clock.now_s()
    line.plant.faults.inject("sensor", "quench_bath", "temperature_c")

    run_until(engine, lambda e: active(e, FROZEN_QUENCH), 30 * 60.0)

    assert active(engine, FROZEN_QUENCH)
    assert engine.clock.now_s() - frozen_at_s <= 30 * 60.0
    assert "quench_bath.temperature_c" in engine.alarms.get(FROZEN_QUENCH).definition.message
    assert engine.state is UnitState.EXECUTE and engine.step.name in TITRATION  # told, not stopped


def test_a_dope_vessel_heater_failed_from_the_start_is_caught_during_warm_up():
    line = example_viii()
    line.plant.faults.inject("heater", "dope_vessel_1")

    run_until(line.engine, lambda e: active(e, DOPE_HEATER), 3600.0)

    engine = line.engine
    assert active(engine, DOPE_HEATER) and engine.step.name == "warm_up"
    message = engine.alarms.get(DOPE_HEATER).definition.message
    assert "dope_vessel_1.jacket_output_pct" in message and "dope_vessel_1.temperature_c" in message


def test_a_dope_vessel_heater_that_fails_as_titration_starts_is_caught_before_titration_ends():
    line = example_viii()
    engine = line.engine
    run_until(engine, in_step("titrate_fast"), 3 * 3600.0)
    line.plant.faults.inject("heater", "dope_vessel_1")

    run_until(engine, lambda e: active(e, DOPE_HEATER) or e.step is None or e.step.name not in TITRATION,
              4 * 3600.0)

    assert active(engine, DOPE_HEATER) and engine.step.name in TITRATION
    # the recipe's own temperature alarm covers later steps only: this one is the loop watch's
    assert not active(engine, "DOPE_TEMPERATURE_DEVIATION")


def watch_events(engine: Engine) -> list[tuple[str, str]]:
    return [(e.alarm_id, e.state.value) for e in engine.alarms.events if e.alarm_id.startswith(WATCH_PREFIXES)]


@pytest.mark.parametrize(("recipe", "scan_period_s"), [
    (RECIPES / "foaming-psu-co2-water.yaml", 1.0),
    # the HIL pace: the melt outlet answers the coolant only after a ~10 min transport delay,
    # and few noisy samples in that time look still (foaming's melt_cooling is a WatchedLoop)
    (HIL_DATA / "short-foaming.yaml", 5.0),
    (HIL_DATA / "short-casting.yaml", 1.0),
], ids=["foaming psu", "short foaming at 5 s scans", "short casting"])
def test_a_healthy_run_raises_no_frozen_heater_or_readback_alarm(recipe, scan_period_s):
    line = build_line(recipe=compile_for_line(recipe.read_text(encoding="utf-8")), scan_period_s=scan_period_s)
    line.engine.request("start")

    final = asyncio.run(line.engine.run(max_duration_s=30 * 3600.0))

    assert final is UnitState.COMPLETE
    assert watch_events(line.engine) == []


def test_example_viii_raises_no_frozen_heater_or_readback_alarm_all_run():
    line = example_viii()

    final = asyncio.run(line.engine.run(max_duration_s=30 * 3600.0))

    assert final is UnitState.COMPLETE
    assert watch_events(line.engine) == []
