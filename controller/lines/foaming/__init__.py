"""The extrusion-foaming line (seed 001): profiles, line definition, control configuration,
recipe block and rules, the gas and foam soft sensors, and its registration."""

from controller.lines.foaming.kind import FoamingLine

__all__ = ["FoamingLine"]
