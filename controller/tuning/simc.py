"""PI tuning from a bump test: a first-order-plus-dead-time (FOPDT) model fitted to an
open-loop step response, and PI settings from that model by Skogestad's SIMC rules.

Model: y(t) = y0 + K·Δu·(1 − exp(−(t − θ)/τ)) for t > θ after the output step Δu.

Fit, two-point method (C. L. Smith, *Digital Computer Process Control*, 1972; Seborg,
Edgar, Mellichamp & Doyle, *Process Dynamics and Control*, 4th ed., 2016, section 7.2):
with t28 and t63 the times after the step at which the response has covered 28.3 % and
63.2 % of its final change, τ = 1.5·(t63 − t28) and θ = t63 − τ; K = Δy∞ / Δu.

Tuning, SIMC PI (S. Skogestad, "Simple analytic rules for model reduction and PID
controller tuning", *J. Process Control* 13 (2003) 291-309, eq. 22 and section 3.3):
Kc = τ / (K·(τc + θ)), τI = min(τ, 4·(τc + θ)), with the paper's default τc = θ (tight
control with a gain margin of about 3). A sampled loop adds half its scan period to the
effective dead time (ibid., section 3.1), which also keeps Kc finite when θ fits to 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SETTLED_FRACTION = 0.1  # the last tenth of the record gives the final value
SETTLED_TOLERANCE = 0.02  # of the change: the last tenth's mean may differ this much from the one before
# (a first-order response passes from about 3 time constants of record on)
STEADY_TOLERANCE = 0.1  # of the change: the baseline's two halves may differ by this much


@dataclass(frozen=True, slots=True)
class FopdtModel:
    gain: float  # process gain K, pv units per output unit (negative: pv falls as the output rises)
    time_constant_s: float  # τ
    dead_time_s: float  # θ


@dataclass(frozen=True, slots=True)
class PiTuning:
    gain: float  # controller gain Kc, output units per pv unit (positive; see direct_acting)
    integral_time_s: float  # τI
    direct_acting: bool  # True when the output must rise as the pv rises above setpoint (K < 0)
    closed_loop_time_constant_s: float  # τc used


def _drift(values: Sequence[float]) -> float:
    """How far the second half's mean lies from the first half's (noise averages out)."""
    half = len(values) // 2
    return abs(sum(values[half:]) / (len(values) - half) - sum(values[:half]) / half)


def _crossing_s(times_s: Sequence[float], values: Sequence[float], level: float, rising: bool) -> float:
    """First time the series reaches ``level``, interpolated linearly between samples."""
    for i in range(1, len(values)):
        before, after = values[i - 1], values[i]
        if (after >= level) if rising else (after <= level):
            if after == before:
                return times_s[i]
            return times_s[i - 1] + (level - before) / (after - before) * (times_s[i] - times_s[i - 1])
    raise ValueError(f"the response never reached {level:g}")


def fit_fopdt(times_s: Sequence[float], values: Sequence[float], step_time_s: float,
              output_change: float) -> FopdtModel:
    """FOPDT model of a response ``values`` (pv at ``times_s``) to an output step of
    ``output_change`` made at ``step_time_s``; the record must start before the step and
    run until the response has settled."""
    if len(times_s) != len(values) or len(values) < 10:
        raise ValueError("need at least 10 samples, as many times as values")
    if output_change == 0.0:
        raise ValueError("output_change must not be 0")
    before = [v for t, v in zip(times_s, values, strict=True) if t <= step_time_s]
    after = [(t - step_time_s, v) for t, v in zip(times_s, values, strict=True) if t > step_time_s]
    if not before or len(after) < 10:
        raise ValueError("the record must hold samples before the step and at least 10 after it")
    initial = sum(before[len(before) // 2:]) / (len(before) - len(before) // 2)  # not one noisy sample
    tenth = max(2, int(len(after) * SETTLED_FRACTION))
    tail = [v for _, v in after[-tenth:]]
    final = sum(tail) / len(tail)
    change = final - initial
    if change == 0.0:
        raise ValueError("the pv did not respond to the step")
    previous = [v for _, v in after[-2 * tenth:-tenth]]
    drift = abs(final - sum(previous) / len(previous))
    if drift > SETTLED_TOLERANCE * abs(change):
        raise ValueError(f"the response has not settled: its last tenth moved {drift:.3g} from the tenth "
                         f"before, of a {abs(change):.3g} change; record longer")
    if len(before) >= 4 and _drift(before) > STEADY_TOLERANCE * abs(change):
        raise ValueError(f"the pv was not steady before the step (it moved {_drift(before):.3g} against a "
                         f"{abs(change):.3g} response): settle longer or step the output further")
    t_after = [t for t, _ in after]
    v_after = [v for _, v in after]
    rising = change > 0
    t28 = _crossing_s(t_after, v_after, initial + 0.283 * change, rising)
    t63 = _crossing_s(t_after, v_after, initial + 0.632 * change, rising)
    tau = 1.5 * (t63 - t28)
    if tau <= 0.0:
        raise ValueError("the response is too fast for the record's sample spacing")
    return FopdtModel(gain=change / output_change, time_constant_s=tau, dead_time_s=max(0.0, t63 - tau))


def simc_pi(model: FopdtModel, scan_period_s: float,
            closed_loop_time_constant_s: float | None = None) -> PiTuning:
    """SIMC PI settings for ``model`` on a loop sampled every ``scan_period_s``."""
    if scan_period_s <= 0.0:
        raise ValueError("scan_period_s must be positive")
    if model.gain == 0.0 or model.time_constant_s <= 0.0:
        raise ValueError("the model needs a non-zero gain and a positive time constant")
    theta = model.dead_time_s + 0.5 * scan_period_s
    tau_c = theta if closed_loop_time_constant_s is None else closed_loop_time_constant_s
    if tau_c <= 0.0:
        raise ValueError("the closed-loop time constant must be positive")
    kc = model.time_constant_s / (abs(model.gain) * (tau_c + theta))
    return PiTuning(gain=kc, integral_time_s=min(model.time_constant_s, 4.0 * (tau_c + theta)),
                    direct_acting=model.gain < 0.0, closed_loop_time_constant_s=tau_c)
