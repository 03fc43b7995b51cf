import pytest

from simulator.physics import film


def test_mass_balance_of_the_physics_example():
    # 0.3 m x 254 um x 2 m/min = 0.3 * 254e-6 * 2 m3/min = 152.4 cm3/min
    expected_cm3_min = 0.3 * 254e-6 * 2.0 * 1e6
    assert film.layer_flow_cm3_min(0.3, 254.0, 2.0) == pytest.approx(expected_cm3_min)
    assert expected_cm3_min == pytest.approx(152.4)
    assert film.layer_wet_thickness_um(152.4, 0.3, 2.0) == pytest.approx(254.0)


def test_knife_ratio_falls_from_0_9_towards_a_half():
    ratios = [film.knife_film_ratio(u) for u in (0.0, 0.5, 2.0, 5.0, 20.0)]
    assert ratios[0] == pytest.approx(0.9)
    assert all(a > b for a, b in zip(ratios, ratios[1:]))
    assert ratios[-1] == pytest.approx(0.5, abs=1e-4)
    assert all(0.5 <= r <= 0.9 for r in ratios)


def test_cast_thickness_is_pump_metered_but_capped_by_the_knife():
    assert film.cast_wet_thickness_um(152.4, 0.3, 2.0, 1000.0) == pytest.approx(254.0)
    capped = film.cast_wet_thickness_um(152.4, 0.3, 2.0, 300.0)
    assert capped == pytest.approx(300.0 * film.knife_film_ratio(2.0))
    assert film.cast_wet_thickness_um(152.4, 0.3, 0.0, 300.0) == 0.0


def test_slot_pressure_drop():
    mu, length, q, width, gap = 0.5, 0.01, 2.54e-6, 0.3, 254e-6
    assert film.slot_pressure_drop_pa(mu, length, q, width, gap) == pytest.approx(
        12 * mu * length * q / (width * gap**3))
