"""Rheology: Carreau, WLF/Arrhenius shift factors, Chow plasticisation, polymer records."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.physics import rheology as rh

R = 8.314462618


def test_carreau_is_eta0_at_zero_shear_and_power_law_at_high_shear() -> None:
    assert rh.carreau_viscosity_pa_s(1000.0, 0.1, 0.4, 0.0) == 1000.0
    # For λγ̇ >> 1: η → η0·(λγ̇)^(n−1).
    gamma = 1.0e6
    expected = 1000.0 * (0.1 * gamma) ** (0.4 - 1.0)
    assert rh.carreau_viscosity_pa_s(1000.0, 0.1, 0.4, gamma) == pytest.approx(expected, rel=1e-9)


def test_carreau_matches_hand_value() -> None:
    # η0 = 2000, λ = 0.5 s, n = 0.5, γ̇ = 4: (1 + 4)^(−0.25)
    assert rh.carreau_viscosity_pa_s(2000.0, 0.5, 0.5, 4.0) == pytest.approx(2000.0 * 5.0**-0.25)


def test_carreau_newtonian_when_n_is_one() -> None:
    assert rh.carreau_viscosity_pa_s(350.0, 3.0, 1.0, 1.0e4) == pytest.approx(350.0)


def test_wlf_shift_at_tg_plus_fifty() -> None:
    tg = 373.15
    # log10 a = −17.44·50/(51.6 + 50) relative to Tg
    expected = 10.0 ** (-17.44 * 50.0 / 101.6)
    assert rh.wlf_shift_factor(tg + 50.0, tg, tg) == pytest.approx(expected, rel=1e-12)


def test_wlf_refuses_glass() -> None:
    with pytest.raises(ValueError):
        rh.wlf_log10_shift_factor(300.0, 373.15)


def test_arrhenius_shift_by_hand() -> None:
    ea = 100.0e3
    expected = math.exp(ea / R * (1.0 / 600.0 - 1.0 / 620.0))
    assert rh.arrhenius_shift_factor(600.0, 620.0, ea) == pytest.approx(expected, rel=1e-12)


def test_shift_factor_uses_wlf_near_tg_and_arrhenius_far_above() -> None:
    tg = rh.POLYSULFONE.glass_transition_k
    # Both temperatures inside Tg..Tg+100: pure WLF.
    assert rh.temperature_shift_factor(tg + 40.0, tg + 80.0, tg) == pytest.approx(
        rh.wlf_shift_factor(tg + 40.0, tg + 80.0, tg), rel=1e-12
    )
    # Both far above: pure Arrhenius with the given E_a.
    ea = 120.0e3
    assert rh.temperature_shift_factor(tg + 150.0, tg + 175.0, tg, ea) == pytest.approx(
        rh.arrhenius_shift_factor(tg + 150.0, tg + 175.0, ea), rel=1e-12
    )


def test_shift_factor_is_continuous_and_smooth_at_the_switch() -> None:
    tg = 458.15
    t_star = tg + 100.0
    below = rh.temperature_shift_factor(t_star - 1e-6, t_star, tg)
    above = rh.temperature_shift_factor(t_star + 1e-6, t_star, tg)
    assert below == pytest.approx(1.0, rel=1e-6)
    assert above == pytest.approx(1.0, rel=1e-6)
    # Slope continuity with the matched activation energy: central differences agree.
    h = 0.01
    slope_wlf = (
        math.log(rh.temperature_shift_factor(t_star, t_star, tg))
        - math.log(rh.temperature_shift_factor(t_star - h, t_star, tg))
    ) / h
    slope_arr = (
        math.log(rh.temperature_shift_factor(t_star + h, t_star, tg))
        - math.log(rh.temperature_shift_factor(t_star, t_star, tg))
    ) / h
    assert slope_arr == pytest.approx(slope_wlf, rel=1e-3)
    expected_ea = R * t_star**2 * math.log(10.0) * 17.44 * 51.6 / (51.6 + 100.0) ** 2
    assert rh.activation_energy_matching_wlf_j_mol(tg) == pytest.approx(expected_ea)


def test_chow_reproduces_hand_calculation_for_polystyrene() -> None:
    ps = rh.POLYSTYRENE
    w = 0.05
    theta = ps.repeat_unit_molar_mass_g_mol / (2.0 * 44.0095) * w / (1.0 - w)
    beta = 2.0 * R / (ps.repeat_unit_molar_mass_g_mol * ps.heat_capacity_step_at_tg_j_g_k)
    expected = ps.glass_transition_k * math.exp(
        beta * ((1.0 - theta) * math.log(1.0 - theta) + theta * math.log(theta))
    )
    assert rh.plasticised_glass_transition_k(ps, w) == pytest.approx(expected, rel=1e-12)


def test_chow_gives_about_nine_kelvin_per_weight_percent_for_ps() -> None:
    # O'Neill & Handa (1994) found Chow's model matches measured PS-CO2 Tg; literature
    # depressions are of order 10 K per wt % at low loading.
    ps = rh.POLYSTYRENE
    per_percent = (ps.glass_transition_k - rh.plasticised_glass_transition_k(ps, 0.02)) / 2.0
    assert 5.0 < per_percent < 15.0


def test_no_co2_no_tg_change() -> None:
    assert rh.plasticised_glass_transition_k(rh.POLYSULFONE, 0.0) == rh.POLYSULFONE.glass_transition_k


def test_polymer_records_follow_raje_2023() -> None:
    assert rh.POLYSULFONE.glass_transition_c == pytest.approx(185.0)
    assert (rh.POLYSULFONE.processing_min_c, rh.POLYSULFONE.processing_max_c) == (340.0, 360.0)
    assert rh.POLYETHERSULFONE.glass_transition_c == pytest.approx(225.0)
    assert rh.POLYETHERSULFONE.processing_min_c >= 320.0
    for polymer in (rh.POLYSULFONE, rh.POLYETHERSULFONE, rh.POLYSTYRENE):
        assert 1800.0 <= polymer.melt_heat_capacity_j_kg_k <= 2200.0
        assert polymer.source


def test_viscosity_at_reference_is_the_record_value() -> None:
    psu = rh.POLYSULFONE
    t_ref = rh.celsius_to_kelvin(psu.viscosity_reference_temperature_c)
    assert rh.zero_shear_viscosity_pa_s(psu, t_ref) == pytest.approx(psu.zero_shear_viscosity_pa_s)


def test_cooling_fifty_kelvin_raises_psu_viscosity_by_ten_to_a_thousand() -> None:
    # PHYSICS.md: cooling 50-100 K in the exchanger raises viscosity ×10-100.
    psu = rh.POLYSULFONE
    hot = rh.zero_shear_viscosity_pa_s(psu, rh.celsius_to_kelvin(340.0))
    cold = rh.zero_shear_viscosity_pa_s(psu, rh.celsius_to_kelvin(290.0))
    assert 10.0 < cold / hot < 1000.0


def test_co2_plasticisation_equals_a_temperature_increase_by_the_tg_depression() -> None:
    psu = rh.POLYSULFONE
    t = rh.celsius_to_kelvin(320.0)
    depression = psu.glass_transition_k - rh.plasticised_glass_transition_k(psu, 0.04)
    assert rh.zero_shear_viscosity_pa_s(psu, t, 0.04) == pytest.approx(
        rh.zero_shear_viscosity_pa_s(psu, t + depression), rel=1e-12
    )


def test_time_temperature_superposition_of_lambda() -> None:
    # η(T, γ̇) must equal a·η_ref(a·γ̇) when λ shifts with η0.
    psu = rh.POLYSULFONE
    t = rh.celsius_to_kelvin(300.0)
    a = rh.zero_shear_viscosity_pa_s(psu, t) / psu.zero_shear_viscosity_pa_s
    gamma = 50.0
    reference = rh.carreau_viscosity_pa_s(
        psu.zero_shear_viscosity_pa_s,
        psu.carreau_relaxation_time_s,
        psu.carreau_power_law_index,
        a * gamma,
    )
    assert rh.melt_viscosity_pa_s(psu, t, gamma) == pytest.approx(a * reference, rel=1e-12)


@given(
    t1=st.floats(min_value=280.0, max_value=400.0),
    dt=st.floats(min_value=0.5, max_value=60.0),
    gamma=st.floats(min_value=0.0, max_value=1.0e4),
)
def test_higher_temperature_lowers_viscosity(t1: float, dt: float, gamma: float) -> None:
    psu = rh.POLYSULFONE
    cold = rh.melt_viscosity_pa_s(psu, rh.celsius_to_kelvin(t1), gamma)
    hot = rh.melt_viscosity_pa_s(psu, rh.celsius_to_kelvin(t1 + dt), gamma)
    assert hot < cold


@given(
    w=st.floats(min_value=0.0, max_value=0.07),
    dw=st.floats(min_value=0.001, max_value=0.02),
)
def test_more_co2_lowers_tg_and_viscosity(w: float, dw: float) -> None:
    pes = rh.POLYETHERSULFONE
    assert rh.plasticised_glass_transition_k(pes, w + dw) < rh.plasticised_glass_transition_k(pes, w)
    t = rh.celsius_to_kelvin(330.0)
    assert rh.zero_shear_viscosity_pa_s(pes, t, w + dw) < rh.zero_shear_viscosity_pa_s(pes, t, w)


@given(gamma1=st.floats(min_value=0.0, max_value=1e5), factor=st.floats(min_value=1.01, max_value=100.0))
def test_shear_thinning(gamma1: float, factor: float) -> None:
    low = rh.carreau_viscosity_pa_s(1000.0, 0.05, 0.45, gamma1)
    high = rh.carreau_viscosity_pa_s(1000.0, 0.05, 0.45, gamma1 * factor + 1e-3)
    assert high < low
