"""Bounded recipes (issue 11, item 3): YAML anchors and aliases are refused before they
expand (a few KB of aliases once took seconds to compile, growing quadratically), and the
counts and lengths a recipe may have are capped, each refusal naming the field and the
bound. Timings are generous bounds on refusals that must be immediate."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from paths import RECIPES

from controller.lines import compile_for_line
from controller.recipe import RecipeError, RecipeInvalid
from controller.recipe.compiler import load_yaml
from controller.recipe.limits import (
    MAX_ACTIONS_PER_STEP,
    MAX_ALARMS,
    MAX_CONDITION_CHARS,
    MAX_CONDITION_DEPTH,
    MAX_PARAMETERS,
    MAX_RECIPE_BYTES,
    MAX_STEPS,
    MAX_YAML_DEPTH,
    RecipeTextError,
    decode_recipe_bytes,
)

GOOD = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")
Recipe = dict[str, Any]


def refused(text: str) -> list[RecipeError]:
    """The errors of compiling ``text``. Which check refused it (the rule) shows where: a
    ``yaml.*`` rule while scanning the parser's events, before any object is built; a unit
    refused by its grammar before pint evaluates it."""
    with pytest.raises(RecipeInvalid) as info:
        compile_for_line(text)
    return info.value.errors


def mutated(change: Callable[[Recipe], None]) -> str:
    data = yaml.safe_load(GOOD)
    change(data)
    text = yaml.safe_dump(data, sort_keys=False, width=10_000)
    assert "&id" not in text, "the test built shared objects: YAML would write them as aliases"
    return text


# ------------------------------------------------------------------ anchors and aliases
def _laughs(levels: int = 9, width: int = 10) -> str:
    """The classic bomb: each level a list of ``width`` aliases of the one before
    (``width ** levels`` leaves once expanded)."""
    lines = ["lol0: &lol0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


BOMBS = {
    "billion laughs": GOOD + _laughs(),
    # aliased steps: 1.8 KB of these once took 7.5 s to compile
    "aliased steps": GOOD.replace("procedure:\n", "procedure:\n  - &s {step: a, transition: {condition: 'true', "
                                  "timeout: '1 s'}}\n" + "  - *s\n" * 60, 1),
    "merge key": GOOD + "base: &base {a: 1}\nother: {<<: *base}\n",
    "anchor only": GOOD.replace("formula:\n", "formula: &f\n", 1),
}


@pytest.mark.parametrize("name", BOMBS)
def test_anchors_and_aliases_are_refused_at_once(name: str) -> None:
    errors = refused(BOMBS[name])
    assert [(e.field, e.rule) for e in errors] == [("", "yaml.alias")]
    assert "anchors and aliases are not allowed (line " in errors[0].message


def test_a_bomb_is_refused_before_it_expands() -> None:
    # 10**30 leaves: that this returns at all shows they were never built
    document, errors = load_yaml(_laughs(levels=30))
    assert document is None and errors[0].rule == "yaml.alias"


def test_yaml_nested_too_deep_is_refused() -> None:
    deep = GOOD + "deep: " + "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5) + "\n"
    errors = refused(deep)
    assert [e.rule for e in errors] == ["yaml.depth"]
    assert f"deeper than {MAX_YAML_DEPTH} levels" in errors[0].message


def test_the_shipped_recipes_stay_within_every_bound() -> None:
    for path in sorted(RECIPES.glob("*.yaml")):
        compile_for_line(path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ caps
def _steps(data: Recipe, count: int) -> None:
    data["procedure"] = [copy.deepcopy(data["procedure"][i % len(data["procedure"])]) | {"step": f"s{i}"}
                         for i in range(count)]


def _actions(data: Recipe, count: int) -> None:
    one = data["procedure"][0]["actions"][0]
    data["procedure"][0]["actions"] = [copy.deepcopy(one) for _ in range(count)]


def _alarms(data: Recipe, count: int) -> None:
    data["alarms"] = [copy.deepcopy(data["alarms"][0]) | {"id": f"A{i}"} for i in range(count)]


def _parameters(data: Recipe, count: int) -> None:
    one = next(iter(data["formula"].values()))
    data["formula"] |= {f"p{i}": copy.deepcopy(one) for i in range(count)}


CAPS: list[tuple[str, Callable[[Recipe], None], str, str]] = [
    ("steps", lambda d: _steps(d, MAX_STEPS + 1), "procedure", f"{MAX_STEPS + 1} entries; at most {MAX_STEPS}"),
    ("actions", lambda d: _actions(d, MAX_ACTIONS_PER_STEP + 1), "procedure[0].actions",
     f"{MAX_ACTIONS_PER_STEP + 1} entries; at most {MAX_ACTIONS_PER_STEP}"),
    ("alarms", lambda d: _alarms(d, MAX_ALARMS + 1), "alarms", f"{MAX_ALARMS + 1} entries; at most {MAX_ALARMS}"),
    ("parameters", lambda d: _parameters(d, MAX_PARAMETERS), "formula", f"at most {MAX_PARAMETERS}"),
    ("step condition", lambda d: d["procedure"][2]["transition"].update(condition="true and " * 60 + "true"),
     "procedure[2].transition.condition", f"at most {MAX_CONDITION_CHARS} are allowed"),
    ("alarm condition", lambda d: d["alarms"][1].update(condition="true or " * 100 + "true"),
     "alarms[1].condition", f"at most {MAX_CONDITION_CHARS} are allowed"),
]


@pytest.mark.parametrize(("what", "change", "field", "message"), CAPS, ids=[c[0] for c in CAPS])
def test_each_cap_is_refused_naming_the_field(what: str, change: Callable[[Recipe], None], field: str,
                                              message: str) -> None:
    errors = refused(mutated(change))
    capped = [e for e in errors if e.rule == "schema.too_long"]
    assert [e.field for e in capped] == [field], (what, errors)
    assert message in capped[0].message


def test_a_recipe_at_the_caps_is_not_refused_for_them() -> None:
    def at_caps(data: Recipe) -> None:
        _actions(data, MAX_ACTIONS_PER_STEP)
        data["procedure"][2]["transition"]["condition"] = ("true and " * 100)[:MAX_CONDITION_CHARS - 4] + "true"

    try:
        compile_for_line(mutated(at_caps))
    except RecipeInvalid as exc:  # fifty identical actions may break a process rule, never a cap
        assert [e for e in exc.errors if e.rule.startswith("schema.")] == []


def test_a_condition_nested_too_deep_is_refused_naming_the_step() -> None:
    deep = "not " * (MAX_CONDITION_DEPTH + 5) + "true"  # short, but one syntax-tree level per "not"
    errors = refused(mutated(lambda d: d["procedure"][2]["transition"].update(condition=deep)))
    found = [e for e in errors if e.field == "procedure[2].transition.condition"]
    assert found and all(f"nested more than {MAX_CONDITION_DEPTH} levels deep" in e.message for e in found), errors


def test_a_unit_pint_would_compute_for_ever_is_refused_naming_the_field() -> None:
    text = mutated(lambda d: d["formula"]["dope_temperature"].update(value="1 m*10**3200000"))
    errors = refused(text)  # refused by the unit grammar: pint alone took seconds on this unit
    units = [e for e in errors if e.rule == "unit.invalid"]
    assert [e.field for e in units] == ["formula.dope_temperature.value"], errors
    assert "no numbers other than powers up to 99" in units[0].message


# ------------------------------------------------------------------ text
def test_bytes_not_utf8_are_refused_naming_the_byte() -> None:
    data = GOOD.encode("utf-8").replace(b"header:", b"header: \xff", 1)
    at = data.index(b"\xff")
    with pytest.raises(RecipeTextError, match=rf"^not UTF-8 at byte {at}: save the recipe as UTF-8$"):
        decode_recipe_bytes(data)
    assert decode_recipe_bytes(GOOD.encode("utf-8")) == GOOD


def test_a_recipe_over_the_size_limit_is_refused_unparsed() -> None:
    huge = GOOD + "#" * MAX_RECIPE_BYTES + "\n"
    with pytest.raises(RecipeTextError, match=rf"at most {MAX_RECIPE_BYTES} are allowed"):
        decode_recipe_bytes(huge.encode())
    errors = refused(huge)
    assert [(e.field, e.rule) for e in errors] == [("", "recipe.text")]


def test_a_lone_surrogate_is_refused_naming_the_character() -> None:
    errors = refused(GOOD.replace("header:", "header: \ud800", 1))
    assert [(e.field, e.rule) for e in errors] == [("", "recipe.text")]
    assert errors[0].message.startswith("not UTF-8 at character ")
