"""Quantities written as text in recipes ("40 degC", "2 m/min", "10 mil", "9.5 wt%").

Recipes always say their units; this module parses them with pint and converts them to
the unit a tag carries in its name, with errors a process engineer understands.

One ``pint.UnitRegistry`` per process, built lazily behind ``registry()`` (an
``lru_cache``); there is no other module state.

Notes on spelling:
- ``wt%``, ``wt %`` and ``%`` mean percent (by weight is what the seeds mean);
- ``mil`` is a thousandth of an inch (seed 000 casts "10 mils" wet); pint's own ``mil``
  is an angle, so it is rewritten to ``thou`` before parsing;
- ``AU`` is absorbance units, dimensionless; ``""`` is a plain number (bool tags).
  Absorbance, percentages and plain numbers are all dimensionless to pint, so
  ``to_unit`` also refuses to turn one into another ("0.6 AU" is not "60 percent").

Unit text is bounded before pint sees it: at most ``MAX_UNIT_CHARS`` characters, and a
digit only in an exponent of at most two digits (``m**2``, ``s^-1``) or as the ``1`` of a
reciprocal (``1/min``). pint evaluates a
unit expression with Python's big integers, so ``m*10**3200000`` costs seconds of CPU
and ``m*9**9**9`` never ends; no recipe unit needs a number other than a small power.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from tokenize import TokenError  # pint's tokenizer raises it on broken unit text

import pint
from pint.facets.plain import PlainUnit


class UnitError(ValueError):
    """A quantity that cannot be read or converted; the message says what was expected.

    ``kind``: "missing" (a bare number where a unit is needed), "dimension" (a unit of
    the wrong kind), "syntax" (not a number and a unit) or "unknown_unit".
    """

    def __init__(self, message: str, kind: str = "syntax") -> None:
        super().__init__(message)
        self.kind = kind


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry[float]:
    """The process's unit registry (built once)."""
    ureg: pint.UnitRegistry[float] = pint.UnitRegistry()
    ureg.define("absorbance_unit = [] = AU")
    return ureg


_NUMBER = re.compile(r"^\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(.*?)\s*$")
MAX_UNIT_CHARS = 40
_EXPONENT = re.compile(r"(?:\*\*|\^)\s*\(?\s*[-+]?\d{1,2}\b(?!\s*(?:\*\*|\^|\.\d))")
_PER = re.compile(r"^\s*\(?\s*1\s*/")  # "1/min": a reciprocal, the one number a unit may start with
_UNIT_WORDS = [
    (re.compile(r"\bwt\s*\.?\s*%"), "percent"),
    (re.compile(r"%"), "percent"),
    (re.compile(r"\bmils?\b"), "thou"),
]

# Names for the dimensions that occur on the lines, for messages.
_DIMENSION_NAMES: dict[str, str] = {
    "[temperature]": "temperature",
    "[length] / [time]": "speed",
    "[length]": "length",
    "[time]": "time",
    "[mass]": "mass",
    "1 / [time]": "rotational speed",
    "[length] ** 3 / [time]": "volume flow",
    "[length] ** 3": "volume",
    "[mass] / [length] / [time] ** 2": "pressure",
    "[length] / [time] ** 2": "speed change rate",
    "1 / [time] ** 2": "rotational speed change rate",
    "[length] ** 3 / [time] ** 2": "flow change rate",
    "[temperature] / [time]": "temperature change rate",
}


def normalise_unit(unit: str) -> str:
    """The unit text as pint reads it (wt% -> percent, mil -> thou)."""
    text = unit.strip()
    for pattern, replacement in _UNIT_WORDS:
        text = pattern.sub(replacement, text)
    return text


