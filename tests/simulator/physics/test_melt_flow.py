"""Melt flow: slit die, static mixer, pressure between pumps, extruder."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.physics import melt_flow as mf
from simulator.physics import pumps

W, H, L = 0.2, 0.6e-3, 0.02  # die width, gap, land [m]


# ------------------------------------------------------------------------- slit die


def test_power_law_die_at_n_one_is_newtonian() -> None:
    q, mu = 3.0e-6, 800.0
    assert mf.slit_power_law_pressure_drop_pa(q, W, H, L, mu, 1.0) == pytest.approx(
        12.0 * mu * L * q / (W * H**3), rel=1e-12
    )
    assert mf.slit_newtonian_pressure_drop_pa(q, W, H, L, mu) == pytest.approx(
        12.0 * mu * L * q / (W * H**3), rel=1e-12
    )


def test_power_law_die_by_hand() -> None:
    q, k, n = 2.0e-6, 5.0e3, 0.4
    gamma_w = (2 * n + 1) / n * 2 * q / (W * H * H)
    expected = 2 * L * k / H * gamma_w**n
    assert mf.slit_power_law_pressure_drop_pa(q, W, H, L, k, n) == pytest.approx(expected, rel=1e-12)


def test_wall_shear_rate_newtonian_is_six_q_over_w_h_squared() -> None:
    q = 1.0e-6
    assert mf.slit_wall_shear_rate_1_s(q, W, H) == pytest.approx(6 * q / (W * H * H))


def test_wall_stress_balance() -> None:
    # Force balance on the slit: τ_w = ΔP·H/(2L) must equal K·γ̇_w^n.
    q, k, n = 4.0e-6, 3.0e3, 0.5
    dp = mf.slit_power_law_pressure_drop_pa(q, W, H, L, k, n)
    assert dp * H / (2 * L) == pytest.approx(k * mf.slit_wall_shear_rate_1_s(q, W, H, n) ** n)


@given(
    q=st.floats(min_value=1e-8, max_value=1e-4),
    n=st.floats(min_value=0.2, max_value=1.0),
)
def test_die_flow_inverts_die_pressure_drop(q: float, n: float) -> None:
    dp = mf.slit_power_law_pressure_drop_pa(q, W, H, L, 2.0e3, n)
    assert mf.slit_power_law_flow_m3_s(dp, W, H, L, 2.0e3, n) == pytest.approx(q, rel=1e-9)


@given(
    q=st.floats(min_value=1e-8, max_value=1e-4),
    extra=st.floats(min_value=1.01, max_value=10.0),
)
def test_die_pressure_rises_with_flow(q: float, extra: float) -> None:
    assert mf.slit_power_law_pressure_drop_pa(
        q * extra, W, H, L, 2.0e3, 0.4
    ) > mf.slit_power_law_pressure_drop_pa(q, W, H, L, 2.0e3, 0.4)


# ----------------------------------------------------------------------- static mixer


def test_static_mixer_is_k_times_hagen_poiseuille() -> None:
    q, mu, length, d = 2.0e-6, 5.0e3, 0.3, 0.025
    empty = 128 * mu * length * q / (math.pi * d**4)
    assert mf.static_mixer_pressure_drop_pa(q, mu, length, d, 1.0) == pytest.approx(empty)
    assert mf.static_mixer_pressure_drop_pa(q, mu, length, d) == pytest.approx(7.0 * empty)
    smx = mf.static_mixer_pressure_drop_pa(q, mu, length, d, mf.SMX_PRESSURE_DROP_FACTOR)
    assert 30.0 * empty <= smx <= 40.0 * empty


# -------------------------------------------------------------- pressure between pumps

V, KAPPA = 200e-6, 0.7e-9


def test_pressure_step_conserves_mass() -> None:
    p0, qin, qout, dt = 120.0, 2.1e-6, 2.0e-6, 1.0
    p1 = mf.step_pressure_bar(p0, qin, qout, V, KAPPA, dt)
    # Compressed extra volume κ·V·ΔP equals the net inflow (Q_in − Q_out)·dt.
    assert KAPPA * V * (p1 - p0) * 1e5 == pytest.approx((qin - qout) * dt, rel=1e-12)


def test_pressure_step_is_clipped_at_zero_gauge() -> None:
    assert mf.step_pressure_bar(1.0, 0.0, 1e-5, V, KAPPA, 10.0) == 0.0


def test_equal_flows_hold_pressure() -> None:
    assert mf.step_pressure_bar(150.0, 2e-6, 2e-6, V, KAPPA, 60.0) == 150.0


def _pump_pair_flows(p_bar: float) -> tuple[float, float, float]:
    """Pump 1 discharges into V at p, pump 2 draws from V and pushes to 250 bar."""
    mu, cs = 2000.0, 2e-12
    q1 = pumps.gear_pump_flow_m3_s(3.0, 40.0, p_bar * 1e5, mu, cs)  # 3 cc/rev
    q2 = pumps.gear_pump_flow_m3_s(3.0, 40.0, (250.0 - p_bar) * 1e5, mu, cs)
    # d(Q_out − Q_in)/dP per bar: both pumps' slip terms.
    slope = 2 * cs * 1e5 / mu
    return q1, q2, slope


def test_linearised_step_converges_to_flow_balance_between_two_pumps() -> None:
    p = 20.0
    for _ in range(200):
        q1, q2, slope = _pump_pair_flows(p)
        p = mf.step_pressure_linearised_bar(p, q1, q2, slope, V, KAPPA, 60.0)
    q1, q2, _ = _pump_pair_flows(p)
    assert q1 == pytest.approx(q2, rel=1e-9)
    # Identical pumps at equal speed balance at half the outlet pressure.
    assert p == pytest.approx(125.0, rel=1e-6)


def test_linearised_step_is_exact_for_linear_flows() -> None:
    p0, dt = 20.0, 0.3
    q1, q2, slope = _pump_pair_flows(p0)
    cap = KAPPA * V * 1e5
    expected = 125.0 + (p0 - 125.0) * math.exp(-dt * slope / cap)
    assert mf.step_pressure_linearised_bar(p0, q1, q2, slope, V, KAPPA, dt) == pytest.approx(
        expected, rel=1e-9
    )


def test_linearised_step_with_zero_slope_is_the_constant_flow_step() -> None:
    assert mf.step_pressure_linearised_bar(100.0, 2e-6, 1e-6, 0.0, V, KAPPA, 5.0) == pytest.approx(
        mf.step_pressure_bar(100.0, 2e-6, 1e-6, V, KAPPA, 5.0)
    )


DIE = dict(width_m=W, gap_m=H, length_m=L, consistency_pa_s_n=8.0e3, power_law_index=0.45)


def test_die_pressure_step_converges_to_die_pressure_drop_for_any_dt() -> None:
    q = 2.5e-6
    target = mf.slit_power_law_pressure_drop_pa(q, W, H, L, 8.0e3, 0.45) / 1e5
    for dt in (0.001, 1.0, 60.0):
        p = 0.0
        history = []
        for _ in range(3000 if dt == 0.001 else 50):
            p = mf.step_pressure_into_slit_die_bar(p, q, 50e-6, KAPPA, dt, **DIE)
            history.append(p)
        assert p == pytest.approx(target, rel=1e-6)
        # Monotone approach: never overshoots the equilibrium (stiff volume, large dt).
        assert all(b >= a for a, b in zip(history, history[1:], strict=False))
        assert max(history) <= target * (1 + 1e-12)


def test_die_pressure_step_initial_slope_is_the_true_derivative() -> None:
    q, v, dt = 2.5e-6, 50e-6, 1e-7
    p0 = 50.0
    p1 = mf.step_pressure_into_slit_die_bar(p0, q, v, KAPPA, dt, **DIE)
    q_die = mf.slit_power_law_flow_m3_s(p0 * 1e5, W, H, L, 8.0e3, 0.45)
    dpdt_bar_s = (q - q_die) / (KAPPA * v) / 1e5
    assert (p1 - p0) / dt == pytest.approx(dpdt_bar_s, rel=1e-4)


def test_die_pressure_step_is_exact_for_a_newtonian_die() -> None:
    mu, v, dt, q, p0 = 1000.0, 50e-6, 0.02, 2.0e-6, 10.0
    resistance_pa_s_m3 = 12 * mu * L / (W * H**3)
    p_eq = q * resistance_pa_s_m3 / 1e5
    tau = KAPPA * v * resistance_pa_s_m3
    expected = p_eq + (p0 - p_eq) * math.exp(-dt / tau)
    got = mf.step_pressure_into_slit_die_bar(
        p0, q, v, KAPPA, dt, W, H, L, consistency_pa_s_n=mu, power_law_index=1.0
    )
    assert got == pytest.approx(expected, rel=1e-9)


def test_die_drains_without_inflow() -> None:
    p = mf.step_pressure_into_slit_die_bar(100.0, 0.0, 50e-6, KAPPA, 1.0, **DIE)
    assert 0.0 <= p < 100.0


# -------------------------------------------------------------------------- extruder


def test_open_discharge_throughput_is_drag_flow() -> None:
    d, h, n_rpm = 0.03, 2.0e-3, 60.0
    theta = math.atan(1 / math.pi)
    width = math.pi * d * math.tan(theta) * math.cos(theta)
    v_bz = math.pi * d * n_rpm / 60 * math.cos(theta)
    expected = 0.5 * v_bz * width * h * mf.drag_flow_shape_factor(h, width)
    assert mf.single_screw_throughput_m3_s(d, h, n_rpm, 0.3, 0.0, 1000.0) == pytest.approx(expected)
    assert mf.drag_flow_shape_factor(h, width) < 1.0


def test_throughput_falls_linearly_with_head_pressure() -> None:
    args = (0.03, 2.0e-3, 60.0, 0.3)
    q0 = mf.single_screw_throughput_m3_s(*args, 0.0, 1500.0)
    q1 = mf.single_screw_throughput_m3_s(*args, 100e5, 1500.0)
    q2 = mf.single_screw_throughput_m3_s(*args, 200e5, 1500.0)
    assert q1 < q0
    assert q0 - q1 == pytest.approx(q1 - q2, rel=1e-12)


def _drag_asymptote_slope() -> float:
    """For H/W → 0 the series becomes (2/π)·∫₀^∞ (x − tanh x)/x³ dx (midpoint rule)."""
    n, x_max = 200_000, 400.0
    h = x_max / n
    integral = sum(
        ((k + 0.5) * h - math.tanh((k + 0.5) * h)) / ((k + 0.5) * h) ** 3 for k in range(n)
    ) * h + 1.0 / x_max  # tail: (x − 1)/x³ ≈ 1/x²
    return 2.0 / math.pi * integral


def test_shape_factors_follow_their_shallow_channel_asymptotes() -> None:
    r = 1e-3
    assert mf.drag_flow_shape_factor(r, 1.0) == pytest.approx(1 - _drag_asymptote_slope() * r, abs=2e-5)
    # F_p → 1 − (192/π⁵)·Σ_odd 1/i⁵ · H/W, Σ_odd 1/i⁵ = (31/32)·ζ(5).
    zeta5 = sum(1.0 / k**5 for k in range(1, 10_000))
    slope_p = 192.0 / math.pi**5 * 31.0 / 32.0 * zeta5
    assert mf.pressure_flow_shape_factor(r, 1.0) == pytest.approx(1 - slope_p * r, abs=1e-6)
    # Deeper channels lose more of both flows.
    assert mf.drag_flow_shape_factor(0.2, 1.0) < mf.drag_flow_shape_factor(0.05, 1.0) < 1.0


def test_starve_fed_throughput_is_feed_limited_then_screw_limited() -> None:
    assert mf.starve_fed_throughput_m3_s(10 / 3600, 1000.0, 1e-4) == pytest.approx(10 / 3600 / 1000)
    assert mf.starve_fed_throughput_m3_s(1.0, 1000.0, 1e-4) == pytest.approx(1e-4)
