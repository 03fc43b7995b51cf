"""Ratio station (ISA-5.1 "FFC", flow-fraction controller): a controlled flow held in a set
ratio to a measured ("wild") flow, optionally trimmed by a master loop (cascade).

The controlled flow's setpoint is ``ratio × wild × scale``, clamped to the output tag's
limits and slewed at most ``rate_per_s`` per second, so the station ramps a flow in when
it is switched on and ramps it back in after an interlock released it. The output is
the setpoint of the controlled flow's own (inner) controller, here a metering pump's mass
flow: ratio control by setpoint, as in Shinskey, *Process Control Systems* (4th ed.,
1996), ch. 7, "Ratio control".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class RatioStation:
    """``scale`` converts wild-flow units × ratio units into output units (e.g. kg/h × % →
    g/min is 1000 / 60 / 100)."""

    scale: float
    output_low: float
    output_high: float
    output: float = 0.0
    ratio: float = 0.0
    rate_per_s: float | None = None  # None: follow the wild flow without a slew limit
    auto: bool = False

    def switch_on(self, ratio: float, rate_per_s: float | None) -> None:
        self.ratio = ratio
        self.rate_per_s = rate_per_s
        self.auto = True

    def switch_off(self) -> None:
        self.auto = False

    def track(self, output: float) -> None:
        """Follow an output forced from outside (interlock, hold) so that the station
        ramps in again from there instead of jumping."""
        self.output = output

    def target(self, wild: float, trim_pct: float = 0.0) -> float:
        """The output the ratio asks for at wild flow ``wild``, clamped to the limits;
        ``trim_pct`` (a cascade master's output) scales the ratio by 1 + trim/100."""
        ratio = self.ratio * (1.0 + trim_pct / 100.0)
        return min(max(ratio * max(wild, 0.0) * self.scale, self.output_low), self.output_high)

    def update(self, wild: float, dt_s: float, trim_pct: float = 0.0) -> float:
        target = self.target(wild, trim_pct)
        if self.rate_per_s is not None:
            step = self.rate_per_s * dt_s
            target = min(max(target, self.output - step), self.output + step)
        self.output = target
        return target
