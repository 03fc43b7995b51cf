"""The product against the recipe's specification: for each specified quantity, its
time-weighted mean, minimum, maximum and the seconds outside [low, high] over the scans the
run spent producing (Execute in a production step), counting only good values; and the
run's verdict.

A quantity is in spec when its production mean lies within its limits and at most
``max_out_of_spec_fraction`` of its production time was outside them (a transient or noise
is tolerated up to that share, which the recipe sets). With no good value in production it
is not evaluated, and a run that produced nothing claims no product: its verdict is
"no production", never "in spec".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from controller.recipe.model import Specification

VERDICT_IN_SPEC = "in spec"
VERDICT_OUT_OF_SPEC = "out of spec"
VERDICT_NO_PRODUCTION = "no production"
VERDICT_NOT_SPECIFIED = "not specified"


@dataclass(frozen=True, slots=True)
class SpecificationResult:
    address: str
    unit: str
    low: float | None
    high: float | None
    max_out_of_spec_fraction: float
    production_s: float  # production seconds with a good value
    out_of_spec_s: float
    mean: float | None
    minimum: float | None
    maximum: float | None

    @property
    def in_spec(self) -> bool | None:
        """None: not evaluated (no good value in production)."""
        if self.mean is None or self.production_s <= 0.0:
            return None
        mean_inside = (self.low is None or self.mean >= self.low) and (self.high is None or self.mean <= self.high)
        return mean_inside and self.out_of_spec_s <= self.max_out_of_spec_fraction * self.production_s

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"in_spec": self.in_spec}


class _Quantity:
    def __init__(self, spec: Specification) -> None:
        self.spec = spec
        self.seconds = 0.0
        self.out_s = 0.0
        self.weighted_sum = 0.0
        self.minimum: float | None = None
        self.maximum: float | None = None

    def add(self, value: float, dt_s: float) -> None:
        spec = self.spec
        self.seconds += dt_s
        self.weighted_sum += value * dt_s
        if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
            self.out_s += dt_s
        self.minimum = value if self.minimum is None else min(self.minimum, value)
        self.maximum = value if self.maximum is None else max(self.maximum, value)

    def result(self) -> SpecificationResult:
        spec = self.spec
        mean = self.weighted_sum / self.seconds if self.seconds > 0.0 else None
        return SpecificationResult(spec.address, spec.unit, spec.low, spec.high, spec.max_out_of_spec_fraction,
                                   self.seconds, self.out_s, mean, self.minimum, self.maximum)


class SpecificationCheck:
    """Accounts one run's production, scan by scan, against ``specification``."""

    def __init__(self, specification: tuple[Specification, ...]) -> None:
        self._quantities = [_Quantity(s) for s in specification]
        self._last_t_s: float | None = None
        self.production_s = 0.0

    def add(self, now_s: float, producing: bool, image: Mapping[str, float], good: Callable[[str], bool]) -> None:
        """Account the scan at ``now_s``: each good value holds for the time since the last
        producing scan."""
        if producing and self._last_t_s is not None:
            dt_s = now_s - self._last_t_s
            self.production_s += dt_s
            for quantity in self._quantities:
                address = quantity.spec.address
                value = image.get(address)
                if value is not None and good(address):
                    quantity.add(value, dt_s)
        self._last_t_s = now_s if producing else None

    def results(self) -> list[SpecificationResult]:
        return [q.result() for q in self._quantities]

    def verdict(self) -> str:
        return verdict(self.results(), self.production_s)

    def report(self) -> dict[str, Any]:
        """What the batch record keeps: the verdict, production seconds and each quantity."""
        results = self.results()
        return {"verdict": verdict(results, self.production_s), "production_s": self.production_s,
                "specification": [r.as_dict() for r in results]}


def verdict(results: list[SpecificationResult], production_s: float) -> str:
    if production_s <= 0.0:
        return VERDICT_NO_PRODUCTION
    if not results:
        return VERDICT_NOT_SPECIFIED
    if all(r.in_spec for r in results):
        return VERDICT_IN_SPEC
    return VERDICT_OUT_OF_SPEC  # a quantity out of spec or never measured in production
