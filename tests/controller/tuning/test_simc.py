"""FOPDT fit (two-point method) and SIMC PI rules, checked against hand-computed values
and against a closed loop on a simulated FOPDT process."""

from __future__ import annotations

import math

import pytest

from controller.engine.pid import Pid
from controller.recipe.model import LoopMode
from controller.tuning.simc import FopdtModel, fit_fopdt, simc_pi


def fopdt_response(gain: float, tau_s: float, theta_s: float, *, step_time_s: float = 50.0,
                   output_change: float = 4.0, y0: float = 20.0, end_s: float = 1500.0,
                   dt_s: float = 1.0) -> tuple[list[float], list[float]]:
    times = [i * dt_s for i in range(int(end_s / dt_s) + 1)]
    values = [y0 + (gain * output_change * (1.0 - math.exp(-(t - step_time_s - theta_s) / tau_s))
                    if t > step_time_s + theta_s else 0.0) for t in times]
    return times, values


def test_two_point_fit_recovers_a_first_order_plus_dead_time_process() -> None:
    times, values = fopdt_response(2.5, 120.0, 30.0)
    model = fit_fopdt(times, values, step_time_s=50.0, output_change=4.0)
    assert model.gain == pytest.approx(2.5, rel=0.01)
    assert model.time_constant_s == pytest.approx(120.0, rel=0.01)
    assert model.dead_time_s == pytest.approx(30.0, abs=1.0)


def test_a_falling_response_gives_a_negative_gain_and_a_direct_acting_loop() -> None:
    times, values = fopdt_response(-0.8, 60.0, 5.0, end_s=800.0)  # more coolant, colder melt
    model = fit_fopdt(times, values, step_time_s=50.0, output_change=4.0)
    assert model.gain == pytest.approx(-0.8, rel=0.01)
    assert simc_pi(model, scan_period_s=1.0).direct_acting
    assert not simc_pi(FopdtModel(0.8, 60.0, 5.0), scan_period_s=1.0).direct_acting


def test_a_record_that_has_not_settled_is_refused() -> None:
    times, values = fopdt_response(2.5, 600.0, 30.0, end_s=900.0)  # a tenth of the way at most
    with pytest.raises(ValueError, match="not settled"):
        fit_fopdt(times, values, step_time_s=50.0, output_change=4.0)


def test_simc_rules_by_hand() -> None:
    # K = 2, tau = 100 s, theta = 10 s, scan 2 s: effective theta 11 s, tau_c = 11 s
    tuning = simc_pi(FopdtModel(2.0, 100.0, 10.0), scan_period_s=2.0)
    assert tuning.closed_loop_time_constant_s == 11.0
    assert tuning.gain == pytest.approx(100.0 / (2.0 * 22.0))
    assert tuning.integral_time_s == 88.0  # min(tau, 4 (tau_c + theta))
    slow = simc_pi(FopdtModel(2.0, 50.0, 10.0), scan_period_s=2.0, closed_loop_time_constant_s=40.0)
    assert slow.integral_time_s == 50.0 and slow.gain == pytest.approx(50.0 / (2.0 * 51.0))


def test_simc_settings_hold_a_simulated_process_at_setpoint_without_large_overshoot() -> None:
    gain, tau_s, theta_s, dt_s = 1.6, 90.0, 12.0, 1.0
    tuning = simc_pi(FopdtModel(gain, tau_s, theta_s), scan_period_s=dt_s)
    pid = Pid(gain=tuning.gain, integral_time_s=tuning.integral_time_s, derivative_time_s=0.0,
              output_low=0.0, output_high=100.0, direct_acting=tuning.direct_acting)
    pid.set_mode(LoopMode.AUTO, 10.0)
    pid.setpoint = 60.0
    y, pending = 16.0, [10.0] * int(theta_s / dt_s)  # at rest with the output at 10: y = 1.6 * 10
    history = []
    for _ in range(1500):
        output = pid.update(y, dt_s)
        pending.append(output)
        delayed = pending.pop(0)
        y += (gain * delayed - y) * (1.0 - math.exp(-dt_s / tau_s))
        history.append(y)
    overshoot = (max(history) - 60.0) / (60.0 - 16.0)
    assert overshoot < 0.25
    assert all(abs(v - 60.0) < 0.5 for v in history[-300:])
