import math

import pytest

from simulator.physics import dope


def test_cloud_point_correlation_reproduces_the_seed_binodal():
    # seed 000 Fig. II: binodal at 14.5 % 2-methyl-1-butanol for 10 % PSf in DMF (ambient)
    curve = dope.cloud_point_curve("polysulfone", "DMF", "2-methyl-1-butanol")
    assert dope.cloud_point_non_solvent_fraction(curve, 0.10, 25.0) == pytest.approx(0.145, abs=1e-9)
    # on the correlation line: ln(w_ns/w_s) = a ln(w_p) + b
    assert math.log(0.145 / 0.755) == pytest.approx(curve.slope * math.log(0.10) + curve.intercept(25.0))
    assert dope.binodal_depth(curve, 0.10, 0.144, 25.0) < 0.0 < dope.binodal_depth(curve, 0.10, 0.146, 25.0)


def test_example_viii_reads_0_600():
    curve = dope.cloud_point_curve("PSf", "dimethylformamide", "2 methyl 2 butanol")
    depth = dope.binodal_depth(curve, 0.095, 0.155, 40.0)
    assert dope.absorbance_au(depth) == pytest.approx(0.600, abs=1e-9)
    assert 0.0 < depth < dope.SPINODAL_DEPTH  # metastable, castable


def test_example_vii_hexane_is_metastable_at_ambient():
    curve = dope.cloud_point_curve("polysulfone", "DMF", "hexane")
    depth = dope.binodal_depth(curve, 0.099, 0.119, 25.0)
    assert 0.0 < depth < dope.SPINODAL_DEPTH


def test_ucst_cooling_crosses_the_binodal():
    curve = dope.cloud_point_curve("polysulfone", "DMF", "2-methyl-2-butanol")
    t_c = dope.cloud_point_temperature_c(curve, 0.095, 0.155)
    assert t_c > 40.0  # seed: hold above T_c, cast below it
    assert dope.absorbance_au(dope.binodal_depth(curve, 0.095, 0.155, t_c + 1.0)) == 0.0
    assert dope.absorbance_au(dope.binodal_depth(curve, 0.095, 0.155, t_c - 1.0)) > 0.0
    assert dope.past_spinodal(dope.binodal_depth(curve, 0.095, 0.155, 15.0))


def test_absorbance_baseline_and_rise():
    assert dope.absorbance_au(-0.1) == 0.0
    values = [dope.absorbance_au(d) for d in (0.0, 0.01, 0.05, 0.1, 0.15)]
    assert values[0] == 0.0 and all(a < b for a, b in zip(values, values[1:]))


def test_lifetime_weeks_to_minutes_and_monotonic():
    assert dope.metastable_lifetime_s(-0.01) == math.inf
    depths = [1e-6 + i * 0.01 for i in range(25)]
    lifetimes = [dope.metastable_lifetime_s(d) for d in depths]
    assert all(a >= b for a, b in zip(lifetimes, lifetimes[1:]))
    assert lifetimes[0] > 7 * 86400  # weeks near the binodal
    assert dope.metastable_lifetime_s(dope.SPINODAL_DEPTH) <= 3600  # minutes..hours deep inside


def test_segregation_without_agitation_and_redispersion_with_it():
    depth = 0.10
    aging, seg = 0.0, 0.0
    for _ in range(48 * 60):  # two days still, 60 s steps
        seg = dope.segregation_step(seg, aging, depth, 0.0, 60.0)
        aging = dope.aging_step(aging, depth, 0.0, 60.0)
    assert aging > 1.0 and seg > 0.5
    assert not dope.castable(depth, seg)
    for _ in range(60):  # one hour of full agitation
        seg = dope.segregation_step(seg, aging, depth, 1.0, 60.0)
        aging = dope.aging_step(aging, depth, 1.0, 60.0)
    assert seg < 0.01 and dope.castable(depth, seg)
    assert not dope.castable(dope.SPINODAL_DEPTH + 0.01, 0.0)


def test_viscosity_power_law_and_arrhenius():
    base = dope.dope_viscosity_pa_s(0.10, 25.0)
    assert base == pytest.approx(dope.VISCOSITY_REF_PA_S)
    assert dope.dope_viscosity_pa_s(0.12, 25.0) / base == pytest.approx(1.2 ** dope.VISCOSITY_CONCENTRATION_EXPONENT)
    assert 4.0 <= dope.VISCOSITY_CONCENTRATION_EXPONENT <= 7.0
    assert dope.dope_viscosity_pa_s(0.10, 40.0) < base


def test_unknown_materials_are_refused():
    with pytest.raises(ValueError):
        dope.cloud_point_curve("nylon", "formic acid", "water")
    with pytest.raises(ValueError):
        dope.canonical_name("unobtainium")
    assert set(dope.NON_SOLVENTS) >= {"2-methyl-2-butanol", "2-methyl-1-butanol", "hexane", "water"}
