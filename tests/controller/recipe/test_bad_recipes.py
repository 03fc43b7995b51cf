"""Bad recipes: each a small change to a good one, each refused with the field and the rule."""

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from paths import RECIPES

from controller.lines import compile_for_line, compile_text
from controller.lines.casting.control import casting_control
from controller.lines.casting.definition import casting_line
from controller.recipe import RecipeError, RecipeInvalid, format_errors

GOOD = (RECIPES / "psf-microfilter-example-viii.yaml").read_text()
# Example VIII's steps: 0 warm_up, 1 titrate_fast, 2 titrate_slow, 3 equilibrate, 4 set_gap,
# 5 prime_pump, 6 start_belt, 7 start_casting, 8 production, 9 stop_casting, 10 shutdown.

Recipe = dict[str, Any]


def errors_of(text: str) -> list[RecipeError]:
    line = casting_line()
    with pytest.raises(RecipeInvalid) as info:
        compile_for_line(text, line, casting_control(line))
    assert info.value.errors, "RecipeInvalid without errors"
    return info.value.errors


def mutated(change: Callable[[Recipe], None]) -> str:
    data = yaml.safe_load(GOOD)
    change(data)
    return yaml.safe_dump(data, sort_keys=False)


def step(data: Recipe, name: str) -> Recipe:
    return next(s for s in data["procedure"] if s["step"] == name)


def set_(path: str, value: Any) -> Callable[[Recipe], None]:
    """Set a value at a dotted path with [i] indices, e.g. procedure[0].actions[1].value."""
    def change(data: Recipe) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        target: Any = data
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        target[int(last) if last.isdigit() else last] = value
    return change


def delete(path: str) -> Callable[[Recipe], None]:
    def change(data: Recipe) -> None:
        parts = path.replace("[", ".").replace("]", "").split(".")
        target: Any = data
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        del target[int(last) if last.isdigit() else last]
    return change


def add_second_layer(pump: str, polymer: str = "PES") -> Callable[[Recipe], None]:
    def change(data: Recipe) -> None:
        data["layers"].append({**data["layers"][0], "vessel": "dope_vessel_2", "pump": pump, "slot": 2,
                               "polymer": polymer, "non_solvent": None, "non_solvent_wt_pct": "0 wt%",
                               "polymer_wt_pct": "12 wt%"})
    return change


