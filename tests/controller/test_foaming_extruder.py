"""Extruder energy in production (issue 12, item 1): shaft power and specific energy from
the screw model land where a real ~10 kg/h single-screw line does (1-3 kW, 0.1-0.3 kWh/kg)."""

from __future__ import annotations

from paths import RECIPES
from scanning import run_until

from controller.assembly import build_line
from controller.engine.states import UnitState
from controller.lines import builtin_line, compile_for_line


def test_specific_energy_of_the_psu_recipe_in_production_is_that_of_a_real_line():
    line, control = builtin_line("foaming")
    recipe = compile_for_line((RECIPES / "foaming-psu-co2-water.yaml").read_text(encoding="utf-8"), line, control)
    sim = build_line(recipe=recipe, recorder=None, sample_period_s=60.0)
    sim.engine.request("start")
    run_until(sim.engine, lambda e: e.step is not None and e.step.name == "production", 6 * 3600.0)
    run_until(sim.engine, lambda e: False, 600.0)
    assert sim.engine.state is UnitState.EXECUTE and sim.engine.step.name == "production"
    image = sim.engine.image
    assert 9.0 < image["melt_pump_1.throughput_kg_h"] < 12.0
    assert 1.0 < image["extruder.shaft_power_kw"] < 3.0
    assert 0.1 <= image["extruder.specific_energy_kwh_kg"] <= 0.3
    assert 20.0 < image["extruder.motor_load_pct"] < 100.0
    # shear heat: the melt leaves the screw above the metering zone's 340 °C, within PSU's window
    assert 340.0 < image["extruder.melt_temperature_c"] < 360.0
