"""The casting line (seeds 000 and 003): profiles, line definition, control configuration,
recipe blocks and rules, the dope-lifetime soft sensor, and its registration."""

from controller.lines.casting.kind import CastingLine

__all__ = ["CastingLine"]
