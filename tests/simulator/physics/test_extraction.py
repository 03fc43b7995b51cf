"""Solvent exchange of the cast film: Wilke-Chang by hand, Crank's sheet, residence against diffusion time."""

import math

import pytest

from simulator.physics import extraction


def test_wilke_chang_dmf_in_water_at_25_c_by_hand():
    # D = 7.4e-8 (2.6 x 18.015)^0.5 T / (eta V^0.6) cm2/s; eta 0.890 cP (IAPWS), V_DMF = 88.5 cm3/mol (Le Bas)
    by_hand_m2_s = 7.4e-8 * math.sqrt(2.6 * 18.015) * 298.15 / (0.890 * 88.5 ** 0.6) * 1e-4
    assert extraction.solvent_diffusivity_m2_s("dmf", 25.0) == pytest.approx(by_hand_m2_s, rel=0.005)
    assert 1.0e-9 < by_hand_m2_s < 1.3e-9  # measured DMF-water tracer diffusivities are ~1e-9 m2/s
    assert extraction.solvent_diffusivity_m2_s("dmf", 40.0) > extraction.solvent_diffusivity_m2_s("dmf", 25.0)


def test_crank_sheet_first_term_and_limits():
    assert extraction.remaining_fraction(0.0, 80.0) == 1.0
    # past t = t_D/2 the series is its first term to better than 1e-3
    assert extraction.remaining_fraction(80.0, 80.0) == pytest.approx(8.0 / math.pi ** 2 * math.exp(-math.pi ** 2 / 4.0),
                                                                      rel=1e-3)
    assert extraction.remaining_fraction(1.0e6, 80.0) == pytest.approx(0.0, abs=1e-12)


def test_a_quench_shorter_than_the_diffusion_time_leaves_solvent_and_a_longer_wash_leaves_less():
    d_eff = extraction.effective_diffusivity_m2_s(extraction.solvent_diffusivity_m2_s("dmf", 25.0), 0.8)
    t_d = extraction.diffusion_time_s(254.0, d_eff)
    assert t_d == pytest.approx((254e-6) ** 2 / (extraction.solvent_diffusivity_m2_s("dmf", 25.0) * 0.8 ** 1.5))
    quench = extraction.remaining_fraction(60.0, t_d)
    assert 0.05 < quench < 0.3  # not a fixed 80 % extraction: depends on the residence time
    residuals = [extraction.pore_solvent_out(0.83, 0.0, extraction.remaining_fraction(60.0 + wash_s, t_d))
                 for wash_s in (60.0, 150.0, 300.0)]
    assert residuals[0] > residuals[1] > residuals[2]
    # toward the bath's own solvent fraction, never below it
    assert extraction.pore_solvent_out(0.83, 0.05, 0.0) == pytest.approx(0.05)
