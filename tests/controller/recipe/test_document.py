"""A compiled recipe travels to the line runtime as a JSON document and loads back the same."""

from __future__ import annotations

import json

import pytest
from paths import RECIPES

from controller.lines import compile_for_line, kind_named
from controller.recipe.conditions import ConditionError
from controller.recipe.document import from_document, to_document

SHIPPED = sorted(RECIPES.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_recipe_survives_the_trip_as_json(path):
    recipe = compile_for_line(path.read_text(encoding="utf-8"))
    kind = kind_named(recipe.header.line_kind)
    document = json.loads(json.dumps(to_document(recipe, kind.block_document)))  # over the wire
    loaded = from_document(document, kind.definition().addresses(), kind.block_from_document)
    assert to_document(loaded, kind.block_document) == document
    assert (loaded.header, loaded.parameters, loaded.block) == (recipe.header, recipe.parameters, recipe.block)
    assert [s.actions for s in loaded.steps] == [s.actions for s in recipe.steps]
    image = dict.fromkeys(kind.definition().addresses(), 0.0)
    assert [s.transition.condition.evaluate(image) for s in loaded.steps] == [
        s.transition.condition.evaluate(image) for s in recipe.steps]


def test_a_document_for_another_line_or_with_tampered_text_is_refused():
    recipe = compile_for_line((RECIPES / "foaming-psu-co2-water.yaml").read_text(encoding="utf-8"))
    foaming, casting = kind_named("foaming"), kind_named("casting")
    document = to_document(recipe, foaming.block_document)
    with pytest.raises(ConditionError, match="unknown tag"):
        from_document(document, casting.definition().addresses(), foaming.block_from_document)
    tampered = dict(document, yaml_text=document["yaml_text"].replace("PSU", "PES"))
    with pytest.raises(ValueError, match="content hash"):
        from_document(tampered, foaming.definition().addresses(), foaming.block_from_document)


def test_the_specification_travels_with_the_recipe():
    text = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8") + (
        "specification:\n  - {quantity: casting_knife.wet_thickness_um, low: \"0.2 mm\", high: \"300 um\","
        " max_out_of_spec: \"2 %\"}\n")
    recipe = compile_for_line(text)
    kind = kind_named("casting")
    document = json.loads(json.dumps(to_document(recipe, kind.block_document)))
    loaded = from_document(document, kind.definition().addresses(), kind.block_from_document)
    assert loaded.specification == recipe.specification and len(loaded.specification) == 1
    unknown = dict(document, specification=[dict(document["specification"][0], address="die.foam_cell_size_um")])
    with pytest.raises(ValueError, match="not a tag of this line"):
        from_document(unknown, kind.definition().addresses(), kind.block_from_document)
