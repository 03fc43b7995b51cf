import math

import pytest

from simulator.physics import pumps


def test_slip_coefficient_gives_the_rated_volumetric_efficiency():
    slip = pumps.slip_coefficient_m3(3.0, 50.0, 5.0e5, 0.3, 0.985)
    flow = pumps.delivered_flow_cm3_min(3.0, 50.0, 5.0e5, 0.3, slip)
    assert flow == pytest.approx(0.985 * 3.0 * 50.0, rel=1e-12)
    assert 0.97 <= pumps.RATED_VOLUMETRIC_EFFICIENCY <= 0.995


def test_slip_grows_with_pressure_and_falls_with_viscosity():
    slip = pumps.slip_coefficient_m3(3.0, 50.0, 5.0e5, 0.3)
    base = pumps.delivered_flow_cm3_min(3.0, 50.0, 5.0e5, 0.3, slip)
    assert pumps.delivered_flow_cm3_min(3.0, 50.0, 1.0e6, 0.3, slip) < base
    assert pumps.delivered_flow_cm3_min(3.0, 50.0, 5.0e5, 3.0, slip) > base


def test_flow_into_resistance_solves_both_equations():
    slip = 2.0e-14
    k = 3.0e11
    mu = 0.2
    q = pumps.flow_into_linear_resistance_cm3_min(3.0, 40.0, k, slip)
    dp = mu * k * q / 6.0e7
    assert q == pytest.approx(pumps.delivered_flow_cm3_min(3.0, 40.0, dp, mu, slip), rel=1e-9)


def test_speed_for_flow_and_torque():
    # PHYSICS.md: 152 cm3/min at 3 cm3/rev is ~51 rpm
    assert pumps.speed_for_flow_rpm(152.4, 3.0, 0.995) == pytest.approx(152.4 / 2.985)
    torque = pumps.shaft_torque_n_m(3.0, 1.0e6, 0.9)
    assert torque == pytest.approx(3.0e-6 * 1.0e6 / (2 * math.pi * 0.9))


def test_no_negative_flow():
    assert pumps.delivered_flow_cm3_min(3.0, 0.0, 1.0e6, 0.3, 1e-13) == 0.0


# signed flow in m³/s, as the melt pumps of the foaming line use it


def test_gear_pump_without_pressure_delivers_displacement() -> None:
    d_cm3 = 3.0
    assert pumps.gear_pump_flow_m3_s(d_cm3, 30.0, 0.0, 1000.0, 1e-12) == pytest.approx(d_cm3 * 1e-6 * 30.0 / 60.0)


def test_signed_flow_gives_the_rated_volumetric_efficiency() -> None:
    d_cm3, n, dp, mu = 3.0, 40.0, 200e5, 1500.0
    cs = pumps.slip_coefficient_m3(d_cm3, n, dp, mu, 0.985)
    q = pumps.gear_pump_flow_m3_s(d_cm3, n, dp, mu, cs)
    assert q / (d_cm3 * 1e-6 * n / 60.0) == pytest.approx(0.985)
    # Slip grows with pressure and falls with viscosity.
    assert pumps.gear_pump_flow_m3_s(d_cm3, n, 2 * dp, mu, cs) < q
    assert pumps.gear_pump_flow_m3_s(d_cm3, n, dp, 2 * mu, cs) > q


def test_gear_pump_torque_and_temperature_rise() -> None:
    assert pumps.shaft_torque_n_m(10.0, 300e5, 0.9) == pytest.approx(
        10e-6 * 300e5 / (2 * math.pi * 0.9)
    )
    # ≈ 0.5 K/MPa for ρ = 1000, c_p = 2000 (PHYSICS.md).
    assert pumps.temperature_rise_k(1e6, 1000.0, 2000.0) == pytest.approx(0.5)
