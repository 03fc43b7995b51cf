import pytest

from controller.lines.casting.definition import casting_line
from simulator.casting.plant import CastingPlant


def plant():
    return CastingPlant(casting_line(2), seed=5)


def test_frozen_sensor_stays_at_its_last_value_until_cleared():
    p = plant()
    p.write_device("quench_bath", {"heater_output_pct": 100.0})
    p.advance_to(60.0)
    stuck = p.read_device("quench_bath")["temperature_c"]
    p.faults.freeze_sensor("quench_bath", "temperature_c")
    p.advance_to(7200.0)
    assert p.read_device("quench_bath")["temperature_c"] == stuck
    p.faults.clear("quench_bath", "temperature_c")
    assert p.read_device("quench_bath")["temperature_c"] > stuck + 5.0
    with pytest.raises(ValueError):
        p.faults.freeze_sensor("quench_bath", "heater_output_pct")


def test_failed_heater_delivers_nothing_and_the_current_monitor_trips():
    p = plant()
    p.faults.fail_heater("quench_bath")
    assert p.read_device("quench_bath")["heater_fault"] == 0.0  # no output commanded
    p.write_device("quench_bath", {"heater_output_pct": 100.0})
    p.advance_to(7200.0)
    reading = p.read_device("quench_bath")
    assert reading["heater_fault"] == 1.0
    assert reading["temperature_c"] < 20.5
    p.faults.clear_all()
    assert p.read_device("quench_bath")["heater_fault"] == 0.0
    p.advance_to(14400.0)
    assert p.read_device("quench_bath")["temperature_c"] > 30.0


def test_failed_dryer_and_jacket_heaters():
    p = plant()
    p.faults.fail_heater("dryer")
    p.faults.fail_heater("dope_vessel_1")
    p.write_device("dryer", {"heater_output_pct": 100.0, "fan_on": 1.0})
    p.write_device("dope_vessel_1", {"jacket_output_pct": 100.0})
    p.advance_to(1800.0)
    assert p.read_device("dryer")["air_temperature_c"] < 21.0
    assert p.read_device("dope_vessel_1")["jacket_temperature_c"] < 21.0
    with pytest.raises(ValueError):
        p.faults.fail_heater("support_belt")


def test_stalled_pump():
    p = plant()
    p.write_device("dope_pump_1", {"speed_setpoint_rpm": 50.0})
    p.advance_to(30.0)
    assert p.read_device("dope_pump_1")["running"] == 1.0
    p.faults.stall_pump("dope_pump_1")
    p.advance_to(31.0)
    reading = p.read_device("dope_pump_1")
    assert reading["speed_rpm"] == pytest.approx(0.0, abs=0.3)
    assert reading["running"] == 0.0 and reading["flow_ml_min"] == 0.0
    assert reading["speed_setpoint_rpm"] == 50.0
    p.faults.clear("dope_pump_1")
    p.advance_to(60.0)
    assert p.read_device("dope_pump_1")["speed_rpm"] == pytest.approx(50.0, abs=0.5)


def test_stopped_belt():
    p = plant()
    p.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    p.advance_to(60.0)
    p.faults.stop_belt()
    p.advance_to(61.0)
    length = p.read_device("support_belt")["length_m"]
    p.advance_to(600.0)
    reading = p.read_device("support_belt")
    assert reading["line_speed_m_min"] == pytest.approx(0.0, abs=0.03)
    assert reading["running"] == 0.0 and reading["length_m"] == length
    p.faults.clear("support_belt")
    p.advance_to(660.0)
    assert p.read_device("support_belt")["running"] == 1.0
    assert p.faults.active() == []


def test_the_casting_plant_offers_heater_pump_belt_and_sensor_faults():
    faults = plant().faults
    assert [s.kind for s in faults.offered] == ["heater", "pump", "trace_heater", "belt", "sensor"]
    assert faults.devices_for("heater") == ["dope_vessel_1", "dope_vessel_2", "quench_bath", "wash_bath", "dryer"]
    assert faults.devices_for("pump") == ["dope_pump_1", "dope_pump_2"]
    assert faults.devices_for("belt") == ["support_belt"]
    with pytest.raises(ValueError, match="offers: heater, pump, trace_heater, belt, sensor"):
        faults.inject("die_blocked", "support_belt")
    with pytest.raises(ValueError, match="applies to dope_pump_1, dope_pump_2; not to support_belt"):
        faults.inject("pump", "support_belt")


def test_faults_injected_by_kind_act_as_the_named_operations():
    p = plant()
    p.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    p.write_device("dope_pump_2", {"speed_setpoint_rpm": 50.0})
    p.advance_to(60.0)
    p.faults.inject("belt", "support_belt")
    p.faults.inject("pump", "dope_pump_2")
    p.advance_to(120.0)
    assert p.read_device("support_belt")["running"] == 0.0
    assert p.read_device("dope_pump_2")["running"] == 0.0
    assert p.faults.active() == ["dope_pump_2 stalled", "support_belt stopped"]
    p.faults.clear()
    p.advance_to(180.0)
    assert p.read_device("support_belt")["running"] == 1.0 and p.read_device("dope_pump_2")["running"] == 1.0
