"""Quantities in recipes: parsing, conversion and the messages when they are wrong."""

import math

import pytest

from controller.recipe.units import UnitError, canonical, dimension_name, registry, to_seconds, to_unit


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("40 degC", "degC", 40.0),
        ("104 degF", "degC", 40.0),
        ("2 m/min", "m/min", 2.0),
        ("120 m/h", "m/min", 2.0),
        ("254 um", "um", 254.0),
        ("10 mil", "um", 254.0),  # a thousandth of an inch, not pint's angle
        ("0.254 mm", "um", 254.0),
        ("9.5 wt%", "percent", 9.5),
        ("9.5 wt %", "percent", 9.5),
        ("20 %", "percent", 20.0),
        ("2 L/min", "mL/min", 2000.0),
        ("60 rpm", "rpm", 60.0),
        ("0.600 AU", "AU", 0.6),
        ("0.600", "AU", 0.6),  # absorbance is dimensionless: a bare number is fine
        ("1", "", 1.0),  # bool tags
        ("0", "m/min", 0.0),  # zero needs no unit
        ("1.5e2 kg", "kg", 150.0),
        ("-5 degC", "degC", -5.0),
    ],
)
def test_converts_to_the_tag_unit(text: str, unit: str, expected: float) -> None:
    assert to_unit(text, unit) == pytest.approx(expected)


def test_durations_in_seconds() -> None:
    assert to_seconds("90 min") == 5400.0
    assert to_seconds("8 h") == 28800.0
    assert to_seconds("30 s") == 30.0


def test_ramp_rates() -> None:
    assert to_unit("0.5 m/min/min", "(m/min)/s") == pytest.approx(0.5 / 60)
    assert to_unit("10 rpm/min", "(rpm)/s") == pytest.approx(10 / 60)


def test_missing_unit_says_what_was_expected() -> None:
    with pytest.raises(UnitError) as info:
        to_unit("40", "degC", what="quench temperature")
    assert str(info.value) == "quench temperature: '40' has no unit; expected a temperature like '40 degC'"
    assert info.value.kind == "missing"


def test_zero_temperature_still_needs_a_unit() -> None:
    with pytest.raises(UnitError, match="no unit"):
        to_unit("0", "degC")


def test_wrong_dimension_names_both_kinds() -> None:
    with pytest.raises(UnitError) as info:
        to_unit("2 m", "m/min")
    assert str(info.value) == "'2 m' is a length, expected a speed like m/min"
    assert info.value.kind == "dimension"


def test_absorbance_is_not_a_percentage() -> None:
    with pytest.raises(UnitError, match="absorbance, expected a fraction"):
        to_unit("0.6 AU", "percent")


@pytest.mark.parametrize("text", ["abc", "40 furlongs_per_fortnight_x", "1 m +", ""])
def test_unreadable_quantities(text: str) -> None:
    with pytest.raises(UnitError):
        to_unit(text, "m")


def test_canonical_units_follow_the_tag_names() -> None:
    assert canonical("10 mil") == (pytest.approx(254.0), "um")
    assert canonical("313.15 K") == (pytest.approx(40.0), "degC")
    assert canonical("2 h") == (7200.0, "s")
    assert canonical("19 L") == (pytest.approx(19000.0), "mL")
    assert canonical("0.600 AU") == (0.6, "AU")


def test_dimension_names() -> None:
    assert dimension_name("m/min") == "speed"
    assert dimension_name("percent") == "fraction"
    assert dimension_name("AU") == "absorbance"
    assert dimension_name("") == "number"


def test_one_registry_per_process() -> None:
    assert registry() is registry()
    assert math.isclose(registry().Quantity(1, "inch").to("mm").magnitude, 25.4)


@pytest.mark.parametrize("text", ["1 m*10**3200000", "1 m*9**9**9", "1 m**2**9", "1 m2", "1 m**100", "1 m**2.5",
                                  "1 " + "m*" * 30 + "m"])
def test_unit_text_pint_would_compute_for_ever_is_refused_before_pint_sees_it(text: str) -> None:
    # pint evaluates unit expressions with big integers: 9**9**9 never ends, 10**3200000 takes seconds
    with pytest.raises(UnitError, match=r"a unit (holds no numbers other than powers up to 99|is at most 40 characters)"):
        to_unit(text, "m")


@pytest.mark.parametrize(("text", "unit", "expected"), [("1 m**2", "cm**2", 1e4), ("3 s^-1", "1/min", 180.0),
                                                        ("2 kg/m**3", "g/L", 2.0), ("1 m**(2)", "m**2", 1.0)])
def test_small_powers_stay_readable(text: str, unit: str, expected: float) -> None:
    assert to_unit(text, unit) == pytest.approx(expected)
