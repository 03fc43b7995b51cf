"""Engineering units for SCADA: the profiles' unit strings as OPC UA ``EUInformation`` with
UN/CEFACT common codes (UNECE Recommendation 20), so a SCADA maps a unit by its code
rather than by its text.

``UnitId`` is the code's characters packed left to right into an Int32 (OPC 10000-8,
5.6.3: ``"CEL"`` -> 0x43454C); ``NamespaceUri`` is the CEFACT namespace. A unit with no
common code (absorbance units) keeps ``UnitId = -1`` and its text.
"""

from __future__ import annotations

from asyncua import ua

CEFACT_NAMESPACE_URI = "http://www.opcfoundation.org/UA/units/un/cefact"

# profile unit -> (UN/CEFACT common code, display name, description)
_CODES: dict[str, tuple[str, str, str]] = {
    "": ("C62", "", "one (dimensionless)"),
    "degC": ("CEL", "°C", "degree Celsius"),
    "bar": ("BAR", "bar", "bar [unit of pressure]"),
    "m": ("MTR", "m", "metre"),
    "s": ("SEC", "s", "second [unit of time]"),
    "mm": ("MMT", "mm", "millimetre"),
    "um": ("4H", "µm", "micrometre (micron)"),
    "m/min": ("2X", "m/min", "metre per minute"),
    "rpm": ("RPM", "r/min", "revolutions per minute"),
    "percent": ("P1", "%", "percent"),
    "kg": ("KGM", "kg", "kilogram"),
    "kW": ("KWT", "kW", "kilowatt"),
    "kg/h": ("E93", "kg/h", "kilogram per hour"),
    "g/min": ("F28", "g/min", "gram per minute"),  # assumption: Rec 20 rev. 17 code F28
    "L/min": ("L2", "l/min", "litre per minute"),
    "mL": ("MLT", "ml", "millilitre"),
    "mL/min": ("41", "ml/min", "millilitre per minute"),
    "1/cm^3": ("H50", "cm⁻³", "reciprocal cubic centimetre"),  # assumption: Rec 20 rev. 17 code H50
}


def unit_id(code: str) -> int:
    """The OPC UA UnitId of a UN/CEFACT common code (its characters packed into an Int32)."""
    value = 0
    for character in code.strip():
        value = (value << 8) | ord(character)
    return value


def eu_information(unit: str) -> ua.EUInformation:
    """The EUInformation of a profile unit; UnitId -1 (text only) for a unit without a code."""
    known = _CODES.get(unit)
    if known is None:
        return ua.EUInformation(NamespaceUri=CEFACT_NAMESPACE_URI, UnitId=-1, DisplayName=ua.LocalizedText(unit),
                                Description=ua.LocalizedText(unit))
    code, display, description = known
    return ua.EUInformation(NamespaceUri=CEFACT_NAMESPACE_URI, UnitId=unit_id(code),
                            DisplayName=ua.LocalizedText(display), Description=ua.LocalizedText(description))


def common_code(unit: str) -> str | None:
    known = _CODES.get(unit)
    return known[0] if known is not None else None
