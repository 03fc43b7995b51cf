"""PID loop behaviour against a first-order process simulated in the test."""

import math

import pytest

from controller.engine.pid import Pid
from controller.recipe.model import LoopMode


def first_order(pv: float, output: float, dt_s: float, gain: float, tau_s: float, base: float) -> float:
    """Exact step of tau dpv/dt = base + gain*output - pv."""
    target = base + gain * output
    return target + (pv - target) * math.exp(-dt_s / tau_s)


def test_heating_loop_settles_at_setpoint_without_offset():
    pid = Pid(gain=20.0, integral_time_s=300.0, derivative_time_s=0.0, output_low=0.0,
              output_high=100.0)
    pid.set_mode(LoopMode.AUTO, current_output=0.0)
    pid.setpoint = 40.0
    pv = 20.0
    for _ in range(7200):
        pv = first_order(pv, pid.update(pv, 1.0), 1.0, gain=0.5, tau_s=600.0, base=20.0)
    assert pv == pytest.approx(40.0, abs=0.05)
    assert pid.output == pytest.approx(40.0, abs=0.2)  # (40-20)/0.5: the steady-state output


def test_output_stays_within_limits_and_does_not_wind_up():
    pid = Pid(gain=50.0, integral_time_s=60.0, derivative_time_s=0.0, output_low=0.0,
              output_high=100.0)
    pid.set_mode(LoopMode.AUTO, current_output=0.0)
    pid.setpoint = 90.0  # unreachable: the process can reach 20 + 0.5*100 = 70
    pv = 20.0
    for _ in range(3600):
        output = pid.update(pv, 1.0)
        assert 0.0 <= output <= 100.0
        pv = first_order(pv, output, 1.0, gain=0.5, tau_s=300.0, base=20.0)
    # Setpoint now below the process value: with no stored windup the output must start
    # falling at the very next sample.
    pid.setpoint = 30.0
    assert pid.update(pv, 1.0) < 100.0


def test_manual_to_auto_transfer_is_bumpless():
    pid = Pid(gain=10.0, integral_time_s=100.0, derivative_time_s=5.0, output_low=0.0,
              output_high=100.0)
    pid.set_mode(LoopMode.MANUAL, current_output=0.0)
    pid.set_manual_output(37.0)
    pid.setpoint = 50.0
    pid.set_mode(LoopMode.AUTO, current_output=37.0)
    first = pid.update(49.0, 1.0)  # error 1: only the integral increment acts on the first sample
    assert first == pytest.approx(37.0 + 10.0 * (1.0 * 1.0 / 100.0))


def test_direct_acting_output_rises_when_pv_above_setpoint():
    pid = Pid(gain=1.0, integral_time_s=10.0, derivative_time_s=0.0, output_low=0.0,
              output_high=20.0, direct_acting=True)
    pid.set_mode(LoopMode.AUTO, current_output=0.0)
    pid.setpoint = 20.0
    assert pid.update(25.0, 1.0) > 0.0


def test_loop_off_leaves_output_alone():
    pid = Pid(gain=1.0, integral_time_s=10.0, derivative_time_s=0.0, output_low=0.0,
              output_high=10.0, output=3.0)
    assert pid.update(100.0, 1.0) == 3.0
