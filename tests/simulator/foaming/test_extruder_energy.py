"""The extruder's screw model in the foaming plant (issue 12, item 1): the melt temperature
follows the energy balance, so it rises with screw speed at constant zone setpoints."""

from __future__ import annotations

from controller.lines.foaming.definition import foaming_line
from simulator.foaming.plant import FoamingPlant
from simulator.physics import heat_exchange

SETPOINT_C = 340.0


def run_for(plant: FoamingPlant, seconds: float) -> None:
    plant.advance_to(plant.env.now + seconds)


def hot_plant() -> FoamingPlant:
    """Barrel at 340 °C with its heaters at the no-flow output, die and exchanger hot and open."""
    plant = FoamingPlant(foaming_line(), seed=1, polymer="PSU")
    zone = heat_exchange.DEFAULT_BARREL_ZONE
    u_pct = 100.0 * (SETPOINT_C - 20.0) * zone.heat_loss_coefficient_w_k / 2000.0
    plant.zones_c = [SETPOINT_C] * len(plant.zones_c)
    plant.tip_c = SETPOINT_C
    plant.die_zones_c = [300.0] * len(plant.die_zones_c)
    plant.die_melt_c = plant.hx_in_c = plant.hx_out_c = plant.coolant_c = 300.0
    plant.write_device("extruder", {f"zone_{i}_heater_output_pct": u_pct for i in range(1, 5)})
    die_pct = 100.0 * (300.0 - 20.0) * zone.heat_loss_coefficient_w_k / 1500.0
    plant.write_device("die", {"gap_setpoint_mm": 1.0, "zone_1_heater_output_pct": die_pct,
                               "zone_2_heater_output_pct": die_pct})
    plant.write_device("heat_exchanger", {"coolant_pump_on": 1.0, "coolant_setpoint_c": 300.0})
    plant.advance_to(600.0)
    return plant


def hold_zones_and_run(plant: FoamingPlant, seconds: float, gain_pct_k: float = 20.0) -> None:
    """Proportional zone control around each zone's last output: the zones stay at 340 °C."""
    outputs = {i: plant.commands["extruder"][f"zone_{i}_heater_output_pct"] for i in range(1, 5)}
    for _ in range(int(seconds / 5.0)):
        for i in range(1, 5):
            u = outputs[i] + gain_pct_k * (SETPOINT_C - plant.zones_c[i - 1])
            plant.write_device("extruder", {f"zone_{i}_heater_output_pct": min(max(u, 0.0), 100.0)})
        run_for(plant, 5.0)


def steady_at(screw_rpm: float) -> FoamingPlant:
    plant = hot_plant()
    plant.write_device("extruder", {"screw_speed_setpoint_rpm": screw_rpm})
    plant.write_device("melt_pump_1", {"speed_setpoint_rpm": 30.0})
    plant.write_device("melt_pump_2", {"speed_setpoint_rpm": 30.0})
    hold_zones_and_run(plant, 1500.0)
    return plant


def test_melt_temperature_rises_with_screw_speed_at_constant_zone_setpoints():
    slow, fast = steady_at(40.0), steady_at(70.0)
    for plant in (slow, fast):
        assert all(abs(t - SETPOINT_C) < 1.0 for t in plant.zones_c)
    # the same throughput (melt pump 1), the faster screw dissipates more and pushes harder
    assert fast.p1_bar > slow.p1_bar + 50.0
    assert fast.metering.dissipation_w > 1.3 * slow.metering.dissipation_w
    assert slow.tip_c > SETPOINT_C + 2.0  # shear heat: the melt leaves hotter than the barrel
    assert fast.tip_c > slow.tip_c + 2.0
    assert fast.shaft_power_w > slow.shaft_power_w
    # the metering zone's barrel takes heat back from the sheared melt (its heater backs off)
    assert fast.zone_to_polymer_w[-1] < 0.0