BAD: list[tuple[str, Callable[[Recipe], None], str, str]] = [
    ("unknown device", set_("procedure[0].actions[1].set", "dope_vessel_9.agitator_speed_setpoint_rpm"),
     "procedure[0].actions[1].set", "action.device"),
    ("unknown tag", set_("procedure[0].actions[1].set", "dope_vessel_1.agitator_rpm"),
     "procedure[0].actions[1].set", "action.tag"),
    ("write to a measured tag", set_("procedure[0].actions[1].set", "dope_vessel_1.agitator_speed_rpm"),
     "procedure[0].actions[1].set", "action.not_writable"),
    ("missing unit", set_("procedure[5].actions[0].to", 5),
     "procedure[5].actions[0].to", "unit.missing"),
    ("missing unit in a quantity string", set_("procedure[0].actions[5].value", "10"),
     "procedure[0].actions[5].value", "unit.missing"),
    ("wrong unit", set_("procedure[6].actions[0].to", "2 m"),
     "procedure[6].actions[0].to", "unit.dimension"),
    ("loop setpoint in the wrong unit", set_("procedure[0].actions[2].setpoint", "40 m/min"),
     "procedure[0].actions[2].setpoint", "unit.dimension"),
    ("value outside the tag's limits", set_("procedure[0].actions[1].value", "400 rpm"),
     "procedure[0].actions[1].value", "action.limits"),
    ("loop setpoint outside the instrument range", set_("procedure[0].actions[2].setpoint", "120 degC"),
     "procedure[0].actions[2].setpoint", "action.limits"),
    ("parameter outside its own limits", set_("formula.dope_temperature.value", "50 degC"),
     "formula.dope_temperature.value", "param.limits"),
    ("unknown parameter", set_("procedure[0].actions[1].value", "agitator_sped"),
     "procedure[0].actions[1].value", "param.unknown"),
    ("unknown loop", set_("procedure[0].actions[2].loop", "quench_temperature"),
     "procedure[0].actions[2].loop", "loop.unknown"),
    ("auto loop without setpoint", delete("procedure[0].actions[2].setpoint"),
     "procedure[0].actions[2].setpoint", "loop.setpoint"),
    ("ramp rate not above zero", set_("procedure[6].actions[0].rate", "0 m/min/min"),
     "procedure[6].actions[0].rate", "ramp.rate"),
    ("transition without timeout", delete("procedure[4].transition.timeout"),
     "procedure[4].transition.timeout", "transition.timeout"),
    ("bad on_timeout", set_("procedure[4].transition.on_timeout", "retry"),
     "procedure[4].transition.on_timeout", "transition.on_timeout"),
    ("hold_for longer than the timeout", set_("procedure[4].transition.hold_for", "1 h"),
     "procedure[4].transition.timeout", "transition.hold_exceeds_timeout"),
    ("condition syntax error", set_("procedure[2].transition.condition", "dope_vessel_1.absorbance >= "),
     "procedure[2].transition.condition", "condition.syntax"),
    ("condition with an unknown tag", set_("procedure[2].transition.condition", "dope_vessel_1.turbidity > 1"),
     "procedure[2].transition.condition", "condition.unknown_tag"),
    ("condition with an unknown parameter", set_("procedure[2].transition.condition", "dope_vessel_1.absorbance > target"),
     "procedure[2].transition.condition", "condition.unknown_parameter"),
    ("condition calling a function", set_("procedure[2].transition.condition", "exec('1') > 0"),
     "procedure[2].transition.condition", "condition.forbidden"),
    ("duplicate step", set_("procedure[5].step", "set_gap"), "procedure[5].step", "procedure.duplicate_step"),
    ("empty procedure", set_("procedure", []), "procedure", "procedure.empty"),
    ("unknown key (typo)", set_("procedure[0].transition.hold", "5 min"), "procedure[0].transition.hold", "schema.unknown_key"),
    ("missing header field", delete("header.product"), "header.product", "schema.missing"),
    ("version not positive", set_("header.version", 0), "header.version", "header.version"),
    ("recipe for another line kind", set_("header.line_kind", "foaming"), "header.line_kind", "header.line_kind"),
    ("two layers share a pump", add_second_layer("dope_pump_1"), "layers[1].pump", "layer.pump_shared"),
    ("layer pump not on the line", set_("layers[0].pump", "dope_pump_7"), "layers[0].pump", "layer.device"),
    ("layer slot not on the applicator", set_("layers[0].slot", 3), "layers[0].slot", "layer.slot"),
    ("polysulfone fraction out of range", set_("layers[0].polymer_wt_pct", "14 wt%"),
     "layers[0].polymer_wt_pct", "S000.polymer_range"),
    ("non-solvent not in the seed's list", set_("layers[0].non_solvent", "glycerol"),
     "layers[0].non_solvent", "S000.non_solvent_known"),
    ("too much non-solvent", set_("layers[0].non_solvent_wt_pct", "25 wt%"),
     "layers[0].non_solvent_wt_pct", "S000.non_solvent_max"),
    ("gap incompatible with wet thickness", set_("layers[0].gap", "600 um"), "layers[0].gap", "PHYS.knife_gap"),
    ("gap too small for the wet film", set_("layers[0].gap", "250 um"), "layers[0].gap", "PHYS.knife_gap"),
    ("quench DMF too high", set_("quench", {"water_wt_pct": 70, "dmf_wt_pct": 30}), "quench.dmf_wt_pct", "S000.quench_dmf"),
    ("quench DMF loop setpoint too high", set_("formula.quench_dmf_max", {"value": "30 %"}),
     "procedure[0].actions[3].setpoint", "S000.quench_dmf"),
    ("surfactant outside the typical range",
     set_("quench", {"water_wt_pct": 99.5, "surfactant": "sodium dodecyl sulfate", "surfactant_wt_pct": 0.5}),
     "quench.surfactant_wt_pct", "S000.quench_surfactant"),
    ("quench does not add up", set_("quench", {"water_wt_pct": 90, "dmf_wt_pct": 5}), "quench", "S000.quench_composition"),
    ("multilayer polysulfone (seed 003 is nylon/PVDF/PES)", add_second_layer("dope_pump_2", "polysulfone"),
     "layers[0].polymer", "S003.multilayer_polymer"),
    ("charge larger than the vessel", set_("layers[0].charge", "150 kg"), "layers[0].charge", "EQ.vessel_charge"),
    ("belt left running at the end", delete("procedure[10].actions[1]"), "procedure[10].actions", "LINE.safe_end"),
    ("dosing pump left on", set_("procedure[3].actions", []), "procedure[10].actions", "LINE.dosing_end"),
    ("casting onto a stopped belt", set_("procedure[6].actions", []), "procedure[7].actions", "LINE.belt_while_casting"),
    ("pump started before the gap is set", set_("procedure[4].actions", []), "procedure[5].actions", "LINE.gap_while_casting"),
    ("more layers than pumps", lambda data: data["layers"].extend(dict(data["layers"][0]) for _ in range(2)),
     "layers", "layer.count"),
    ("line speed needs a pump faster than it goes", set_("formula.line_speed", {"value": "5 m/min"}),
     "layers[0].wet_thickness", "EQ.pump_speed"),
    ("not enough dope for the production time",
     lambda data: data["formula"].update(production_time={"value": "20 h"}, production_timeout={"value": "21 h"}),
     "layers[0].charge", "EQ.dope_inventory"),
    ("alarm for an unknown step", set_("alarms[0].steps", ["casting"]), "alarms[0].steps[0]", "alarm.steps"),
    ("alarm id of a standing alarm", set_("alarms[0].id", "BELT_STOPPED"), "alarms[0].id", "alarm.id_duplicate"),
]


