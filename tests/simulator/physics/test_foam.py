"""Foam soft sensor: pressure-drop rate, nucleation, void fraction, cell size, seed claims."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.physics import foam, gas

R = 8.314462618
M_CO2 = 44.0095e-3
M_H2O = 18.015e-3


def test_pressure_drop_rate_by_hand() -> None:
    # 200 bar over a 20 mm land, 3 cm³/s through 0.2 m × 0.5 mm.
    dp, land, q, w, h = 200e5, 0.02, 3e-6, 0.2, 0.5e-3
    expected = dp / land * q / (w * h)
    assert foam.pressure_drop_rate_pa_s(dp, land, q, w, h) == pytest.approx(expected)
    assert expected == pytest.approx(3.0e7)  # 0.03 GPa/s


def test_nucleation_density_fitted_form() -> None:
    assert foam.nucleation_density_per_cm3(1.0) == pytest.approx(foam.DEFAULT_NUCLEATION_COEFFICIENT_PER_CM3)
    assert foam.nucleation_density_per_cm3(4.0, 2e8, 2.0) == pytest.approx(2e8 * 16.0)
    assert foam.nucleation_density_per_cm3(0.0) == 0.0


def test_void_fraction_from_ideal_gas_by_hand() -> None:
    w, t, rho = 0.02, 563.15, 1150.0
    v_gas = w / M_CO2 * R * t / 101325.0
    v_poly = (1 - w) / rho
    expected = v_gas / (v_gas + v_poly)
    got = foam.void_fraction_from_gas([w], [M_CO2], t, rho, max_void_fraction=0.999)
    assert got == pytest.approx(expected, rel=1e-12)


def test_void_fraction_is_capped_below_one() -> None:
    got = foam.void_fraction_from_gas([0.06, 0.01], [M_CO2, M_H2O], 600.0, 1150.0)
    assert got == foam.DEFAULT_MAX_VOID_FRACTION < 1.0


def test_no_gas_no_voids() -> None:
    assert foam.void_fraction_from_gas([0.0], [M_CO2], 600.0, 1150.0) == 0.0


def test_cell_size_recovers_the_cell_volume_balance() -> None:
    # N_f cells of diameter d fill the void fraction: N_f·π·d³/6 = φ.
    phi, n_f = 0.8, 5e8
    d_um = foam.cell_diameter_um(phi, n_f)
    d_cm = d_um * 1e-4
    assert n_f * math.pi * d_cm**3 / 6.0 == pytest.approx(phi, rel=1e-12)


def test_expanded_cell_density() -> None:
    assert foam.expanded_cell_density_per_cm3(1e9, 0.75) == pytest.approx(2.5e8)


def test_estimate_foam_chains_the_steps() -> None:
    kwargs = dict(
        die_pressure_drop_pa=180e5,
        die_land_length_m=0.01,
        die_width_m=0.1,
        die_gap_m=0.3e-3,
        flow_m3_s=2.5e-6,
        die_temperature_c=290.0,
        gas_mass_fractions=[0.04, 0.005],
        gas_molar_masses_kg_mol=[gas.CO2_MOLAR_MASS_KG_MOL, gas.WATER_MOLAR_MASS_KG_MOL],
        polymer_density_kg_m3=1150.0,
        saturation_pressure_pa=120e5,
        gas_diffusivity_m2_s=1e-9,
        gas_retention_fraction=0.1,
    )
    est = foam.estimate_foam(**kwargs)
    rate = 180e5 / 0.01 * 2.5e-6 / (0.1 * 0.3e-3)
    assert est.pressure_drop_rate_gpa_s == pytest.approx(rate / 1e9)
    n0 = 1e9 * (rate / 1e9) ** 1.5
    phi = foam.void_fraction_from_gas([0.04, 0.005], [M_CO2, M_H2O], 563.15, 1150.0, 0.1)
    assert est.void_fraction == pytest.approx(phi, rel=1e-6)
    assert est.cell_density_per_cm3 == pytest.approx(n0 * (1 - phi), rel=1e-6)
    assert est.cell_diameter_um == pytest.approx(
        (6 * phi / (math.pi * n0 * (1 - phi) * 1e6)) ** (1 / 3) * 1e6, rel=1e-6
    )
    window_s = (120e5 - 101325.0) / rate
    growth_s = (0.5 * (n0 * 1e6) ** (-1 / 3)) ** 2 / 1e-9
    assert est.pore_spread_fraction == pytest.approx(foam.pore_spread_fraction(window_s, growth_s), rel=1e-9)


def test_a_plausible_operating_point_meets_the_seed_claims() -> None:
    # 150 bar over a 3 mm land, 0.25 m/s through 50 mm × 0.2 mm → 1.25 GPa/s (the
    # microcellular regime of Park, Baldwin & Suh), 4 wt % CO2 + 0.5 wt % water, 10 % of
    # the gas retained: void >= 75 % and cells in the 0.05-30 µm microfiltration range
    # (seed 001 claims 1-2).
    est = foam.estimate_foam(
        die_pressure_drop_pa=150e5,
        die_land_length_m=3e-3,
        die_width_m=0.05,
        die_gap_m=0.2e-3,
        flow_m3_s=2.5e-6,
        die_temperature_c=290.0,
        gas_mass_fractions=[0.04, 0.005],
        gas_molar_masses_kg_mol=[gas.CO2_MOLAR_MASS_KG_MOL, gas.WATER_MOLAR_MASS_KG_MOL],
        polymer_density_kg_m3=1150.0,
        saturation_pressure_pa=120e5,
        gas_diffusivity_m2_s=1e-9,
        gas_retention_fraction=0.1,
    )
    assert est.pressure_drop_rate_gpa_s == pytest.approx(1.25)
    check = foam.check_seed_claims(est)
    assert check.void_fraction_at_least_75_percent
    assert check.pore_spread_within_10_percent
    assert check.pore_in_microfiltration_range
    assert not check.pore_in_macrofiltration_range


def test_slow_pressure_drop_fails_the_microfiltration_claim() -> None:
    est = foam.estimate_foam(
        die_pressure_drop_pa=20e5,
        die_land_length_m=0.05,
        die_width_m=0.3,
        die_gap_m=2e-3,
        flow_m3_s=1e-6,
        die_temperature_c=290.0,
        gas_mass_fractions=[0.04],
        gas_molar_masses_kg_mol=[M_CO2],
        polymer_density_kg_m3=1150.0,
        saturation_pressure_pa=120e5,
        gas_diffusivity_m2_s=1e-9,
    )
    assert est.pressure_drop_rate_gpa_s < 1e-4
    assert not foam.check_seed_claims(est).pore_in_microfiltration_range


@given(
    rate=st.floats(min_value=1e-3, max_value=10.0),
    factor=st.floats(min_value=1.01, max_value=10.0),
)
def test_faster_pressure_drop_gives_more_and_smaller_cells(rate: float, factor: float) -> None:
    phi = 0.8
    n_slow = foam.expanded_cell_density_per_cm3(foam.nucleation_density_per_cm3(rate), phi)
    n_fast = foam.expanded_cell_density_per_cm3(foam.nucleation_density_per_cm3(rate * factor), phi)
    assert n_fast > n_slow
    assert foam.cell_diameter_um(phi, n_fast) < foam.cell_diameter_um(phi, n_slow)


@given(
    w=st.floats(min_value=1e-4, max_value=0.05),
    dw=st.floats(min_value=1e-4, max_value=0.02),
)
def test_more_gas_more_voids(w: float, dw: float) -> None:
    lo = foam.void_fraction_from_gas([w], [M_CO2], 560.0, 1150.0, 0.01)
    hi = foam.void_fraction_from_gas([w + dw], [M_CO2], 560.0, 1150.0, 0.01)
    assert hi > lo


def test_pressure_drop_rate_through_the_line_die_by_hand() -> None:
    """The built-in die (0.1 m wide, 0.3 mm gap, 1.8 mm land) at ~10.3 kg/h of PSU melt
    (1150 kg/m³) with 246 bar across the land, all by hand."""
    q = 10.3 / 3600.0 / 1150.0  # 2.49e-6 m³/s
    velocity_m_s = q / (0.1 * 0.3e-3)  # 0.083 m/s mean velocity in the lips
    rate_pa_s = 246e5 / 1.8e-3 * velocity_m_s  # (ΔP/L)·v
    assert rate_pa_s == pytest.approx(1.134e9, rel=0.005)
    assert foam.pressure_drop_rate_pa_s(246e5, 1.8e-3, q, 0.1, 0.3e-3) == pytest.approx(rate_pa_s)
    assert rate_pa_s > 0.1e9  # microcellular range (PHYSICS.md; Park, Baldwin & Suh 1995)


def test_gas_retention_gives_the_seed_void_level_and_the_open_cell_ramp() -> None:
    # 2 wt % CO2 + 0.5 wt % water at 285 °C, a tenth of the gas retained, by hand
    t = 558.15
    v_gas = 0.10 * (0.02 / M_CO2 + 0.005 / M_H2O) * R * t / 101325.0
    v_poly = 0.975 / 1150.0
    expected = v_gas / (v_gas + v_poly)
    got = foam.void_fraction_from_gas([0.02, 0.005], [M_CO2, M_H2O], t, 1150.0,
                                      foam.DEFAULT_GAS_RETENTION_FRACTION)
    assert got == pytest.approx(expected, rel=1e-12)
    assert 0.75 < got < 0.85
    # wall/cell ratio (1 − φ)/(3φ): φ = 0.8 gives 1/12, open share (1/3 − 1/12)/(1/3 − 0.05)
    assert foam.open_cell_fraction(0.8) == pytest.approx((1 / 3 - 1 / 12) / (1 / 3 - 0.05))
    assert foam.open_cell_fraction(0.5) == 0.0 and foam.open_cell_fraction(0.9) == 1.0


def test_product_classes_follow_claims_2_and_3() -> None:
    estimate = foam.FoamEstimate(cell_density_per_cm3=1e8, cell_diameter_um=20.0, void_fraction=0.8,
                                 pressure_drop_rate_gpa_s=1.0, pore_spread_fraction=0.05)
    assert foam.in_product_class(estimate, foam.MICROFILTRATION)
    assert not foam.in_product_class(estimate, foam.MACROFILTRATION)
    at_30 = foam.FoamEstimate(1e7, 30.0, 0.8, 0.3, 0.05)
    assert foam.in_product_class(at_30, foam.MICROFILTRATION) and not foam.in_product_class(at_30, foam.MACROFILTRATION)
    low_void = foam.FoamEstimate(1e8, 20.0, 0.7, 1.0, 0.05)
    assert not foam.in_product_class(low_void, foam.MICROFILTRATION)
    # seed 001 claim 1: a pore-size standard deviation within ±10 % of the mean
    wide_spread = foam.FoamEstimate(1e8, 20.0, 0.8, 1.0, 0.12)
    assert not foam.in_product_class(wide_spread, foam.MICROFILTRATION)
    assert not foam.check_seed_claims(wide_spread).pore_spread_within_10_percent


def test_pore_spread_by_hand_when_the_window_equals_the_growth_time() -> None:
    # x = τ_n/t_g = 1, R ∝ √(1 + u), u uniform in [0, 1]:
    # E[R] = ∫₀¹ √(1+u) du = (2/3)(2^1.5 − 1) = 1.2189514, E[R²] = 1.5,
    # σ = √(1.5 − 1.4858426) = 0.1189853, σ/μ = 0.0976126
    assert foam.pore_spread_fraction(0.02, 0.02) == pytest.approx(0.0976126, rel=1e-5)


def test_pore_spread_agrees_with_a_sampled_population_of_cells() -> None:
    # 20,000 cells born evenly over a 0.03 s window, each growing for 0.01 s after it closes
    births = [(i + 0.5) / 20000 * 0.03 for i in range(20000)]
    radii = [math.sqrt(0.01 + u) for u in births]
    mean = sum(radii) / len(radii)
    sd = math.sqrt(sum((r - mean) ** 2 for r in radii) / len(radii))
    assert foam.pore_spread_fraction(0.03, 0.01) == pytest.approx(sd / mean, rel=1e-4)


def test_pore_spread_limits() -> None:
    assert foam.pore_spread_fraction(0.0, 1.0) == 0.0  # all cells born at once
    assert foam.pore_spread_fraction(1e6, 1.0) == pytest.approx(1 / (2 * math.sqrt(2)), rel=1e-3)  # R ∝ √u
    # the small-window series x/(4√3) meets the closed form at its switch
    below, above = foam.pore_spread_fraction(0.999e-4, 1.0), foam.pore_spread_fraction(1.001e-4, 1.0)
    assert above == pytest.approx(below * 1.001e-4 / 0.999e-4, rel=1e-4)


def test_nucleation_window_and_growth_time_by_hand() -> None:
    # 115 bar single-phase minimum, 1.2 GPa/s: supersaturated for (115e5 − 101325)/1.2e9 = 9.50 ms
    assert foam.nucleation_window_s(115e5, 1.2e9) == pytest.approx(9.499e-3, rel=1e-3)
    assert foam.nucleation_window_s(0.5e5, 1.2e9) == 0.0  # never supersaturated
    # 1e9 nuclei per cm³ = 1e15 per m³: spacing 10 µm, half 5 µm, (5e-6)²/1e-9 = 25 ms
    assert foam.growth_time_s(1e9, 1e-9) == pytest.approx(0.025)


@given(rate=st.floats(min_value=0.05, max_value=10.0), factor=st.floats(min_value=1.05, max_value=5.0))
def test_more_dissolved_gas_widens_the_pore_spread(rate: float, factor: float) -> None:
    n0 = foam.nucleation_density_per_cm3(rate)
    growth = foam.growth_time_s(n0, 1e-9)
    narrow = foam.pore_spread_fraction(foam.nucleation_window_s(100e5, rate * 1e9), growth)
    wide = foam.pore_spread_fraction(foam.nucleation_window_s(100e5 * factor, rate * 1e9), growth)
    assert wide > narrow
