"""Seed facts in the shipped casting recipes (issue 12, item 6): Example VIII is the 0.4 µm
microfilter, in a new recipe version; the seed-003 recipe casts from a covered applicator
(claim 6) and peels the film off its support."""

import dataclasses

import pytest
from paths import RECIPES

from controller.lines import compile_for_line
from controller.lines.casting.control import casting_control
from controller.lines.casting.definition import casting_line
from controller.recipe import RecipeInvalid

SEED003 = (RECIPES / "two-layer-unsupported-seed003.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["psf-microfilter-example-viii.yaml", "production-8h.yaml"])
def test_the_example_viii_recipes_are_a_new_version_naming_the_0_4_um_product(name):
    line = casting_line()
    recipe = compile_for_line((RECIPES / name).read_text(encoding="utf-8"), line, casting_control(line))
    assert recipe.header.version == 2
    assert "0.4 um" in recipe.header.name and recipe.header.product == "PSf-MF-0.4"
    assert "0.2" not in recipe.header.name + recipe.header.product  # 0.2 µm is Example V


def test_the_seed_003_recipe_compiles_with_a_covered_applicator_and_peels_the_film_before_production():
    line = casting_line()
    recipe = compile_for_line(SEED003, line, casting_control(line))
    names = [s.name for s in recipe.steps]
    assert names.index("start_casting") < names.index("peel_off") < names.index("production")
    assert not next(s for s in recipe.steps if s.name == "peel_off").production
    assert "applicator: {covered: true" in recipe.yaml_text


def test_a_covered_applicator_recipe_is_refused_on_a_line_whose_applicator_has_no_cover():
    line = casting_line()
    uncovered = tuple(
        dataclasses.replace(d, equipment={k: v for k, v in d.equipment.items() if k != "covered"})
        if d.name == "casting_knife" else d for d in line.devices)
    line = dataclasses.replace(line, devices=uncovered)
    with pytest.raises(RecipeInvalid) as info:
        compile_for_line(SEED003, line, casting_control(line))
    assert [(e.field, e.rule) for e in info.value.errors] == [("applicator.covered", "S003.covered_applicator")]


CASTING_RECIPES = sorted(p for p in RECIPES.glob("*.yaml") if "line_kind: casting" in p.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", CASTING_RECIPES, ids=lambda p: p.stem)
def test_each_casting_recipe_degasses_its_dope_30_min_at_temperature_before_it_casts(path):
    """Seed 000, Example I: the dope stands 30 min at temperature so entrained air rises out
    before it is cast. Before the first production step, a step stops every agitator and
    holds for 30 min or more on a condition that the dope is at its temperature."""
    recipe = compile_for_line(path.read_text(encoding="utf-8"))
    before_casting = recipe.steps[:next(i for i, s in enumerate(recipe.steps) if s.production)]
    degassing = [
        s for s in before_casting
        if s.transition.hold_for_s >= 30 * 60
        and "dope_vessel_1.temperature_c" in s.transition.condition.source
        and any(getattr(a, "address", "").endswith("agitator_speed_setpoint_rpm") and getattr(a, "value", None) == 0.0
                for a in s.actions)]
    assert degassing, [(s.name, s.transition.hold_for_s) for s in before_casting]
