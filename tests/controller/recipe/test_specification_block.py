"""A recipe's `specification:` block: each quantity a tag of the line (derived tags
included), limits in any unit of its dimension or a formula parameter, converted to the
tag's unit; each mistake refused with the field and the rule."""

from typing import Any

import pytest
import yaml
from paths import RECIPES

from controller.lines import compile_text
from controller.recipe import RecipeInvalid
from controller.recipe.model import Specification

GOOD = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")


def with_specification(*entries: dict[str, Any]) -> str:
    data = yaml.safe_load(GOOD)
    data["specification"] = [dict(e) for e in entries]
    return yaml.safe_dump(data, sort_keys=False)


def refused(text: str) -> list[tuple[str, str]]:
    with pytest.raises(RecipeInvalid) as info:
        compile_text(text)
    return [(e.field, e.rule) for e in info.value.errors]


def test_limits_are_converted_to_the_tags_unit():
    compiled, _ = compile_text(with_specification(
        {"quantity": "casting_knife.wet_thickness_um", "low": "0.23 mm", "high": "280 um",
         "description": "wet film, Example VIII"},
        {"quantity": "quench_bath.temperature_c", "high": "quench_temperature", "max_out_of_spec": "10 %"},
    ))
    film, bath = compiled.specification
    assert film == Specification("casting_knife.wet_thickness_um", pytest.approx(230.0), 280.0, film.unit, 0.05,
                                 "wet film, Example VIII")
    assert bath.low is None and bath.high == compiled.parameters["quench_temperature"].value
    assert bath.max_out_of_spec_fraction == pytest.approx(0.10)


def test_a_recipe_without_the_block_has_no_specification():
    assert compile_text(GOOD)[0].specification == ()


@pytest.mark.parametrize(("entry", "field", "rule"), [
    ({"quantity": "casting_knife.no_such_tag", "low": "1 um"}, "specification[0].quantity", "spec.quantity"),
    ({"quantity": "casting_knife.wet_thickness_um"}, "specification[0]", "spec.limits"),
    ({"quantity": "casting_knife.wet_thickness_um", "low": "300 um", "high": "200 um"}, "specification[0]",
     "spec.limits"),
    ({"quantity": "casting_knife.wet_thickness_um", "low": "3 degC"}, "specification[0].low", "unit.dimension"),
    ({"quantity": "casting_knife.wet_thickness_um", "low": "1 um", "max_out_of_spec": "150 %"},
     "specification[0].max_out_of_spec", "spec.limits"),
])
def test_mistakes_are_refused_naming_the_field(entry, field, rule):
    problems = refused(with_specification(entry))
    assert (field, rule) in problems, problems


def test_a_quantity_specified_twice_is_refused():
    entry = {"quantity": "casting_knife.wet_thickness_um", "low": "1 um"}
    assert ("specification[1].quantity", "spec.duplicate") in refused(with_specification(entry, dict(entry)))
