"""The foaming line's recipe-dependent interlocks and the gas soft sensor they read."""


import pytest
from paths import RECIPES

from controller.lines import builtin_line, compile_for_line
from controller.lines.foaming.control import GAS_FLOW_SETPOINTS, foaming_control
from controller.lines.foaming.definition import foaming_line
from controller.lines.foaming.soft_sensors import (
    DIE_FREEZE_ALARM_ID,
    GAS_PRESSURE_ALARM_ID,
    FoamingGasSensor,
    foaming_interlocks,
)
from controller.recipe.conditions import compile_condition
from simulator.physics import gas

RECIPES = RECIPES


def recipe(name: str):  # type: ignore[no-untyped-def]
    line, control = builtin_line("foaming")
    return compile_for_line((RECIPES / name).read_text(encoding="utf-8"), line, control)


def interlock(name: str, alarm_id: str):  # type: ignore[no-untyped-def]
    alarm = next(a for a in foaming_interlocks(recipe(name)) if a.alarm_id == alarm_id)
    condition = compile_condition(alarm.condition, known_addresses=frozenset(PRODUCING), parameters={})
    return alarm, condition


PRODUCING = {
    "co2_pump.running": 1.0, "water_pump.running": 1.0, "melt_pump_1.running": 1.0, "melt_pump_2.running": 1.0,
    "melt_pump_1.inlet_pressure_bar": 220.0, "extruder.gas_min_pressure_bar": 175.0,
    "melt_pump_2.inlet_pressure_bar": 180.0, "heat_exchanger.single_phase_min_bar": 110.0,
    "die.melt_temperature_c": 285.0,
}


def test_gas_interlock_closes_only_the_gas_flows():
    alarm, condition = interlock("foaming-psu-co2-water.yaml", GAS_PRESSURE_ALARM_ID)
    assert alarm.force_safe == GAS_FLOW_SETPOINTS
    assert not condition.evaluate(PRODUCING)


@pytest.mark.parametrize("change", [
    {"melt_pump_1.inlet_pressure_bar": 170.0},  # injection below factor x P_min
    {"melt_pump_2.inlet_pressure_bar": 105.0},  # gas comes out of solution in the mixing stage
    {"melt_pump_1.running": 0.0},
    {"melt_pump_2.running": 0.0},
], ids=["injection", "mixing_stage", "pump_1", "pump_2"])
def test_gas_interlock_trips_on_each_of_its_conditions_while_gas_flows(change):
    _, condition = interlock("foaming-psu-co2-water.yaml", GAS_PRESSURE_ALARM_ID)
    assert condition.evaluate(PRODUCING | change)
    assert not condition.evaluate(PRODUCING | change | {"co2_pump.running": 0.0, "water_pump.running": 0.0})


@pytest.mark.parametrize(("name", "foaming_c"), [("foaming-psu-co2-water.yaml", 285.0),
                                                 ("foaming-pes-co2-water.yaml", 295.0)])
def test_die_freeze_limit_is_15_k_under_the_recipes_foaming_temperature(name, foaming_c):
    alarm, condition = interlock(name, DIE_FREEZE_ALARM_ID)
    assert alarm.action == "hold"
    assert not condition.evaluate(PRODUCING | {"die.melt_temperature_c": foaming_c - 14.0})
    assert condition.evaluate(PRODUCING | {"die.melt_temperature_c": foaming_c - 16.0})
    assert not condition.evaluate(PRODUCING | {"die.melt_temperature_c": 20.0, "melt_pump_2.running": 0.0})


def test_gas_sensor_computes_the_loading_and_the_single_phase_minimum_at_both_stages():
    sensor = FoamingGasSensor(polymer="PSU", displacement_cm3_rev=10.0, pressure_factor=1.3, die_pressure_factor=1.3)
    image = {"melt_pump_1.speed_rpm": 30.0, "co2_pump.mass_flow_g_min": 3.4, "water_pump.mass_flow_g_min": 0.85,
             "extruder.melt_temperature_c": 340.0, "heat_exchanger.melt_outlet_temperature_c": 285.0}
    sensor.update(image, 1.0)
    # no pressure rise across melt pump 1 in this image: its slip model gives no slip (η_v = 1;
    # was the 0.98 constant before issue 12), 1150 kg/m³ PSU melt
    polymer_kg_h = 10.0e-6 * 30.0 * 60.0 * 1.0 * 1150.0
    assert image["melt_pump_1.throughput_kg_h"] == pytest.approx(polymer_kg_h)
    total_kg_h = polymer_kg_h + (3.4 + 0.85) * 0.06
    w = (3.4 * 0.06 / total_kg_h, 0.85 * 0.06 / total_kg_h)
    assert image["extruder.co2_wt_pct"] == pytest.approx(100.0 * w[0])
    henry = (gas.CO2_IN_POLYSULFONE, gas.WATER_IN_POLYSULFONE)
    assert image["extruder.single_phase_min_bar"] == pytest.approx(
        gas.minimum_single_phase_pressure_bar(w, henry, 340.0 + 273.15))
    assert image["extruder.gas_min_pressure_bar"] == pytest.approx(1.3 * image["extruder.single_phase_min_bar"])
    assert image["heat_exchanger.single_phase_min_bar"] == pytest.approx(
        gas.minimum_single_phase_pressure_bar(w, henry, 285.0 + 273.15))


def test_melt_overpressure_trip_is_configurable_within_the_transducer_range():
    line = foaming_line()
    control = foaming_control(line, melt_overpressure_trip_bar=300.0)
    alarm = next(a for a in control.alarms if a.alarm_id == "MELT_OVERPRESSURE")
    pressures = ("extruder.melt_pressure_bar", "melt_pump_1.outlet_pressure_bar",
                 "melt_pump_2.outlet_pressure_bar", "die.melt_pressure_bar")
    condition = compile_condition(alarm.condition, known_addresses=frozenset(pressures), parameters={})
    normal = dict.fromkeys(pressures, 250.0)
    assert not condition.evaluate(normal)
    assert condition.evaluate(normal | {"die.melt_pressure_bar": 301.0})
    assert alarm.action == "abort" and alarm.delay_s == 0.0
    for bad_bar in (0.0, 500.0, 800.0):  # the transducers span 0-500 bar
        with pytest.raises(ValueError, match="transducers"):
            foaming_control(line, melt_overpressure_trip_bar=bad_bar)
