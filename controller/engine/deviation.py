"""Production deviations: the spans of a run's production during which an interlock forced
outputs to their safe values.

A product made while, say, the dope pump was forced to 0 rpm is not the product the recipe
describes, whatever the run's final state. A deviation opens in the first scan of a
production step in which a latched interlock forces an output, gathers every interlock and
output forced while it lasts, and closes in the first scan the run executes again with no
output forced (the time held after the trip, until the operator acknowledged and unheld,
counts: nothing was produced to the recipe meanwhile), or when the run ends. The batch
record keeps each one with its seconds and its alarms; the run summary and the API show
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ProductionDeviation:
    """One span of production with outputs forced safe (run seconds)."""

    started_t_s: float
    ended_t_s: float
    alarm_ids: tuple[str, ...]  # the interlocks that forced outputs, in the order they did
    outputs: tuple[str, ...]  # the outputs forced (device.tag), sorted

    @property
    def seconds(self) -> float:
        return self.ended_t_s - self.started_t_s


@dataclass
class _Open:
    started_t_s: float
    alarm_ids: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    outputs: set[str] = field(default_factory=set)

    def add(self, forced: Mapping[str, Set[str]]) -> None:
        for alarm_id, outputs in forced.items():
            self.alarm_ids.setdefault(alarm_id, None)
            self.outputs.update(outputs)

    def close(self, ended_t_s: float) -> ProductionDeviation:
        return ProductionDeviation(self.started_t_s, ended_t_s, tuple(self.alarm_ids), tuple(sorted(self.outputs)))


class DeviationTracker:
    """Opens and closes a run's production deviations, one scan at a time."""

    def __init__(self) -> None:
        self._open: _Open | None = None

    @property
    def open(self) -> bool:
        return self._open is not None

    def update(self, now_s: float, forced: Mapping[str, Set[str]], *, producing: bool,
               executing: bool) -> ProductionDeviation | None:
        """Account one scan. ``forced``: the outputs each latched interlock forces now;
        ``producing``: the run is in a production step; ``executing``: it is in Execute.
        Returns the deviation that ended in this scan, if one did."""
        if self._open is None:
            if forced and producing:
                self._open = _Open(now_s)
                self._open.add(forced)
            return None
        self._open.add(forced)
        if not forced and executing:
            return self.close(now_s)
        return None

    def close(self, now_s: float) -> ProductionDeviation | None:
        """End the open deviation at ``now_s`` (the run ends); None when none is open."""
        opened, self._open = self._open, None
        return opened.close(now_s) if opened is not None else None
