"""How an operator reads a tag: its display unit, the resolution it is read to, the value
rounded to it, and its name as words. Pure functions of a tag's declaration, shared by the
screens, the API's ``/line`` and the batch report."""

from __future__ import annotations

import math

from drivers.profiles import DataType, Tag

# assumption: the resolution an operator reads each unit to (the profiles carry units and
# limits but no resolution yet; a unit's resolution is the same on every tag that has it).
# unit -> (display unit, decimals)
DISPLAY_UNITS: dict[str, tuple[str, int]] = {
    "degC": ("°C", 1),
    "bar": ("bar", 1),
    "m/min": ("m/min", 2),
    "rpm": ("rpm", 1),
    "percent": ("%", 1),
    "L/min": ("L/min", 2),
    "mL/min": ("mL/min", 1),
    "g/min": ("g/min", 2),
    "kg/h": ("kg/h", 2),
    "kg": ("kg", 2),
    "mL": ("mL", 0),
    "m": ("m", 1),
    "mm": ("mm", 2),
    "um": ("µm", 1),
    "nm": ("nm", 1),
    "cm/min/psi": ("cm/min/psi", 3),  # seed 000 reports 0.01-30 cm/min/psi
    "psi": ("psi", 1),
    "AU": ("AU", 3),
    "GPa/s": ("GPa/s", 2),
    "kW": ("kW", 1),
    "g/m^2": ("g/m²", 1),
    "kWh/kg": ("kWh/kg", 3),
    "1/cm^3": ("1/cm³", -3),  # negative: significant digits in scientific notation
}
DEFAULT_DECIMALS = 3

def display_unit(unit: str) -> str:
    return DISPLAY_UNITS.get(unit, (unit, DEFAULT_DECIMALS))[0]


def shown_unit(tag: Tag) -> str:
    """The unit shown beside ``tag``'s value: none for a discrete tag (on/off)."""
    return "" if tag.data_type is DataType.BOOL else display_unit(tag.unit)


def decimals(unit: str) -> int:
    """The decimals ``unit`` is read to (negative: significant digits in scientific notation)."""
    return DISPLAY_UNITS.get(unit, (unit, DEFAULT_DECIMALS))[1]


def resolution(tag: Tag) -> float | None:
    """The smallest step an operator reads ``tag`` to, in its unit (1 for a discrete tag; None
    where it is read in scientific notation)."""
    if tag.data_type is DataType.BOOL:
        return 1.0
    places = decimals(tag.unit)
    return None if places < 0 else 10.0 ** -places


def format_value(value: float | None, tag: Tag) -> str:
    """``value`` as an operator reads it: on/off for a discrete tag, else rounded to the
    resolution of its unit ("—" when there is none)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if tag.data_type is DataType.BOOL:
        return "on" if value >= 0.5 else "off"
    places = decimals(tag.unit)
    if places < 0:
        return f"{value:.{-places - 1}e}"
    rounded = round(float(value), places)
    return f"{rounded + 0.0:.{places}f}"  # + 0.0: no "-0.0"


_UNIT_WORDS = {"degc": "c", "percent": "pct"}


def unit_suffix(unit: str) -> str:
    """How a tag's name spells its unit at its end (the naming rule: ``temperature_c``,
    ``throughput_kg_h``, ``water_load_g_m2``, ``foam_cell_density_per_cm3``)."""
    text = unit.strip().lower().replace("^", "").replace("1/", "per/")
    return "_".join(_UNIT_WORDS.get(word, word) for word in text.split("/") if word)


def label(name: str, unit: str = "") -> str:
    """A tag's or device's name as words, without the unit its name ends with (shown beside
    the value): ``single_phase_min_bar`` in bar is "Single phase min", ``pore_diameter_nm`` "Pore diameter"."""
    suffix = unit_suffix(unit)
    if suffix and name.lower().endswith("_" + suffix):
        name = name[: -len(suffix) - 1]
    return name.replace("_", " ").capitalize()
