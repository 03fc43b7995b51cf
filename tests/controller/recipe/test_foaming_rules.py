"""Foaming recipes (seed 001): the shipped ones compile clean; each seed rule broken is
refused with the rule's id."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from paths import RECIPES

from controller.lines import builtin_line, compile_for_line, compile_text
from controller.lines.foaming.recipe import FoamingBlock, foaming_block
from controller.recipe import RecipeInvalid, format_errors
from controller.recipe.model import CompiledRecipe, RatioAction

RECIPES = RECIPES
FOAMING = sorted(RECIPES.glob("foaming-*.yaml"))
GOOD = (RECIPES / "foaming-psu-co2-water.yaml").read_text()


def test_four_foaming_recipes_are_shipped() -> None:
    assert {p.name for p in FOAMING} == {
        "foaming-psu-co2-water.yaml", "foaming-pes-co2-water.yaml", "foaming-production-8h.yaml",
        "foaming-psu-macrofiltration.yaml"}


@pytest.mark.parametrize("path", FOAMING, ids=lambda p: p.name)
def test_foaming_recipe_compiles_without_errors_or_warnings(path: Path) -> None:
    line, control = builtin_line("foaming")
    recipe, warnings = compile_text(path.read_text(), line, control)
    assert warnings == [], format_errors(warnings)
    assert isinstance(recipe, CompiledRecipe)
    assert recipe.header.line_kind == "foaming" and isinstance(recipe.block, FoamingBlock)  # no cast layers
    assert foaming_block(recipe).polymer in ("PSU", "PES")
    # gas in ratio to the polymer: w/(1 - sum w) of the polymer mass (2 wt% CO2 + 0.5 wt% water;
    # the macrofiltration recipe 1.2 + 0.8 wt%)
    co2, water = (0.012, 0.008) if "macro" in path.name else (0.02, 0.005)
    rest = 1.0 - co2 - water
    assert recipe.parameters["co2_ratio"].value == pytest.approx(100.0 * co2 / rest)
    assert recipe.parameters["water_ratio"].value == pytest.approx(100.0 * water / rest)
    polymer_g_min = recipe.parameters["polymer_throughput"].value * 1000.0 / 60.0
    assert recipe.parameters["co2_flow"].value == pytest.approx(polymer_g_min * co2 / rest)
    assert recipe.parameters["water_flow"].value == pytest.approx(polymer_g_min * water / rest)
    # the gas is metered by the ratio stations, switched on in start_gas and off in gas_off
    ratio_actions = [(s.name, a) for s in recipe.steps for a in s.actions if isinstance(a, RatioAction)]
    assert [(name, a.station, a.on) for name, a in ratio_actions] == [
        ("start_gas", "co2_injection", True), ("start_gas", "water_injection", True),
        ("gas_off", "co2_injection", False), ("gas_off", "water_injection", False)]
    assert ratio_actions[0][1].planned_output == pytest.approx(recipe.parameters["co2_flow"].value)


def rules_of(change: Callable[[dict[str, Any]], None]) -> set[str]:
    data = yaml.safe_load(GOOD)
    change(data)
    line, control = builtin_line("foaming")
    with pytest.raises(RecipeInvalid) as info:
        compile_for_line(yaml.safe_dump(data, sort_keys=False), line, control)
    return {e.rule for e in info.value.errors}


def step(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in data["procedure"] if s["step"] == name)


def test_melt_not_cooled_50_degc_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        d["formula"]["foaming_temperature"]["value"] = "300 degC"  # only 40 below 340
    assert "S001.cooling" in rules_of(change)


def test_mixing_stage_at_or_below_150_bar_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        d["formula"]["mixing_pressure"] = {"value": "140 bar"}
    assert "S001.pressure" in rules_of(change)


def test_a_single_fluid_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        d["materials"]["blowing_agents"] = [{"name": "CO2", "wt_pct": 2.5}]
        for s in d["procedure"]:
            s["actions"] = [a for a in s["actions"] if a.get("ratio") != "water_injection"]
            s["transition"]["condition"] = s["transition"]["condition"].replace(
                " and abs(water_pump.mass_flow_g_min - water_flow) < 0.1 * water_flow", "").replace(
                " and water_pump.mass_flow_g_min < 0.1", "")
    assert rules_of(change) == {"S001.two_fluids"}


def test_polymer_outside_the_seed_list_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        d["materials"]["polymer"] = "polystyrene"
    assert "S001.polymer" in rules_of(change)


def test_gas_left_on_after_the_melt_pumps_stop_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        step(d, "gas_off")["actions"] = []
        step(d, "gas_off")["transition"] = {"condition": "true", "timeout": "1 min"}
    assert "LINE.gas_off_first" in rules_of(change)


def test_gas_pressure_factor_is_required() -> None:
    def change(d: dict[str, Any]) -> None:
        del d["formula"]["gas_pressure_factor"]
    assert "PHYS.gas_factor" in rules_of(change)


def test_an_unknown_ratio_station_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        step(d, "start_gas")["actions"][0]["ratio"] = "nitrogen_injection"
    assert "ratio.unknown" in rules_of(change)


def test_a_ratio_station_in_auto_needs_a_positive_ratio() -> None:
    def change(d: dict[str, Any]) -> None:
        del step(d, "start_gas")["actions"][0]["value"]
    assert "ratio.value" in rules_of(change)

    def negative(d: dict[str, Any]) -> None:
        step(d, "start_gas")["actions"][0]["value"] = "-1 %"
    assert "ratio.value" in rules_of(negative)


def test_a_ratio_giving_more_gas_than_the_pump_meters_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        # the recipe plans 10.1 kg/h of polymer (melt pump 2 at 30 rpm): 60 % of it is
        # 101 g/min, above the CO2 pump's 100 g/min
        step(d, "start_gas")["actions"][0]["value"] = "60 %"
    assert "action.limits" in rules_of(change)


def test_writing_a_gas_setpoint_while_its_ratio_station_drives_it_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        step(d, "cool_to_foaming")["actions"].append({"set": "co2_pump.mass_flow_setpoint_g_min", "value": "3 g/min"})
    assert rules_of(change) == {"LINE.output_owner"}


def test_a_ratio_other_than_the_materials_loading_is_refused() -> None:
    def change(d: dict[str, Any]) -> None:
        step(d, "start_gas")["actions"][0]["value"] = "3 %"  # the materials say 2 wt% CO2: 2.05 % of the polymer
    assert rules_of(change) == {"MAT.ratio"}


def test_two_fluids_with_equal_diffusion_rates_are_refused(monkeypatch):
    """Claim 6 asks for fluids of different diffusion rates, not just two fluids: with a water
    record that diffuses as fast as CO2 in the material data, CO2 + water is refused."""
    import dataclasses

    from simulator.physics import gas, materials

    water_as_fast_as_co2 = dataclasses.replace(gas.CO2_DIFFUSIVITY_MELT, gas="H2O", source="test")
    monkeypatch.setitem(materials.BLOWING_AGENT_DIFFUSIVITY, "water", water_as_fast_as_co2)
    assert rules_of(lambda d: None) == {"S001.two_fluids"}


def test_the_same_fluid_twice_is_refused():
    def change(d: dict[str, Any]) -> None:
        d["materials"]["blowing_agents"] = [{"name": "CO2", "wt_pct": 2.0}, {"name": "carbon dioxide", "wt_pct": 0.5}]
    assert "S001.two_fluids" in rules_of(change)
