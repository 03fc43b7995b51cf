import math

import pytest

from simulator.physics import bath

COMMON = dict(heat_capacity_j_k=400 * 4186.0, ua_w_k=30.0, ambient_c=20.0, makeup_kg_s=0.0,
              makeup_temperature_c=15.0, inflow_heat_rate_w_k=0.0, inflow_temperature_c=20.0)


def run(temperature_c, dt_s, steps, power_w, area_m2=0.0):
    for _ in range(steps):
        temperature_c = bath.bath_temperature_step_c(
            temperature_c, dt_s, heater_power_w=power_w, evaporation_area_m2=area_m2,
            air_relative_humidity=0.5, **COMMON)
    return temperature_c


@pytest.mark.parametrize("dt_s", [1.0, 60.0])
def test_heated_bath_settles_at_t_amb_plus_p_u_over_ua(dt_s):
    power_w = 12000.0 * 0.05  # 5 % of 12 kW
    expected_c = 20.0 + power_w / 30.0  # by hand: 40 degC
    final = run(20.0, dt_s, int(20 * 86400 / dt_s), power_w)
    assert final == pytest.approx(expected_c, abs=1e-3)


def test_exact_update_matches_the_exponential_solution():
    power_w = 600.0
    tau_s = 400 * 4186.0 / 30.0
    after = run(20.0, 60.0, 10, power_w)
    assert after == pytest.approx(40.0 - 20.0 * math.exp(-600.0 / tau_s), rel=1e-9)
    # stable and identical for a 1 s and a 60 s step
    assert run(20.0, 1.0, 600, power_w) == pytest.approx(after, rel=1e-9)


def test_evaporation_cools_and_steady_state_solves_the_balance():
    area = 1.0
    t_ss = bath.bath_steady_state_c(2000.0, 30.0, 20.0, area, 0.5)
    balance = 2000.0 - 30.0 * (t_ss - 20.0) - bath.evaporation_heat_w(bath.evaporation_kg_s(area, t_ss, 20.0, 0.5))
    assert abs(balance) < 1e-6
    assert t_ss < 20.0 + 2000.0 / 30.0
    assert run(20.0, 60.0, 20 * 1440, 2000.0, area) == pytest.approx(t_ss, abs=0.01)


def test_carrier_evaporation_by_hand():
    p_w = 0.61094 * math.exp(17.625 * 40 / (40 + 243.04))
    p_a = 0.5 * 0.61094 * math.exp(17.625 * 20 / (20 + 243.04))
    assert bath.evaporation_kg_s(2.0, 40.0, 20.0, 0.5) == pytest.approx(2.0 * (p_w - p_a) * 0.089 / 2430.0)


def test_solvent_builds_up_to_the_inflow_ratio():
    fraction = 0.0
    solvent, water = 0.002, 0.008  # kg/s
    for _ in range(1000):
        fraction = bath.solvent_fraction_step(fraction, 3600.0, 400.0, solvent, water, 0.0)
    assert fraction == pytest.approx(solvent / (solvent + water), rel=1e-6)
    # one step equals the analytic solution
    one = bath.solvent_fraction_step(0.0, 3600.0, 400.0, solvent, water, 0.0)
    assert one == pytest.approx(0.2 * (1 - math.exp(-0.01 * 3600 / 400.0)))


def test_weir_holds_the_level():
    assert bath.weir_liquid_mass_kg(399.0, 400.0, 1.0, 10.0) == 400.0
    assert bath.weir_liquid_mass_kg(400.0, 400.0, -0.1, 10.0) == pytest.approx(399.0)


def test_wash_bath_heat_balance_at_steady_state_by_hand():
    # Example VIII's wash: 30 degC, 10 L/min of 15 degC fresh water, 30 W/K walls to a 20 degC
    # hall at 50 %, 1 m2 open surface, the web (2.5 g/s, taken as water) in from the 40 degC quench.
    def magnus_kpa(t_c: float) -> float:  # Alduchov & Eskridge 1996
        return 0.61094 * math.exp(17.625 * t_c / (t_c + 243.04))

    makeup_kg_s = 10.0 * 0.998 / 60.0
    makeup_w = makeup_kg_s * 4186.0 * (30.0 - 15.0)  # 10.44 kW
    walls_w = 30.0 * (30.0 - 20.0)
    evaporation_w = 1.0 * (magnus_kpa(30.0) - 0.5 * magnus_kpa(20.0)) * 0.089 * 1000.0  # Carrier, still air
    web_w_k = 0.0025 * 4186.0
    web_w = web_w_k * (40.0 - 30.0)  # brought in
    heater_w = makeup_w + walls_w + evaporation_w - web_w
    assert 10.5e3 < heater_w < 11.0e3  # more than the former 9 kW, less than the 15 kW now fitted

    steady_c = bath.bath_steady_state_c(heater_w, 30.0, 20.0, 1.0, 0.5, makeup_kg_s, 15.0, web_w_k, 40.0)

    assert steady_c == pytest.approx(30.0, abs=1e-6)
    assert bath.bath_steady_state_c(9000.0, 30.0, 20.0, 1.0, 0.5, makeup_kg_s, 15.0, web_w_k, 40.0) < 28.0
