"""The safe condition grammar: what it accepts, what it refuses, and how it evaluates."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.recipe.conditions import ConditionError, compile_condition

KNOWN = frozenset({"quench_bath.temperature_c", "dope_vessel_1.absorbance", "dope_pump_1.speed_rpm"})
PARAMS = {"cast_temperature": 40.0, "absorbance_target": 0.6}


def compile_(source: str, known=KNOWN, params=PARAMS):
    return compile_condition(source, known_addresses=known, parameters=params)


def test_comparison_with_a_parameter() -> None:
    c = compile_("quench_bath.temperature_c > cast_temperature - 0.5")
    assert c.addresses == {"quench_bath.temperature_c"}
    assert c.evaluate({"quench_bath.temperature_c": 39.6}) is True
    assert c.evaluate({"quench_bath.temperature_c": 39.5}) is False


def test_boolean_operators_and_functions() -> None:
    c = compile_(
        "not dope_vessel_1.absorbance > absorbance_target + 0.15 "
        "and (abs(quench_bath.temperature_c - cast_temperature) < 1 or dope_pump_1.speed_rpm == 0)"
    )
    assert c.addresses == KNOWN
    image = {"dope_vessel_1.absorbance": 0.6, "quench_bath.temperature_c": 40.5, "dope_pump_1.speed_rpm": 5.0}
    assert c.evaluate(image) is True
    assert c.evaluate({**image, "dope_vessel_1.absorbance": 0.8}) is False
    assert c.evaluate({**image, "quench_bath.temperature_c": 45.0}) is False
    assert c.evaluate({**image, "quench_bath.temperature_c": 45.0, "dope_pump_1.speed_rpm": 0.0}) is True


def test_chained_comparison() -> None:
    c = compile_("absorbance_target - 0.05 <= dope_vessel_1.absorbance <= absorbance_target + 0.15")
    assert [c.evaluate({"dope_vessel_1.absorbance": a}) for a in (0.5, 0.55, 0.7, 0.76)] == [False, True, True, False]


def test_min_max_and_unary_minus() -> None:
    c = compile_("max(dope_pump_1.speed_rpm, 3) - min(1, 2, -dope_pump_1.speed_rpm) > 10")
    # speed 8: max(8, 3) - min(1, 2, -8) = 8 + 8 = 16
    assert c.evaluate({"dope_pump_1.speed_rpm": 8.0}) is True
    assert c.evaluate({"dope_pump_1.speed_rpm": 2.0}) is False  # 3 - (-2) = 5


@pytest.mark.parametrize(("source", "value"), [("true", True), ("false", False), ("True", True), ("not false", True)])
def test_literals_for_time_only_transitions(source: str, value: bool) -> None:
    c = compile_(source)
    assert c.evaluate({}) is value
    assert c.addresses == frozenset()


def test_division_by_zero_is_false_not_a_crash() -> None:
    c = compile_("quench_bath.temperature_c / dope_pump_1.speed_rpm > 1")
    assert c.evaluate({"quench_bath.temperature_c": 40.0, "dope_pump_1.speed_rpm": 0.0}) is False
    assert c.evaluate({"quench_bath.temperature_c": 40.0, "dope_pump_1.speed_rpm": 2.0}) is True


@pytest.mark.parametrize(
    ("source", "kind", "fragment", "column"),
    [
        ("quench_bath.temperature_c >", "syntax", "syntax error", None),
        ("quench_bath.temperature_c[0] > 1", "forbidden", "subscripts", 1),
        ("(lambda: 1)() > 0", "forbidden", "calling", 1),
        ("quench_bath.__class__ > 1", "forbidden", "leading underscore", 1),
        ("__import__('os') > 1", "forbidden", "calling", 1),
        ("open(1) > 1", "forbidden", "only abs, min and max", 1),
        ("quench_bath.temperature_c ** 2 > 1", "forbidden", "'**'", 1),
        ("quench_bath.temperature_c > 'hot'", "forbidden", "strings", 29),
        ("quench_bath.temperature_c in (1, 2)", "forbidden", "'in'", 1),
        ("quench_bath.temperature_c > 1 if true else false", "forbidden", "if", 1),
        ("a.b.c > 1", "forbidden", "device.tag", 1),
        ("quench_bath.pressure_bar > 1", "unknown_tag", "unknown tag 'quench_bath.pressure_bar'", 1),
        ("quench_bath.temperature_c > setpoint", "unknown_parameter", "unknown parameter 'setpoint'", 29),
        ("quench_bath.temperature_c", "type", "must be true or false", 1),
        ("quench_bath.temperature_c > 1 and 5", "type", "expected a comparison", 35),
        ("(quench_bath.temperature_c > 1) + 1 > 0", "type", "cannot be used as a number", 2),
        ("", "syntax", "empty", 1),
    ],
)
def test_refused_constructs(source: str, kind: str, fragment: str, column: int | None) -> None:
    with pytest.raises(ConditionError) as info:
        compile_(source)
    problem = info.value.problems[0]
    assert problem.kind == kind
    assert fragment in problem.message
    if column is not None:
        assert problem.column == column


def test_every_problem_is_reported() -> None:
    with pytest.raises(ConditionError) as info:
        compile_("nope.tag > 1 and quench_bath.temperature_c > missing")
    assert [p.kind for p in info.value.problems] == ["unknown_tag", "unknown_parameter"]


def test_no_python_evaluation_happens() -> None:
    # A name that exists in Python's builtins is still only a (missing) parameter.
    with pytest.raises(ConditionError, match="unknown parameter 'len'"):
        compile_("len > 1")


# --- property: arithmetic matches Python's ------------------------------------------
NUMBERS = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)
ADDRESSES = sorted(KNOWN)


@st.composite
def expressions(draw, depth: int = 0):
    """(source, python_function_of_image) pairs built side by side."""
    if depth >= 3 or draw(st.booleans()):
        if draw(st.booleans()):
            address = draw(st.sampled_from(ADDRESSES))
            return address, lambda image, a=address: image[a]
        number = draw(NUMBERS)
        return repr(number), lambda image, n=number: n
    op = draw(st.sampled_from(["+", "-", "*", "neg", "abs", "max"]))
    left_src, left = draw(expressions(depth + 1))
    right_src, right = draw(expressions(depth + 1))
    if op == "neg":
        return f"-({left_src})", lambda image: -left(image)
    if op == "abs":
        return f"abs({left_src})", lambda image: abs(left(image))
    if op == "max":
        return f"max({left_src}, {right_src})", lambda image: max(left(image), right(image))
    fn = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}[op]
    return f"({left_src}) {op} ({right_src})", lambda image: fn(left(image), right(image))


@settings(max_examples=200, deadline=None)
@given(expressions(), expressions(), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
       st.fixed_dictionaries(dict.fromkeys(ADDRESSES, NUMBERS)))
def test_random_arithmetic_evaluates_like_python(left, right, op, image) -> None:
    (left_src, left_fn), (right_src, right_fn) = left, right
    condition = compile_(f"{left_src} {op} {right_src}")
    a, b = left_fn(image), right_fn(image)
    expected = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]
    assert condition.evaluate(image) is expected


@settings(max_examples=100, deadline=None)
@given(NUMBERS, NUMBERS.filter(lambda x: abs(x) > 1e-6), NUMBERS)
def test_division_evaluates_like_python(x: float, y: float, threshold: float) -> None:
    condition = compile_(f"quench_bath.temperature_c / dope_pump_1.speed_rpm > {threshold!r}")
    image = {"quench_bath.temperature_c": x, "dope_pump_1.speed_rpm": y}
    assert condition.evaluate(image) is (x / y > threshold)
    assert not math.isnan(x / y)


def test_fast_enough_for_the_scan() -> None:
    c = compile_("quench_bath.temperature_c > cast_temperature - 0.5 and dope_vessel_1.absorbance < 0.75")
    image = {"quench_bath.temperature_c": 40.0, "dope_vessel_1.absorbance": 0.6}
    for _ in range(28_800):
        c.evaluate(image)
