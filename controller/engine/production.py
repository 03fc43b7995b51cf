"""What a run produced: time-weighted means of a line kind's key tags over the scans spent
executing a production step, for the run summary (and, later, the batch report)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from controller.engine.states import UnitState
from controller.recipe.model import Step


@dataclass(frozen=True, slots=True)
class ProductQuantity:
    """How much product a run made, in words a line engineer uses (e.g. metres cast)."""

    label: str  # e.g. "Membrane cast"
    value: float
    unit: str  # e.g. "m"
    detail: str = ""  # e.g. "of polymer"


class ProductionTally:
    """Time-weighted means of ``tags`` over the scans spent executing a production step."""

    def __init__(self, tags: tuple[str, ...]) -> None:
        self.tags = tags
        self.duration_s = 0.0
        self._sums = dict.fromkeys(tags, 0.0)
        self._last_t_s: float | None = None

    def add(self, now_s: float, state: UnitState, step: Step | None, image: Mapping[str, float]) -> None:
        """Account one scan (call it after every scan)."""
        producing = state is UnitState.EXECUTE and step is not None and step.production
        if producing and self._last_t_s is not None:
            dt_s = now_s - self._last_t_s
            self.duration_s += dt_s
            for tag in self.tags:
                self._sums[tag] += image.get(tag, 0.0) * dt_s
        self._last_t_s = now_s if producing else None

    def means(self) -> dict[str, float]:
        if self.duration_s <= 0.0:
            return {}
        return {tag: total / self.duration_s for tag, total in self._sums.items()}
