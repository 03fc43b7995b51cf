"""Material data looked up by name: melts and their gas solubilities, blowing agents.

Pure data (no I/O, no simulation): the plant simulator uses it to behave, the controller's
soft sensors and recipe rules to estimate and check, so both read the same numbers. The
property records themselves, with their sources, live in :mod:`rheology` (melts) and
:mod:`gas` (Henry's-law correlations, diffusivities); dope materials in :mod:`dope`.
"""

from __future__ import annotations

from simulator.physics import gas, rheology

MELTS: dict[str, rheology.PolymerProperties] = {
    "psu": rheology.POLYSULFONE, "polysulfone": rheology.POLYSULFONE,
    "pes": rheology.POLYETHERSULFONE, "polyethersulfone": rheology.POLYETHERSULFONE,
}
# (CO2, water) Henry's-law correlations per melt, by the property record's short name.
HENRY: dict[str, tuple[gas.HenryCorrelation, gas.HenryCorrelation]] = {
    "PSU": (gas.CO2_IN_POLYSULFONE, gas.WATER_IN_POLYSULFONE),
    "PES": (gas.CO2_IN_POLYETHERSULFONE, gas.WATER_IN_POLYETHERSULFONE),
}
# Diffusivity of each blowing agent in the melt, by normalised name (letters and digits).
BLOWING_AGENT_DIFFUSIVITY: dict[str, gas.DiffusivityRecord] = {
    "co2": gas.CO2_DIFFUSIVITY_MELT, "carbondioxide": gas.CO2_DIFFUSIVITY_MELT,
    "water": gas.WATER_DIFFUSIVITY_MELT, "h2o": gas.WATER_DIFFUSIVITY_MELT,
}


def has_melt_data(name: str) -> bool:
    return name.strip().lower() in MELTS


def melt_properties(name: str) -> rheology.PolymerProperties:
    """The melt record of a polymer (PSU, PES); ValueError naming the known ones."""
    try:
        return MELTS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"no melt data for polymer {name!r} (known: {', '.join(sorted(MELTS))})") from None


def henry_correlations(name: str) -> tuple[gas.HenryCorrelation, gas.HenryCorrelation]:
    """(CO2, water) solubility correlations in the melt of polymer ``name``."""
    return HENRY[melt_properties(name).name]


def blowing_agent_diffusivity(name: str) -> gas.DiffusivityRecord | None:
    return BLOWING_AGENT_DIFFUSIVITY.get("".join(ch for ch in name.lower() if ch.isalnum()))
