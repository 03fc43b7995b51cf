"""Faults of the foaming plant (simulator.foaming.faults): what it offers on the seed 001
line, and what each fault does to the plant."""

from __future__ import annotations

import pytest

from controller.lines.foaming.definition import foaming_line
from simulator.foaming.plant import FoamingPlant
from simulator.physics import heat_exchange


def running_plant() -> FoamingPlant:
    """Zones and melt at processing temperature, screw and melt pumps running, no gas."""
    plant = FoamingPlant(foaming_line(), seed=2)
    zone = heat_exchange.DEFAULT_BARREL_ZONE
    plant.zones_c = [340.0] * len(plant.zones_c)
    plant.tip_c = 340.0
    plant.die_zones_c = [300.0] * len(plant.die_zones_c)
    plant.die_melt_c = plant.hx_in_c = plant.hx_out_c = plant.coolant_c = 300.0
    u_pct = 100.0 * (340.0 - 20.0) * zone.heat_loss_coefficient_w_k / 2000.0
    plant.write_device("extruder", {f"zone_{i}_heater_output_pct": u_pct for i in range(1, 5)})
    die_pct = 100.0 * (300.0 - 20.0) * zone.heat_loss_coefficient_w_k / 1500.0
    plant.write_device("die", {"gap_setpoint_mm": 1.0, "zone_1_heater_output_pct": die_pct,
                               "zone_2_heater_output_pct": die_pct})
    plant.write_device("heat_exchanger", {"coolant_pump_on": 1.0, "coolant_setpoint_c": 300.0})
    plant.advance_to(1100.0)  # soak: the exchanger's delay line holds hot melt
    plant.write_device("extruder", {"screw_speed_setpoint_rpm": 40.0})
    plant.write_device("melt_pump_1", {"speed_setpoint_rpm": 30.0})
    plant.write_device("melt_pump_2", {"speed_setpoint_rpm": 30.0})
    plant.advance_to(2000.0)
    return plant


def run_for(plant: FoamingPlant, seconds: float) -> None:
    plant.advance_to(plant.env.now + seconds)


def test_the_foaming_plant_offers_its_own_faults_on_the_devices_they_fit():
    faults = FoamingPlant(foaming_line()).faults
    assert [s.kind for s in faults.offered] == ["heater", "die_blocked", "coolant_failed", "head_cooling_failed",
                                                "feed_starved", "sensor"]
    assert faults.devices_for("heater") == ["extruder", "die"]
    assert faults.devices_for("die_blocked") == ["die"]
    assert faults.devices_for("coolant_failed") == ["heat_exchanger"]
    assert faults.devices_for("head_cooling_failed") == ["co2_pump", "water_pump"]
    assert faults.devices_for("feed_starved") == ["extruder"]
    with pytest.raises(ValueError, match="offers: heater, die_blocked"):
        faults.inject("pump", "melt_pump_1")
    with pytest.raises(ValueError, match="applies to die; not to melt_pump_2"):
        faults.inject("die_blocked", "melt_pump_2")


def test_failed_coolant_stops_the_circulation_whatever_the_command_until_cleared():
    plant = running_plant()
    assert plant.read_device("heat_exchanger")["coolant_flow_l_min"] == pytest.approx(20.0, abs=0.1)
    plant.faults.inject("coolant_failed", "heat_exchanger")
    run_for(plant, 60.0)
    reading = plant.read_device("heat_exchanger")
    assert reading["coolant_flow_l_min"] == pytest.approx(0.0, abs=1e-6)
    assert reading["coolant_pump_on"] == 1.0  # the command stands; the pump does not deliver
    plant.faults.clear("heat_exchanger")
    run_for(plant, 60.0)
    assert plant.read_device("heat_exchanger")["coolant_flow_l_min"] == pytest.approx(20.0, abs=0.1)


def test_a_starved_feed_conveys_no_melt_and_the_screw_pressure_falls():
    plant = running_plant()
    before = plant.p1_bar
    assert plant.q_ext_m3_s > 0.0
    plant.faults.starve_feed()
    run_for(plant, 120.0)
    assert plant.q_ext_m3_s == 0.0
    assert plant.p1_bar < 0.1 * before + 0.1
    assert plant.faults.active() == ["feed starved"]


def test_a_failed_extruder_heater_lets_the_zones_cool_while_the_die_keeps_its_heat():
    plant = running_plant()
    plant.faults.inject("heater", "extruder")
    run_for(plant, 1800.0)
    assert max(plant.zones_c) < 340.0 - 50.0
    assert min(plant.die_zones_c) == pytest.approx(300.0, abs=2.0)


def test_failed_head_cooling_heats_the_water_pump_head():
    plant = running_plant()
    plant.write_device("water_pump", {"head_cooling_on": 1.0})
    run_for(plant, 600.0)
    assert plant.read_device("water_pump")["head_temperature_c"] == pytest.approx(5.0, abs=1.0)
    plant.faults.inject("head_cooling_failed", "water_pump")
    run_for(plant, 600.0)
    assert plant.read_device("water_pump")["head_temperature_c"] == pytest.approx(45.0, abs=1.0)
    assert plant.faults.active() == ["water_pump head cooling failed"]


def test_clearing_a_device_clears_only_its_own_faults():
    plant = running_plant()
    plant.faults.block_die()
    plant.faults.fail_heater("die")
    plant.faults.fail_coolant()
    assert plant.faults.active() == ["die blocked", "coolant failed", "die heater failed"]
    plant.faults.clear("die")
    assert plant.faults.active() == ["coolant failed"]
    plant.faults.clear_all()
    assert plant.faults.active() == []


def test_a_frozen_melt_pressure_sticks_while_the_blocked_die_raises_the_real_one():
    plant = running_plant()
    served = plant.read_device("die")["melt_pressure_bar"]
    plant.faults.inject("sensor", "die", "melt_pressure_bar")
    plant.faults.inject("die_blocked", "die")
    run_for(plant, 300.0)
    assert plant.p3_bar > 3.0 * served
    assert plant.read_device("die")["melt_pressure_bar"] == served
    plant.faults.clear("die", "melt_pressure_bar")
    span_bar = plant.line.device("die").profile.tag("melt_pressure_bar").high
    assert plant.read_device("die")["melt_pressure_bar"] == pytest.approx(min(plant.p3_bar, span_bar), abs=2.0)
    assert plant.faults.active() == ["die blocked"]