@pytest.mark.parametrize(("change", "field", "rule"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_recipe_is_refused_with_field_and_rule(change: Callable[[Recipe], None], field: str, rule: str) -> None:
    errors = errors_of(mutated(change))
    found = {(e.field, e.rule) for e in errors}
    assert (field, rule) in found, format_errors(errors)
    error = next(e for e in errors if (e.field, e.rule) == (field, rule))
    assert error.severity == "error" and error.message


def test_the_good_recipe_is_good() -> None:
    line = casting_line()
    compile_for_line(mutated(lambda data: None), line, casting_control(line))


def test_yaml_syntax_error() -> None:
    errors = errors_of(GOOD.replace("header:\n", "header: [\n", 1))
    assert [e.rule for e in errors] == ["yaml.syntax"]
    assert "line" in errors[0].message


def test_key_given_twice() -> None:
    version = next(line for line in GOOD.splitlines() if line.startswith("  version: "))
    errors = errors_of(GOOD.replace(f"{version}\n", f"{version}\n  version: 99\n", 1))
    assert [e.rule for e in errors] == ["yaml.duplicate_key"]


def test_every_error_is_collected_not_just_the_first() -> None:
    def many(data: Recipe) -> None:
        set_("procedure[0].actions[1].set", "dope_vessel_9.agitator_speed_setpoint_rpm")(data)
        set_("procedure[6].actions[0].to", "2 m")(data)
        delete("procedure[4].transition.timeout")(data)
        set_("layers[0].polymer_wt_pct", "14 wt%")(data)
    rules = {e.rule for e in errors_of(mutated(many))}
    assert rules >= {"action.device", "unit.dimension", "transition.timeout", "S000.polymer_range"}


def test_messages_speak_the_process_engineers_language() -> None:
    errors = errors_of(mutated(set_("procedure[0].actions[2].setpoint", "40")))
    (error,) = [e for e in errors if e.rule == "unit.missing"]
    assert "'40' has no unit; expected a temperature like '40 degC'" in error.message
    assert "procedure[0].actions[2].setpoint" in format_errors(errors)


def test_outside_the_preferred_polysulfone_range_is_only_a_warning() -> None:
    line = casting_line()
    # a more viscous 11 % dope needs a wider gap for the same film (PHYS.knife_gap): 420 um
    data = yaml.safe_load(mutated(set_("layers[0].polymer_wt_pct", "11 wt%")))
    data["layers"][0]["gap"] = "420 um"
    _recipe, warnings = compile_text(yaml.safe_dump(data, sort_keys=False), line, casting_control(line))
    assert [(w.field, w.rule, w.severity) for w in warnings] == [
        ("layers[0].polymer_wt_pct", "S000.polymer_preferred", "warning")]