def _bounded(unit: str, text: str, what: str) -> None:
    """Refuse unit text pint would spend unbounded time on (see the module notes)."""
    if len(unit) > MAX_UNIT_CHARS:
        raise UnitError(f"{_prefix(what)}'{text[:60]}': a unit is at most {MAX_UNIT_CHARS} characters")
    if any(ch.isdigit() for ch in _EXPONENT.sub("", _PER.sub("", unit))):
        raise UnitError(f"{_prefix(what)}'{text[:60]}': a unit holds no numbers other than powers up to 99 "
                        "(write 'm**2', not 'm*10**3')")


def _parse_unit(unit: str, text: str, what: str) -> pint.Unit:
    _bounded(unit, text, what)
    try:
        return registry().parse_units(normalise_unit(unit)) if unit.strip() else registry().dimensionless
    except (pint.errors.UndefinedUnitError, pint.errors.DefinitionSyntaxError) as exc:
        raise UnitError(f"{_prefix(what)}'{text}': unknown unit {unit.strip()!r}", "unknown_unit") from exc
    except (AssertionError, ValueError, TypeError, AttributeError, SyntaxError, TokenError) as exc:
        raise UnitError(f"{_prefix(what)}'{text}': cannot read the unit {unit.strip()!r}") from exc


def _prefix(what: str) -> str:
    return f"{what}: " if what else ""


def split_quantity(text: str, *, what: str = "") -> tuple[float, str]:
    """``"40 degC"`` -> ``(40.0, "degC")``; ``"40"`` -> ``(40.0, "")``."""
    match = _NUMBER.match(text)
    if match is None:
        raise UnitError(f"{_prefix(what)}'{text}' is not a quantity; expected a number and a unit like '40 degC'")
    number = float(match.group(1))
    if not math.isfinite(number):
        raise UnitError(f"{_prefix(what)}'{text}' is not a finite number")
    return number, match.group(2)


def looks_like_quantity(text: str) -> bool:
    """True when ``text`` starts with a number (as opposed to a parameter name)."""
    return _NUMBER.match(text) is not None


def parse_quantity(text: str | float | int, *, what: str = "") -> pint.Quantity[float]:
    """Parse ``"40 degC"`` (number first, then unit). A bare number is dimensionless."""
    if isinstance(text, bool):
        raise UnitError(f"{_prefix(what)}{text!r} is a yes/no value, not a quantity")
    if isinstance(text, (int, float)):
        return registry().Quantity(float(text), registry().dimensionless)
    number, unit = split_quantity(text, what=what)
    return registry().Quantity(number, _parse_unit(unit, text, what))


def dimension_name(unit: str | pint.Unit | PlainUnit) -> str:
    """A readable name of the unit's dimension: 'temperature', 'speed', 'fraction', ..."""
    parsed = _parse_unit(unit, unit, "") if isinstance(unit, str) else unit
    kind = _dimensionless_kind(parsed)
    if kind is not None:
        return kind
    dims = str(registry().get_dimensionality(parsed))
    return _DIMENSION_NAMES.get(dims, f"quantity of dimension {dims}")


def _dimensionless_kind(unit: pint.Unit | PlainUnit) -> str | None:
    """For dimensionless units: 'absorbance', 'fraction' (percent) or 'number'; else None."""
    if registry().get_dimensionality(unit):
        return None
    text = str(unit)
    if "absorbance_unit" in text:
        return "absorbance"
    if "percent" in text or "ppm" in text:
        return "fraction"
    if "radian" in text or "degree" in text or "revolution" in text:
        return "angle"
    return "number"


