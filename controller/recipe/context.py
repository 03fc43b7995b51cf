"""What one compile shares with the line kind's block compiler: the parameters resolved so
far, the error list, and value resolution (a quantity, or a parameter name) in a unit."""

from __future__ import annotations

import re

from controller.recipe.errors import RecipeError
from controller.recipe.model import Parameter
from controller.recipe.schema import Value
from controller.recipe.units import UnitError, convert, to_unit
from drivers.profiles import DataType, Tag

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_UNIT_RULES = {"missing": "unit.missing", "dimension": "unit.dimension"}


def unit_error(field: str, exc: UnitError) -> RecipeError:
    return RecipeError(field, _UNIT_RULES.get(exc.kind, "unit.invalid"), str(exc))


class CompileContext:
    """Local to one compile: the parameters (formula, then derived ones a line kind adds)
    and every finding, errors and warnings alike."""

    def __init__(self, parameters: dict[str, Parameter], out: list[RecipeError]) -> None:
        self.parameters = parameters
        self.out = out
        # Names whose definition already failed (a bad formula entry, a layer that did
        # not resolve): references to them are not reported again.
        self.failed: set[str] = set()

    def condition_parameters(self) -> dict[str, float]:
        values = dict.fromkeys(self.failed, 0.0)
        values.update({n: p.value for n, p in self.parameters.items()})
        return values

    def error(self, field: str, rule: str, message: str) -> None:
        self.out.append(RecipeError(field, rule, message))

    def derive(self, name: str, value: float, unit: str) -> None:
        """Add a parameter the line kind derives (e.g. a pump speed from a mass balance)."""
        self.parameters[name] = Parameter(name=name, value=value, unit=unit)

    def value(self, raw: Value, unit: str, field: str, what: str) -> float | None:
        """A quantity or a parameter name, converted to ``unit``."""
        if isinstance(raw, str) and NAME.match(raw.strip()):
            name = raw.strip()
            parameter = self.parameters.get(name)
            if parameter is None and name in self.failed:
                return None
            if parameter is None:
                self.error(field, "param.unknown", f"{what}: unknown parameter {name!r} "
                           f"(formula and derived parameters: {', '.join(sorted(self.parameters)) or 'none'})")
                return None
            try:
                return convert(parameter.value, parameter.unit, unit, what=f"{what} (parameter {name})")
            except UnitError as exc:
                self.out.append(unit_error(field, exc))
                return None
        try:
            return to_unit(raw, unit, what=what)
        except UnitError as exc:
            self.out.append(unit_error(field, exc))
            return None

    def within(self, tag: Tag, value: float, address: str, field: str, what: str = "value") -> bool:
        """True when ``value`` fits the tag's limits (and its on/off values); else an error."""
        if not tag.low <= value <= tag.high:
            self.error(field, "action.limits", f"{address}: {what} {value:g} {tag.unit} is outside the tag's limits "
                       f"{tag.low:g}..{tag.high:g} {tag.unit}")
            return False
        if tag.data_type is DataType.BOOL and value not in (0.0, 1.0):
            self.error(field, "action.limits", f"{address} is on/off: 0 or 1, not {value:g}")
            return False
        return True
