"""The foaming plant (seed 001) against independently computed values."""

from __future__ import annotations

import math

import pytest

from controller.lines.foaming.definition import foaming_line
from simulator.foaming.plant import FoamingPlant
from simulator.physics import gas, heat_exchange, rheology


def hot_plant(polymer: str = "PSU") -> FoamingPlant:
    plant = FoamingPlant(foaming_line(), seed=1, polymer=polymer)
    # hold the zones at 340 °C: preheated steel, the heaters at the steady-state output
    zone = heat_exchange.DEFAULT_BARREL_ZONE
    u_pct = 100.0 * (340.0 - 20.0) * zone.heat_loss_coefficient_w_k / 2000.0
    plant.zones_c = [340.0] * len(plant.zones_c)
    plant.tip_c = 340.0
    plant.die_zones_c = [300.0] * len(plant.die_zones_c)
    plant.die_melt_c = plant.hx_in_c = plant.hx_out_c = plant.coolant_c = 300.0
    plant.write_device("extruder", {f"zone_{i}_heater_output_pct": u_pct for i in range(1, 5)})
    die_pct = 100.0 * (300.0 - 20.0) * zone.heat_loss_coefficient_w_k / 1500.0
    plant.write_device("die", {"gap_setpoint_mm": 1.0, "zone_1_heater_output_pct": die_pct,
                               "zone_2_heater_output_pct": die_pct})
    plant.write_device("heat_exchanger", {"coolant_pump_on": 1.0, "coolant_setpoint_c": 300.0})
    plant.advance_to(1100.0)  # soak: the exchanger's delay line holds hot melt
    return plant


def run_for(plant: FoamingPlant, seconds: float) -> None:
    plant.advance_to(plant.env.now + seconds)


def test_barrel_zone_follows_the_exact_first_order_heat_balance():
    plant = FoamingPlant(foaming_line(), seed=0)
    plant.write_device("extruder", {"zone_1_heater_output_pct": 50.0})
    plant.advance_to(600.0)
    zone = heat_exchange.DEFAULT_BARREL_ZONE
    steady = 20.0 + 0.5 * 2000.0 / zone.heat_loss_coefficient_w_k
    expected = steady + (20.0 - steady) * math.exp(-600.0 / zone.time_constant_s)
    assert plant.zones_c[0] == pytest.approx(expected, rel=1e-9)
    assert plant.zones_c[1] == pytest.approx(20.0)


def test_melt_pumps_set_the_flow_and_pressures_settle_without_oscillation():
    plant = hot_plant()
    plant.write_device("extruder", {"screw_speed_setpoint_rpm": 40.0})
    plant.write_device("melt_pump_1", {"speed_setpoint_rpm": 30.0})
    plant.write_device("melt_pump_2", {"speed_setpoint_rpm": 30.0})
    run_for(plant, 1200.0)
    # pump 2 delivers D·N less slip (a few per cent at most)
    assert plant.q2_m3_s == pytest.approx(5e-6 * 30.0 / 60.0, rel=0.03)
    p3 = [plant.p3_bar]
    for _ in range(60):
        run_for(plant, 1.0)
        p3.append(plant.p3_bar)
    assert max(p3) - min(p3) < 0.01 * max(p3) + 0.1  # steady, no oscillation at a 1 s step
    assert plant.p3_bar > 5.0


def test_exchanger_outlet_reaches_the_ntu_value_after_the_transport_delay():
    plant = hot_plant()
    plant.write_device("extruder", {"screw_speed_setpoint_rpm": 40.0})
    plant.write_device("melt_pump_1", {"speed_setpoint_rpm": 30.0})
    plant.write_device("melt_pump_2", {"speed_setpoint_rpm": 30.0})
    plant.write_device("heat_exchanger", {"coolant_setpoint_c": 280.0})
    run_for(plant, 200.0)
    assert plant.hx_out_c > 295.0  # the delay V/Q (~10 min) has not passed
    run_for(plant, 4 * 3600.0)
    props = rheology.POLYSULFONE
    expected = heat_exchange.exchanger_outlet_temperature_c(
        plant.hx_in_c, plant.coolant_c, 150.0, plant.q1_m3_s * props.melt_density_kg_m3,
        props.melt_heat_capacity_j_kg_k)
    assert plant.hx_out_c == pytest.approx(expected, abs=0.5)


def test_gas_comes_out_of_solution_below_the_single_phase_minimum():
    plant = hot_plant()
    plant.write_device("co2_pump", {"head_cooling_on": 1.0, "mass_flow_setpoint_g_min": 3.5})
    plant.write_device("water_pump", {"head_cooling_on": 1.0, "mass_flow_setpoint_g_min": 0.9})
    plant.write_device("extruder", {"screw_speed_setpoint_rpm": 40.0})
    plant.write_device("melt_pump_1", {"speed_setpoint_rpm": 30.0})
    plant.write_device("melt_pump_2", {"speed_setpoint_rpm": 30.0})
    run_for(plant, 600.0)
    state = plant.melt_state()
    expected = gas.minimum_single_phase_pressure_bar(
        (state["co2_wt_pct"] / 100.0, state["water_wt_pct"] / 100.0),
        (gas.CO2_IN_POLYSULFONE, gas.WATER_IN_POLYSULFONE), plant.tip_c + 273.15)
    assert state["single_phase_min_bar"] == pytest.approx(expected, rel=1e-9)
    assert (state["gas_undissolved"] == 1.0) == (plant.p1_bar < expected)


def test_faults_blocked_die_raises_pressure_and_head_cooling_failure_heats_the_head():
    plant = hot_plant()
    plant.write_device("extruder", {"screw_speed_setpoint_rpm": 40.0})
    plant.write_device("melt_pump_1", {"speed_setpoint_rpm": 30.0})
    plant.write_device("melt_pump_2", {"speed_setpoint_rpm": 30.0})
    plant.write_device("co2_pump", {"head_cooling_on": 1.0})
    run_for(plant, 900.0)
    before = plant.p3_bar
    plant.faults.block_die()
    plant.faults.fail_head_cooling("co2_pump")
    run_for(plant, 300.0)
    assert plant.p3_bar > 3.0 * before
    assert plant.read_device("co2_pump")["head_temperature_c"] > 25.0
    with pytest.raises(ValueError):
        plant.faults.fail_head_cooling("melt_pump_1")


def test_gas_metered_with_no_polymer_flow_does_not_crash_the_plant():
    """Bug: 'total gas mass fraction must lie in [0,1)' when gas was metered into a stopped line."""
    plant = hot_plant()
    plant.write_device("co2_pump", {"head_cooling_on": 1.0, "mass_flow_setpoint_g_min": 5.0})
    plant.write_device("water_pump", {"head_cooling_on": 1.0, "mass_flow_setpoint_g_min": 1.0})
    run_for(plant, 600.0)  # no screw, no melt pumps: gas alone fills the injection section
    assert plant.co2_g_min > 4.0
    assert plant.gas_undissolved  # no pressure of this line dissolves gas without melt


def test_the_water_pump_head_follows_its_120_s_head_lag_not_the_2_s_metering_lag():
    plant = FoamingPlant(foaming_line(), seed=1)
    plant.write_device("water_pump", {"head_cooling_on": 1.0})
    run_for(plant, 120.0)
    # first order from 20 °C towards the 5 °C cooled head, τ = 120 s: 20 − 15·(1 − e^-1) after 120 s
    expected_c = 20.0 - 15.0 * (1.0 - math.exp(-1.0))
    assert plant.water_head_c == pytest.approx(expected_c, abs=0.3)
