"""Every shipped recipe compiles against the built-in casting line."""

from pathlib import Path

import pytest
from paths import RECIPES

from controller.lines import compile_for_line, compile_text
from controller.lines.casting.control import casting_control
from controller.lines.casting.definition import casting_line
from controller.lines.casting.recipe import casting_block
from controller.recipe import format_errors
from controller.recipe.compiler import compile_standing_alarms
from controller.recipe.model import CompiledRecipe, LoopAction, RampAction, RatioAction, SetAction

RECIPES = RECIPES
# foaming recipes: tests/controller/recipe/test_foaming_rules.py
SHIPPED = sorted(p for p in RECIPES.glob("*.yaml") if not p.name.startswith("foaming-"))


def test_the_four_recipes_are_shipped() -> None:
    assert {p.name for p in SHIPPED} >= {
        "psf-microfilter-example-viii.yaml", "psf-hexane-example-vii.yaml",
        "two-layer-unsupported-seed003.yaml", "production-8h.yaml",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_recipe_compiles_without_errors_or_warnings(path: Path) -> None:
    line = casting_line()
    recipe, warnings = compile_text(path.read_text(), line, casting_control(line))
    assert warnings == [], format_errors(warnings)
    assert isinstance(recipe, CompiledRecipe)
    assert recipe.header.line_kind == "casting"
    assert recipe.steps and any(s.production for s in recipe.steps)
    for step in recipe.steps:
        assert step.transition.timeout_s > step.transition.hold_for_s
    # the line ends stopped: every pump that ran and the belt are commanded to 0 last
    last = {a.address: a for a in recipe.steps[-1].actions if isinstance(a, (SetAction, RampAction))}
    assert last["support_belt.line_speed_setpoint_m_min"].target == 0.0  # type: ignore[union-attr]
    for layer in casting_block(recipe).layers:
        assert last[f"{layer.pump}.speed_setpoint_rpm"].value == 0.0  # type: ignore[union-attr]


def test_example_viii_values_in_tag_units() -> None:
    line = casting_line()
    text = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")
    recipe = compile_for_line(text, line, casting_control(line))
    (layer,) = casting_block(recipe).layers
    assert (layer.polymer_wt_pct, layer.non_solvent_wt_pct) == (9.5, 15.5)
    assert layer.wet_thickness_um == pytest.approx(254.0)  # 10 mil
    assert layer.non_solvent == "2-methyl-2-butanol"
    params = recipe.parameter_values()
    assert params["absorbance_target"] == pytest.approx(0.600)
    assert params["dope_temperature"] == pytest.approx(40.0)
    # Mass balance, computed here independently: 0.3 m x 254e-6 m x 2 m/min = 152.4 cm3/min
    # (PHYSICS.md), at 3.0 cm3/rev and 98 % volumetric efficiency.
    assert params["layer_1_flow"] == pytest.approx(152.4)
    assert params["layer_1_pump_speed"] == pytest.approx(152.4 / (3.0 * 0.98))
    casting = next(s for s in recipe.steps if s.name == "start_casting")
    ratio = casting.actions[0]  # pump speed in ratio to the belt: the ratio is the wet film in um
    assert isinstance(ratio, RatioAction) and ratio.ratio == pytest.approx(254.0)
    assert ratio.planned_output == pytest.approx(params["layer_1_pump_speed"])  # at the planned 2 m/min
    assert ratio.rate_per_s == pytest.approx(20 / 60)
    warm_up = recipe.steps[0]
    loop = warm_up.actions[0]
    assert isinstance(loop, LoopAction) and loop.setpoint == 40.0
    image = dict.fromkeys(recipe.steps[2].transition.condition.addresses, 0.0)
    image["dope_vessel_1.absorbance"] = 0.61
    assert recipe.steps[2].transition.condition.evaluate(image)


def test_production_recipe_holds_eight_hours() -> None:
    line = casting_line()
    recipe = compile_for_line((RECIPES / "production-8h.yaml").read_text(), line, casting_control(line))
    production = [s for s in recipe.steps if s.production]
    assert sum(s.transition.hold_for_s for s in production) == 8 * 3600
    assert all(s.transition.timeout_s > 8 * 3600 for s in production)
    assert recipe.yaml_text.startswith("#")


def test_two_layer_recipe_sizes_each_pump() -> None:
    line = casting_line()
    recipe = compile_for_line((RECIPES / "two-layer-unsupported-seed003.yaml").read_text(), line, casting_control(line))
    assert [(layer.pump, layer.slot, layer.polymer) for layer in casting_block(recipe).layers] == [
        ("dope_pump_1", 1, "PES"), ("dope_pump_2", 2, "PES")]
    params = recipe.parameter_values()
    for layer in casting_block(recipe).layers:
        flow = 0.3 * layer.wet_thickness_um * 1e-6 * 2.0 * 1e6
        assert params[f"layer_{layer.index}_pump_speed"] == pytest.approx(flow / (3.0 * 0.98))


def test_recipe_alarms_are_compiled() -> None:
    line = casting_line()
    recipe = compile_for_line((RECIPES / "psf-microfilter-example-viii.yaml").read_text(), line, casting_control(line))
    alarm = next(a for a in recipe.alarms if a.alarm_id == "ABSORBANCE_HIGH")
    assert alarm.delay_s == 60.0 and alarm.only_in_steps == {"start_casting", "production"}
    assert alarm.condition.evaluate({"dope_vessel_1.absorbance": 0.8})


def test_standing_alarms_compile_with_the_same_grammar() -> None:
    line = casting_line()
    alarms = compile_standing_alarms(line, casting_control(line))
    assert {a.alarm_id for a in alarms} >= {"QUENCH_LOW_LEVEL", "BELT_STOPPED"}
