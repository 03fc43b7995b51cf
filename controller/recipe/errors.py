"""Recipe validation findings."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class RecipeError:
    """One finding: ``field`` is a dotted path into the YAML (list indices 0-based, e.g.
    ``procedure[3].actions[1].value``), ``rule`` the id of the rule that found it.
    Warnings (``severity="warning"``) do not stop a recipe from compiling."""

    field: str
    rule: str
    message: str
    severity: Severity = "error"


class RecipeInvalid(ValueError):
    """The recipe has errors; ``errors`` lists all of them, ``warnings`` the warnings."""

    def __init__(self, errors: Sequence[RecipeError], warnings: Sequence[RecipeError] = ()) -> None:
        self.errors = list(errors)
        self.warnings = list(warnings)
        super().__init__(f"recipe invalid ({len(self.errors)} error(s)):\n{format_errors(self.errors)}")


def format_errors(errors: Sequence[RecipeError]) -> str:
    """One line per finding: severity, field, rule and message."""
    lines = []
    for e in errors:
        where = e.field or "(recipe)"
        lines.append(f"{e.severity.upper():7} {where}: {e.message} [{e.rule}]")
    return "\n".join(lines)
