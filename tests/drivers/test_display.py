"""How an operator reads a tag, checked without a line: display units, the resolution values are
rounded to, and labels without the unit their name ends with."""

from __future__ import annotations

from controller.lines import kinds
from drivers import display
from drivers.profiles import DataType, Direction, Tag


def tag(unit: str, data_type: DataType = DataType.FLOAT32) -> Tag:
    high = 1.0 if data_type is DataType.BOOL else 1000.0
    return Tag("x", unit, Direction.MEASURED, 0.0, high, "", "X", data_type=data_type)


def test_values_show_in_display_units_rounded_to_the_resolution_of_their_unit() -> None:
    assert (display.format_value(183.04999, tag("degC")), display.display_unit("degC")) == ("183.0", "°C")
    assert (display.format_value(152.36, tag("bar")), display.display_unit("bar")) == ("152.4", "bar")
    assert (display.format_value(1.2345, tag("m/min")), display.display_unit("m/min")) == ("1.23", "m/min")
    assert (display.format_value(59.96, tag("rpm")), display.display_unit("rpm")) == ("60.0", "rpm")
    assert (display.format_value(12.345, tag("percent")), display.display_unit("percent")) == ("12.3", "%")
    assert display.format_value(-0.001, tag("degC")) == "0.0"  # never "-0.0"
    assert display.format_value(None, tag("bar")) == "—"
    assert display.format_value(1.0, tag("", DataType.BOOL)) == "on"
    assert display.format_value(2.5e6, tag("1/cm^3")) == "2.50e+06"


def test_every_unit_of_the_built_in_lines_has_a_display_resolution() -> None:
    # the kinds shipped in controller/lines (a test's own toy kind may be registered too)
    built_in = [kind for kind in kinds() if type(kind).__module__.startswith("controller.lines.")]
    assert len(built_in) >= 2
    units = {t.unit for kind in built_in for d in kind.definition().devices for t in d.profile.tags
             if t.data_type is DataType.FLOAT32}
    units |= {d.tag.unit for kind in built_in for d in kind.definition().derived if d.tag.data_type is DataType.FLOAT32}
    assert units - set(display.DISPLAY_UNITS) - {""} == set()


def test_a_label_drops_the_unit_its_name_ends_with_and_keeps_every_other_word() -> None:
    assert display.label("layer_1_pore_diameter_nm", "nm") == "Layer 1 pore diameter"  # not "... nm (nm)"
    assert display.label("single_phase_min_bar", "bar") == "Single phase min"  # "min" is minimum here
    assert display.label("layer_1_water_permeability_cm_min_psi", "cm/min/psi") == "Layer 1 water permeability"
    assert display.label("foam_cell_density_per_cm3", "1/cm^3") == "Foam cell density"
    assert display.label("zone_1_temperature_c", "degC") == "Zone 1 temperature"
    assert display.label("binodal_depth", "") == "Binodal depth"
    for kind in kinds():  # no label of the built-in lines ends with a word of its unit
        definition = kind.definition()
        tags = [t for d in definition.devices for t in d.profile.tags] + [d.tag for d in definition.derived]
        for t in tags:
            suffix = display.unit_suffix(t.unit)
            words = display.label(t.name, t.unit).lower().split()
            assert not suffix or words[-len(suffix.split("_")):] != suffix.split("_"), (t.name, t.unit)
