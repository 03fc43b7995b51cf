import pytest

from simulator.physics import film


def test_mass_balance_of_the_physics_example():
    # 0.3 m x 254 um x 2 m/min = 0.3 * 254e-6 * 2 m3/min = 152.4 cm3/min
    expected_cm3_min = 0.3 * 254e-6 * 2.0 * 1e6
    assert film.layer_flow_cm3_min(0.3, 254.0, 2.0) == pytest.approx(expected_cm3_min)
    assert expected_cm3_min == pytest.approx(152.4)
    assert film.layer_wet_thickness_um(152.4, 0.3, 2.0) == pytest.approx(254.0)


def test_knife_passes_drag_flow_plus_the_bead_s_pressure_flow():
    # Middleman: q/W = U·H/2 + H³·Δp/(12·μ·L); by hand for H = 380 um, U = 2 m/min, 150 Pa,
    # μ = 0.16 Pa·s, L = 2 mm, W = 0.3 m
    h, u, dp, mu, land, w = 380e-6, 2.0 / 60.0, 150.0, 0.16, 0.002, 0.3
    by_hand = w * (u * h / 2.0 + h ** 3 * dp / (12.0 * mu * land)) * 1e6 * 60.0
    assert film.knife_film_flow_cm3_min(380.0, 2.0, 0.3, 150.0, 0.16, 0.002) == pytest.approx(by_hand)
    assert film.knife_film_flow_cm3_min(380.0, 2.0, 0.3, 0.0, 0.16, 0.002) == pytest.approx(0.3 * 190.0 * 2.0)
    # the head a film needs is the inverse of the same relation
    head = film.bead_head_for_film_pa(254.0, 380.0, 2.0, 0.16, 0.002)
    flow = film.knife_film_flow_cm3_min(380.0, 2.0, 0.3, head, 0.16, 0.002)
    assert film.layer_wet_thickness_um(flow, 0.3, 2.0) == pytest.approx(254.0)
    assert film.bead_head_for_film_pa(150.0, 380.0, 2.0, 0.16, 0.002) < 0.0  # below gap/2: starved


def test_bead_conserves_dope_and_overflows_at_its_height():
    args = (380.0, 2.0, 0.3, 0.16, 0.002, 970.0, 0.02, 0.03)
    volume, knife, overflow = film.bead_step(50.0, 150.0, *args, 1.0)
    assert pytest.approx((volume - 50.0) + (knife + overflow) / 60.0) == 150.0 / 60.0
    capacity = 0.3 * 0.02 * 0.03 * 1e6
    volume, knife, overflow = film.bead_step(capacity, 400.0, *args, 1.0)
    assert volume == pytest.approx(capacity) and overflow > 0.0
    assert knife + overflow == pytest.approx(400.0)
    volume, knife, overflow = film.bead_step(0.0, 50.0, *args, 1.0)  # starved: passes the inflow
    assert volume == 0.0 and knife == pytest.approx(50.0) and overflow == 0.0


def test_slot_pressure_drop():
    mu, length, q, width, gap = 0.5, 0.01, 2.54e-6, 0.3, 254e-6
    assert film.slot_pressure_drop_pa(mu, length, q, width, gap) == pytest.approx(
        12 * mu * length * q / (width * gap**3))
