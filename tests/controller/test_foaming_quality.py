"""The foaming line in spec (issue 12, item 1): each shipped recipe's foam estimate lies in
its product class in production; a die gap opened past the limit trips the die-pressure
interlock and raises the quality alarm; the gas ratio follows the pumps' slip model."""

from __future__ import annotations

import math

import pytest
from paths import RECIPES
from scanning import run_until

from controller.assembly import AssembledLine, build_line
from controller.engine.states import UnitState
from controller.lines import builtin_line, compile_for_line
from controller.lines.foaming.control import GAS_FLOW_SETPOINTS
from controller.lines.foaming.soft_sensors import DIE_PRESSURE_ALARM_ID, FOAM_QUALITY_ALARM_ID


def simulated(name: str) -> AssembledLine:
    line, control = builtin_line("foaming")
    recipe = compile_for_line((RECIPES / name).read_text(encoding="utf-8"), line, control)
    return build_line(recipe=recipe, recorder=None, sample_period_s=60.0)


def in_production(sim: AssembledLine, minutes: float = 10.0) -> None:
    sim.engine.request("start")
    run_until(sim.engine, lambda e: e.step is not None and e.step.name == "production", 6 * 3600.0)
    run_until(sim.engine, lambda e: False, minutes * 60.0)
    assert sim.engine.state is UnitState.EXECUTE and sim.engine.step.name == "production"


def alarm_ids(sim: AssembledLine) -> set[str]:
    return {a["alarm_id"] for a in sim.engine.status().alarms}


# recipe, its class's cell-size range (seed 001 claims 2 and 3), the polymer's Tg in °C
SHIPPED = [("foaming-psu-co2-water.yaml", 0.05, 30.0, 185.0), ("foaming-pes-co2-water.yaml", 0.05, 30.0, 225.0),
           ("foaming-psu-macrofiltration.yaml", 30.0, 200.0, 185.0)]


def pore_spread_pct_by_hand(image: dict[str, float], glass_transition_c: float) -> float:
    """The spread from the scan's own figures, written out: nuclei N0 = 1e9·(rate/GPa/s)^1.5 per
    cm³; CO2's diffusivity 1e-9 m²/s at PS's Tg + 100 K, Arrhenius 30 kJ/mol, read at the die
    melt's distance above its Tg; supersaturated from P_min to 1 atm at the die's rate;
    cells grow (half spacing)²/D after; R ∝ √(t_g + u), u uniform over the window."""
    rate_pa_s = image["die.pressure_drop_rate_gpa_s"] * 1e9
    nuclei_per_m3 = 1e9 * image["die.pressure_drop_rate_gpa_s"] ** 1.5 * 1e6
    corresponding_k = image["die.melt_temperature_c"] - glass_transition_c + 100.0 + 273.15
    diffusivity = 1e-9 * math.exp(-30e3 / 8.314462618 * (1 / corresponding_k - 1 / 473.15))
    window_s = (image["die.single_phase_min_bar"] * 1e5 - 101325.0) / rate_pa_s
    growth_s = (0.5 * nuclei_per_m3 ** (-1 / 3)) ** 2 / diffusivity
    x = window_s / growth_s
    mean = 2 * ((1 + x) ** 1.5 - 1) / (3 * x)
    return 100.0 * math.sqrt(1 + x / 2 - mean**2) / mean


@pytest.mark.parametrize(("name", "low_um", "high_um", "glass_transition_c"), SHIPPED, ids=[s[0] for s in SHIPPED])
def test_each_shipped_recipes_production_estimate_lies_in_its_product_class(name, low_um, high_um,
                                                                            glass_transition_c):
    sim = simulated(name)
    in_production(sim)
    image = sim.engine.image
    assert image["die.foaming"] == 1.0 and image["die.foam_in_spec"] == 1.0
    assert low_um < image["die.foam_cell_size_um"] <= high_um
    assert image["die.foam_void_fraction_pct"] >= 75.0  # claim 1
    assert image["die.foam_open_cell_pct"] >= 80.0  # claim 1
    assert image["die.foam_pore_spread_pct"] <= 10.0  # claim 1: σ within ±10 % of the mean pore
    assert image["die.foam_pore_spread_pct"] == pytest.approx(pore_spread_pct_by_hand(image, glass_transition_c),
                                                              rel=1e-6)
    assert image["die.pressure_drop_rate_gpa_s"] >= 0.1  # microcellular range (PHYSICS.md)
    # single-phase to the die lips, with the recipe's margin, and below the 350 bar trip
    assert image["die.gas_min_pressure_bar"] < image["die.melt_pressure_bar"] < 350.0
    # seed 001: melt pump 1 raises the pressure into the mixing stage, melt pump 2 forces it through the die
    assert image["melt_pump_1.outlet_pressure_bar"] > image["melt_pump_1.inlet_pressure_bar"]
    assert image["melt_pump_2.outlet_pressure_bar"] > image["melt_pump_2.inlet_pressure_bar"]
    assert image["melt_pump_2.inlet_pressure_bar"] > 150.0  # claim 8
    assert not alarm_ids(sim)


def test_a_die_gap_opened_past_the_limit_trips_the_die_pressure_interlock_and_raises_the_quality_alarm():
    sim = simulated("foaming-psu-co2-water.yaml")
    in_production(sim, minutes=5.0)
    # ΔP ∝ H^-(2n+1) = H^-1.9: 0.30 -> 0.50 mm drops ~246 bar to ~94 bar, below 1.3 x P_min (~150 bar)
    sim.engine.outputs["die.gap_setpoint_mm"] = 0.5
    run_until(sim.engine, lambda e: DIE_PRESSURE_ALARM_ID in alarm_ids(sim), 120.0)
    assert {DIE_PRESSURE_ALARM_ID, FOAM_QUALITY_ALARM_ID} <= alarm_ids(sim)
    for address in GAS_FLOW_SETPOINTS:
        device, tag = address.split(".")
        assert sim.plant.commands[device][tag] == 0.0, address
    run_until(sim.engine, lambda e: False, 60.0)
    assert sim.engine.state is UnitState.HELD


def test_the_gas_loading_the_plant_sees_is_the_recipes_with_the_slip_model():
    """The throughput soft sensor takes melt pump 1's slip at its pressure rise and the
    plasticised viscosity; with the old 0.98 constant the CO2 loading ran ~5 % low."""
    sim = simulated("foaming-psu-co2-water.yaml")
    in_production(sim, minutes=5.0)
    assert sim.engine.image["melt_pump_1.volumetric_efficiency_pct"] < 98.0
    assert sim.plant.melt_state()["co2_wt_pct"] == pytest.approx(2.0, rel=0.02)
    assert sim.plant.melt_state()["water_wt_pct"] == pytest.approx(0.5, rel=0.02)
