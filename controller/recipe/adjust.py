"""Control-recipe adjustments (ISA-88): a run's formula values changed from its master
recipe's, within the range the master recipe declares for them.

A released (signed) master recipe version fixes its formula; a parameter that declares a
``low`` and/or ``high`` limit may be adjusted for one run, by an engineer, to a value
within them. A parameter without limits is fixed: its value is part of what was released.
The adjusted recipe is compiled like any other (the limits, the kind's process rules and
the procedure's references are all checked again), and the run's batch record keeps each
adjusted value beside the master value, so the record and the report never claim the
released values for a run that used others.

Pure functions: the recipe text in, the adjusted text and what was adjusted out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import yaml

from controller.recipe.compiler import load_recipe_mapping
from controller.recipe.units import UnitError, canonical

MAX_ADJUSTMENTS = 64  # a formula has a few dozen parameters at most; more is not a request to trust


class AdjustmentRefused(ValueError):
    """An adjustment the master recipe does not allow (one line, for the caller to answer)."""


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Parameter ``name`` run at ``value`` instead of the master recipe's ``master_value``,
    both in ``unit`` (the parameter's canonical unit, as the compiled recipe states it)."""

    name: str
    value: float
    unit: str
    master_value: float

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def adjusted_text(text: str, values: Mapping[str, float]) -> tuple[str, tuple[Adjustment, ...]]:
    """The recipe ``text`` with each formula parameter in ``values`` set to its new value
    (in the parameter's canonical unit), and the adjustments made; AdjustmentRefused for
    a parameter the formula lacks, one it fixes (no limits), a value that is not a finite
    number, or a text that is not a recipe. Values equal to the master's are no adjustment.
    The limits themselves are checked when the text is compiled."""
    if len(values) > MAX_ADJUSTMENTS:
        raise AdjustmentRefused(f"{len(values)} adjustments: at most {MAX_ADJUSTMENTS}")
    data, errors = load_recipe_mapping(text)
    formula = data.get("formula") if data is not None else None
    if data is None or not isinstance(formula, dict):
        raise AdjustmentRefused(f"the master recipe cannot be adjusted: {errors[0].message if errors else 'no formula'}")
    made: list[Adjustment] = []
    for name, value in values.items():
        entry = formula.get(name)
        if not isinstance(entry, dict) or "value" not in entry:
            raise AdjustmentRefused(f"{name}: the formula has no such parameter")
        if entry.get("low") is None and entry.get("high") is None:
            raise AdjustmentRefused(f"{name}: fixed by the master recipe (it declares no low or high limit)")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise AdjustmentRefused(f"{name}: {value!r} is not a finite number")
        try:
            master, unit = canonical(entry["value"], what=f"parameter {name}")
        except UnitError as exc:
            raise AdjustmentRefused(f"{name}: {exc}") from None
        if float(value) == master:
            continue
        entry["value"] = f"{float(value)!r} {unit}".strip() if unit else float(value)
        made.append(Adjustment(name, float(value), unit, master))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True), tuple(made)