def _a(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"


def _display_unit(unit: str) -> str:
    return unit if unit else "a plain number"


def to_unit(text: str | float | int, unit: str, *, what: str = "") -> float:
    """The magnitude of ``text`` in ``unit``.

    A bare number is accepted only for plain numbers and absorbance (dimensionless
    targets without a physical unit) and for zero (except temperatures); everywhere
    else the unit is required.
    """
    target = _parse_unit(unit, unit, what)
    target_kind = dimension_name(target)
    shown = text if isinstance(text, str) else repr(text)
    quantity = parse_quantity(text, what=what)
    has_unit = not (isinstance(text, (int, float)) or split_quantity(str(text))[1] == "")
    if not has_unit:
        if target_kind in ("number", "absorbance") or (quantity.magnitude == 0 and target_kind != "temperature"):
            # a plain number, or zero, which is zero in every unit but an offset temperature
            return float(quantity.magnitude)
        example = f"'{_example_number(unit)} {unit}'"
        raise UnitError(f"{_prefix(what)}'{shown}' has no unit; expected {_a(target_kind)} like {example}", "missing")
    source_kind = dimension_name(quantity.units)
    if source_kind != target_kind and not {source_kind, target_kind} <= {"number", "absorbance"}:
        raise UnitError(
            f"{_prefix(what)}'{shown}' is {_a(source_kind)}, expected {_a(target_kind)} like {_display_unit(unit)}", "dimension"
        )
    try:
        return float(quantity.to(target).magnitude)
    except pint.errors.DimensionalityError as exc:
        raise UnitError(
            f"{_prefix(what)}'{shown}' is {_a(source_kind)}, expected {_a(target_kind)} like {_display_unit(unit)}", "dimension"
        ) from exc
    except pint.errors.OffsetUnitCalculusError as exc:
        raise UnitError(f"{_prefix(what)}'{shown}': cannot convert an offset temperature to {unit}", "dimension") from exc


def to_seconds(text: str | float | int, *, what: str = "") -> float:
    """A duration in seconds: ``"90 min"`` -> 5400.0."""
    return to_unit(text, "s", what=what)


def convert(value: float, from_unit: str, to: str, *, what: str = "") -> float:
    """Convert a number between two units of the same kind (errors as ``to_unit``)."""
    source = _parse_unit(from_unit, from_unit, what)
    target = _parse_unit(to, to, what)
    source_kind, target_kind = dimension_name(source), dimension_name(target)
    if source_kind != target_kind and not {source_kind, target_kind} <= {"number", "absorbance"}:
        raise UnitError(
            f"{_prefix(what)}{value:g} {from_unit} is {_a(source_kind)}, expected {_a(target_kind)} like "
            f"{_display_unit(to)}", "dimension"
        )
    try:
        return float(registry().Quantity(value, source).to(target).magnitude)
    except (pint.errors.DimensionalityError, pint.errors.OffsetUnitCalculusError) as exc:
        raise UnitError(f"{_prefix(what)}cannot convert {value:g} {from_unit} to {to}", "dimension") from exc


def rate_unit(unit: str) -> str:
    """The unit of a rate of change of a quantity in ``unit``, per second."""
    if not unit:
        return "1/s"
    if unit == "degC":
        return "delta_degC/s"
    return f"({unit})/s"


# Canonical unit per kind: the units the tag names use, so that a parameter's value can
# be compared with a tag in a condition without conversion.
_CANONICAL: dict[str, str] = {
    "temperature": "degC",
    "speed": "m/min",
    "length": "um",
    "time": "s",
    "mass": "kg",
    "rotational speed": "rpm",
    "volume flow": "mL/min",
    "volume": "mL",
    "pressure": "bar",
    "fraction": "percent",
    "absorbance": "AU",
    "number": "",
}


def canonical(text: str | float | int, *, what: str = "") -> tuple[float, str]:
    """``text`` in the line's canonical unit for its kind: ``"10 mil"`` -> ``(254.0, "um")``.

    Kinds without a canonical unit keep the unit they were written in.
    """
    quantity = parse_quantity(text, what=what)
    kind = dimension_name(quantity.units)
    unit = _CANONICAL.get(kind)
    if unit is None:
        written = split_quantity(text)[1] if isinstance(text, str) else ""
        return float(quantity.magnitude), normalise_unit(written)
    return to_unit(text, unit, what=what), unit


def _example_number(unit: str) -> str:
    return {"degC": "40", "m/min": "2", "um": "254", "s": "90", "rpm": "50", "percent": "20",
            "mL/min": "150", "L/min": "2", "kg": "100", "bar": "10", "mL": "500"}.get(unit, "1")
