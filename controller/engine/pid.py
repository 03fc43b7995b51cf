"""PID controller in velocity (incremental) form.

Why the velocity form: the output is accumulated from increments, so
- anti-windup is the output clamp itself: at a limit the accumulated output stops
  moving and there is no integral term left to wind up;
- manual-to-auto transfer is bumpless by construction: the loop starts from whatever
  output it finds (Åström & Hägglund, Advanced PID Control, 2006, sections 3.5 and 13.6).

Derivative acts on the measurement, not the error, so setpoint steps do not kick the
output. ``direct_acting``: the output rises when the measurement rises above the
setpoint (cooling, dilution); otherwise it rises when the measurement falls below it
(heating).
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.recipe.model import LoopMode


@dataclass(slots=True)
class Pid:
    gain: float  # output units per measurement unit
    integral_time_s: float  # 0 disables the integral action
    derivative_time_s: float
    output_low: float
    output_high: float
    direct_acting: bool = False
    mode: LoopMode = LoopMode.OFF
    setpoint: float = 0.0
    output: float = 0.0
    _last_error: float | None = None
    _last_pv: float | None = None
    _prev_pv: float | None = None

    def __post_init__(self) -> None:
        if self.output_low >= self.output_high:
            raise ValueError("output_low must be below output_high")
        if self.gain <= 0:
            raise ValueError("gain must be positive; use direct_acting for the sign")
        self.output = self._clamp(self.output)

    def _clamp(self, value: float) -> float:
        return min(self.output_high, max(self.output_low, value))

    def set_mode(self, mode: LoopMode, current_output: float) -> None:
        """Switch mode; entering AUTO starts from ``current_output`` (bumpless)."""
        if mode is LoopMode.AUTO and self.mode is not LoopMode.AUTO:
            self.output = self._clamp(current_output)
            self._last_error = None
            self._last_pv = None
            self._prev_pv = None
        self.mode = mode

    def set_manual_output(self, value: float) -> None:
        self.output = self._clamp(value)

    def update(self, pv: float, dt_s: float) -> float:
        """One sample: returns the new output (unchanged unless the mode is AUTO)."""
        if self.mode is not LoopMode.AUTO or dt_s <= 0:
            return self.output
        error = (pv - self.setpoint) if self.direct_acting else (self.setpoint - pv)
        sign = 1.0 if self.direct_acting else -1.0  # derivative on measurement
        if self._last_error is None:
            self._last_error = error
            self._last_pv = pv
            self._prev_pv = pv
        delta = error - self._last_error
        if self.integral_time_s > 0:
            delta += error * dt_s / self.integral_time_s
        if self.derivative_time_s > 0:
            assert self._last_pv is not None and self._prev_pv is not None
            delta += sign * self.derivative_time_s / dt_s * (pv - 2.0 * self._last_pv + self._prev_pv)
        self.output = self._clamp(self.output + self.gain * delta)
        self._last_error = error
        self._prev_pv = self._last_pv
        self._last_pv = pv
        return self.output
