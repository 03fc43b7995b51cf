"""Control-recipe adjustments (ISA-88): a run's formula changed from the master recipe's
only where the master declares limits, and compiled with every rule again."""

from __future__ import annotations

import math

import pytest
from paths import RECIPES

from controller.lines import compile_text
from controller.recipe import RecipeInvalid
from controller.recipe.adjust import Adjustment, AdjustmentRefused, adjusted_text

MASTER = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")


def test_an_adjusted_parameter_compiles_at_its_new_value_and_says_what_the_master_had():
    text, made = adjusted_text(MASTER, {"line_speed": 2.5, "dope_temperature": 41.0})
    assert made == (Adjustment("line_speed", 2.5, "m/min", 2.0), Adjustment("dope_temperature", 41.0, "degC", 40.0))
    compiled, _ = compile_text(text)
    assert (compiled.parameters["line_speed"].value, compiled.parameters["line_speed"].unit) == (2.5, "m/min")
    assert compiled.parameters["dope_temperature"].value == 41.0
    # the limits stay the master's, and everything else is as released
    assert (compiled.parameters["line_speed"].low, compiled.parameters["line_speed"].high) == (0.5, 5.0)
    # the layer's metered flow follows the belt (h = Q/(W·U)): 152.4 mL/min x 2.5/2 = 190.5 mL/min;
    # everything else is as released
    master, _ = compile_text(MASTER)
    assert master.parameters["layer_1_flow"].value == pytest.approx(152.4)
    assert compiled.parameters["layer_1_flow"].value == pytest.approx(190.5)
    derived = ("line_speed", "dope_temperature", "layer_1_flow", "layer_1_pump_speed")
    assert {n: p for n, p in compiled.parameters.items() if n not in derived} == \
        {n: p for n, p in master.parameters.items() if n not in derived}


def test_the_value_the_master_already_has_is_no_adjustment():
    assert adjusted_text(MASTER, {"line_speed": 2.0})[1] == ()


def test_a_value_outside_the_masters_limits_does_not_compile():
    text, _ = adjusted_text(MASTER, {"line_speed": 6.0})
    with pytest.raises(RecipeInvalid) as refused:
        compile_text(text)
    assert any(e.rule == "param.limits" and "line_speed = 6 m/min is outside its limits 0.5..5 m/min" in e.message
               for e in refused.value.errors)


@pytest.mark.parametrize(("values", "why"), [
    ({"prime_speed": 6.0}, "prime_speed: fixed by the master recipe (it declares no low or high limit)"),
    ({"no_such": 1.0}, "no_such: the formula has no such parameter"),
    ({"line_speed": math.nan}, "line_speed: nan is not a finite number"),
    ({"line_speed": True}, "line_speed: True is not a finite number"),
    ({f"p{i}": 1.0 for i in range(65)}, "65 adjustments: at most 64"),
])
def test_what_the_master_recipe_does_not_allow_is_refused_with_a_reason(values, why):
    with pytest.raises(AdjustmentRefused, match="^" + why.replace("(", r"\(").replace(")", r"\)") + "$"):
        adjusted_text(MASTER, values)
