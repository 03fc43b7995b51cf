"""Heat exchange: melt cooler, delays and lags, barrel-zone heat balance."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.physics import heat_exchange as hx


def test_ntu_zero_leaves_the_melt_unchanged() -> None:
    assert hx.exchanger_outlet_temperature_c(340.0, 200.0, 0.0, 0.01, 2000.0) == 340.0


def test_ntu_infinite_brings_the_melt_to_coolant_temperature() -> None:
    assert hx.exchanger_outlet_temperature_c(340.0, 200.0, 1e9, 1e-3, 2000.0) == pytest.approx(200.0)
    # Standing melt: NTU = ∞.
    assert hx.exchanger_outlet_temperature_c(340.0, 200.0, 50.0, 0.0, 2000.0) == 200.0


def test_outlet_temperature_by_hand_and_energy_balance() -> None:
    t_in, t_c, ua, m, cp = 340.0, 250.0, 40.0, 10.0 / 3600.0, 2000.0
    ntu = ua / (m * cp)
    expected = t_c + (t_in - t_c) * math.exp(-ntu)
    t_out = hx.exchanger_outlet_temperature_c(t_in, t_c, ua, m, cp)
    assert t_out == pytest.approx(expected, rel=1e-12)
    # Duty by the melt equals the integral of UA·(T − T_c) along the exchanger:
    # ṁc_p·(T_in − T_out) = UA·LMTD, LMTD = (ΔT_in − ΔT_out)/ln(ΔT_in/ΔT_out).
    lmtd = ((t_in - t_c) - (t_out - t_c)) / math.log((t_in - t_c) / (t_out - t_c))
    assert hx.exchanger_heat_duty_w(t_in, t_out, m, cp) == pytest.approx(ua * lmtd, rel=1e-9)


def test_seed_cooling_of_fifty_kelvin_needs_ntu_of_order_one() -> None:
    # Seed 001 claim 7: cool >= 50 °C below the processing temperature. With a 240 °C
    # coolant, T_in = 340 °C: e^(−NTU) = 50/100 → NTU = ln 2.
    m, cp = 8.0 / 3600.0, 2000.0
    ua = math.log(2.0) * m * cp
    assert hx.exchanger_outlet_temperature_c(340.0, 240.0, ua, m, cp) == pytest.approx(290.0)


@given(
    ua=st.floats(min_value=0.0, max_value=500.0),
    m=st.floats(min_value=1e-4, max_value=0.1),
)
def test_outlet_lies_between_coolant_and_inlet(ua: float, m: float) -> None:
    t_out = hx.exchanger_outlet_temperature_c(340.0, 220.0, ua, m, 2000.0)
    assert 220.0 <= t_out <= 340.0


def test_transport_delay() -> None:
    assert hx.transport_delay_s(300e-6, 2e-6) == pytest.approx(150.0)
    assert hx.transport_delay_s(300e-6, 0.0) == math.inf


def test_first_order_lag_is_exact() -> None:
    # Two half steps equal one full step (exact solution, not Euler).
    half = hx.step_first_order_lag(hx.step_first_order_lag(20.0, 100.0, 120.0, 30.0), 100.0, 120.0, 30.0)
    full = hx.step_first_order_lag(20.0, 100.0, 120.0, 60.0)
    assert half == pytest.approx(full, rel=1e-12)
    assert full == pytest.approx(100.0 + (20.0 - 100.0) * math.exp(-0.5))


def test_zone_steady_state_is_ambient_plus_power_over_ha() -> None:
    zone = hx.BarrelZoneParameters(heater_power_w=2500.0, heat_capacity_j_k=3000.0, heat_loss_coefficient_w_k=5.0)
    t = 25.0
    for _ in range(2000):
        t = hx.step_zone_temperature_c(t, 0.6, 25.0, 60.0, zone, shear_heating_w=100.0)
    assert t == pytest.approx(25.0 + (2500.0 * 0.6 + 100.0) / 5.0, rel=1e-9)


@pytest.mark.parametrize("dt_s", [1.0, 60.0])
def test_zone_step_matches_the_exact_solution_at_scan_and_coarse_steps(dt_s: float) -> None:
    zone = hx.DEFAULT_BARREL_ZONE
    horizon_s = 3600.0
    t = 25.0
    for _ in range(int(horizon_s / dt_s)):
        t = hx.step_zone_temperature_c(t, 1.0, 25.0, dt_s, zone)
    t_ss = 25.0 + zone.heater_power_w / zone.heat_loss_coefficient_w_k
    tau = zone.heat_capacity_j_k / zone.heat_loss_coefficient_w_k
    assert t == pytest.approx(t_ss + (25.0 - t_ss) * math.exp(-horizon_s / tau), rel=1e-9)


def test_zone_energy_balance_over_a_small_step() -> None:
    # Over a short dt: C·ΔT ≈ (P·u − hA·(T − T_amb))·dt.
    zone = hx.DEFAULT_BARREL_ZONE
    t0, dt = 200.0, 1e-3
    t1 = hx.step_zone_temperature_c(t0, 0.5, 20.0, dt, zone)
    heat_w = zone.heater_power_w * 0.5 - zone.heat_loss_coefficient_w_k * (t0 - 20.0)
    assert zone.heat_capacity_j_k * (t1 - t0) == pytest.approx(heat_w * dt, rel=1e-6)


def test_default_zone_is_a_25_to_35_mm_machine_estimate() -> None:
    zone = hx.DEFAULT_BARREL_ZONE
    assert 1500.0 <= zone.heater_power_w <= 3000.0
    assert 5 * 60.0 <= zone.time_constant_s <= 15 * 60.0
    # Must be able to hold PSU/PES melt temperatures (360 °C) with reserve.
    assert hx.zone_steady_state_temperature_c(zone.heater_power_w, 1.0, zone.heat_loss_coefficient_w_k, 25.0) > 400.0


def test_heater_command_is_clipped() -> None:
    zone = hx.DEFAULT_BARREL_ZONE
    assert hx.step_zone_temperature_c(300.0, 1.7, 25.0, 10.0, zone) == hx.step_zone_temperature_c(
        300.0, 1.0, 25.0, 10.0, zone
    )
    assert hx.step_zone_temperature_c(300.0, -0.5, 25.0, 10.0, zone) < 300.0
