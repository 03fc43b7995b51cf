import math

import pytest

from simulator.physics import dryer, vessel


def test_air_temperature_settles_at_t_amb_plus_p_over_g():
    t = 20.0
    for _ in range(200):
        t = dryer.air_temperature_step_c(t, 60.0, 20000.0, 7500.0, 115.6, 20.0)
    assert t == pytest.approx(20.0 + 7500.0 / 115.6, rel=1e-9)


def test_hotter_air_and_longer_residence_dry_more():
    x0 = dryer.wet_membrane_moisture_dry_basis(0.8, 1.24)
    assert x0 == pytest.approx(0.8 * 0.998 / (0.2 * 1.24))

    def exit_x(air_c: float, residence_s: float, velocity_m_s: float = 6.0) -> float:
        y = 0.0145
        flux = dryer.constant_rate_flux_kg_m2_s(dryer.parallel_flow_htc_w_m2_k(velocity_m_s, air_c), air_c,
                                                dryer.wet_bulb_temperature_c(air_c, y))
        return dryer.exit_moisture_dry_basis(x0, flux, 0.0224, residence_s)

    cold, hot, longer = exit_x(50.0, 120.0), exit_x(80.0, 120.0), exit_x(50.0, 240.0)
    assert hot < cold and longer < cold
    assert exit_x(80.0, 120.0, velocity_m_s=3.0) > hot  # less air over the web dries less
    assert dryer.wet_basis_pct(1.0) == pytest.approx(50.0)


def magnus_kpa(t_c: float) -> float:  # Alduchov & Eskridge 1996, written out for the hand calculations
    return 0.61094 * math.exp(17.625 * t_c / (t_c + 243.04))


def test_the_wet_bulb_solves_the_psychrometric_balance_by_hand():
    # 70 degC air carrying 14.5 g water per kg dry air (Example VIII's exhaust): a psychrometric chart
    # (Geankoplis Fig. 9.3-2) puts the wet bulb near 32 degC
    t_wb = dryer.wet_bulb_temperature_c(70.0, 0.0145)
    p = magnus_kpa(t_wb)
    y_s = 0.622 * p / (101.325 - p)
    humid_heat = 1005.0 + 1880.0 * 0.0145
    assert humid_heat * (70.0 - t_wb) == pytest.approx(2430e3 * (y_s - 0.0145), rel=1e-6)
    assert 31.0 < t_wb < 33.5


def test_dryer_sensible_plus_latent_balance_at_one_operating_point():
    # Example VIII at 2 m/min on a 0.3 m web: 22.4 g/m2 of polysulfone holding X0 = 3.22 kg/kg,
    # 0.01 m2/s of web; air at 70 degC, wet bulb 32 degC, web in from the 30 degC wash, dried to
    # X = 0.003 (the equilibrium).
    polymer_kg_s = 0.0224 * 0.01
    x0 = 0.8 * 0.998 / (0.2 * 1.24)
    water_in_kg_s = polymer_kg_s * x0
    evaporated_kg_s = polymer_kg_s * (x0 - 0.003)
    latent_w = evaporated_kg_s * 2430e3  # ~1.75 kW: the issue's ~1.8 kW for 44 g/min
    sensible_w = water_in_kg_s * 4186.0 * (32.0 - 30.0) + polymer_kg_s * 1200.0 * (70.0 - 30.0)
    load_w = dryer.web_heat_load_w(evaporated_kg_s, water_in_kg_s, polymer_kg_s, 30.0, 32.0, 70.0)
    assert load_w == pytest.approx(latent_w + sensible_w, rel=1e-9)
    assert 1700.0 < latent_w < 1800.0 and sensible_w < 0.02 * latent_w
    # the air's balance: heater = exhaust (0.1 kg/s from 20 degC) + walls (15 W/K) + web, at 70 degC
    conductance_w_k = 15.0 + 0.1 * 1006.0
    heater_w = conductance_w_k * (70.0 - 20.0) + latent_w + sensible_w
    t = 20.0
    for _ in range(100):
        t = dryer.air_temperature_step_c(t, 60.0, 20000.0, heater_w - load_w, conductance_w_k, 20.0)
    assert t == pytest.approx(70.0, abs=1e-6)
    # the air's water balance: 0.1 kg/s of 20 degC, 50 % air takes the evaporated water
    p_in = 0.5 * magnus_kpa(20.0)
    y_in = 0.622 * p_in / (101.325 - p_in)
    assert dryer.exhaust_humidity_kg_kg(y_in, evaporated_kg_s, 0.1) == pytest.approx(y_in + evaporated_kg_s / 0.1)
    assert dryer.humidity_ratio_kg_kg(20.0, 0.5) == pytest.approx(y_in, rel=1e-9)


def test_constant_then_falling_rate_drying_by_hand():
    flux = 9.0e-4  # kg/(m2 s)
    m_s = 0.0224  # kg polymer per m2
    x0 = 3.22
    constant_s = m_s * (x0 - 0.5) / flux  # 67.7 s down to the critical moisture
    assert dryer.exit_moisture_dry_basis(x0, flux, m_s, 30.0) == pytest.approx(x0 - flux * 30.0 / m_s)
    tau_s = m_s * (0.5 - 0.003) / flux
    expected = 0.003 + (0.5 - 0.003) * math.exp(-(120.0 - constant_s) / tau_s)
    assert dryer.exit_moisture_dry_basis(x0, flux, m_s, 120.0) == pytest.approx(expected, rel=1e-9)


def test_vessel_two_node_step_is_exact_and_settles():
    # steady state by hand: jacket balance and dope balance solved simultaneously
    ua, ud, uj, p = 250.0, 3.0, 5.0, 3000.0
    # dope: ua(Tj-Td) = ud(Td-20); jacket: p = ua(Tj-Td) + uj(Tj-20)
    # => Tj - 20 = (Td - 20)(ud + ua)/ua ; p = ud(Td-20) + uj(Td-20)(ud+ua)/ua
    td = 20.0 + p / (ud + uj * (ud + ua) / ua)
    tj = 20.0 + (td - 20.0) * (ud + ua) / ua
    a = (20.0, 20.0)
    for _ in range(100):
        a = vessel.vessel_jacket_step(*a, 1.0e4, 250000.0, 63000.0, ua, ud, uj, 20.0, p, 0.0)
    assert a == pytest.approx((td, tj), rel=1e-6)
    # one 600 s step equals 600 steps of 1 s (exact integration)
    one = vessel.vessel_jacket_step(20.0, 20.0, 600.0, 250000.0, 63000.0, ua, ud, uj, 20.0, p, 0.0)
    many = (20.0, 20.0)
    for _ in range(600):
        many = vessel.vessel_jacket_step(*many, 1.0, 250000.0, 63000.0, ua, ud, uj, 20.0, p, 0.0)
    assert one == pytest.approx(many, rel=1e-9)
    assert not math.isnan(one[0])


def test_split_range_jacket():
    assert vessel.jacket_split_range(50.0, 6000.0) == (3000.0, 0.0)
    heat, cool = vessel.jacket_split_range(-100.0, 6000.0)
    assert heat == 0.0 and cool == pytest.approx(6000.0 / vessel.COOLING_DESIGN_DT_K)
