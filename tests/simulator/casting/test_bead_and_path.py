"""The knife's bead, the dope balance and the dope path temperatures of the casting plant,
checked by hand from the plant's readings (not with the model's own functions)."""


import pytest

from controller.lines.casting.definition import casting_line
from simulator.casting.plant import CastingPlant, DopeCharge

EX_VIII_CHARGE = DopeCharge("polysulfone", "DMF", "2-methyl-2-butanol", 9.5 / 0.845, 100.0, 40.0)
WIDTH_M = 0.3  # casting_line's knife
BEAD_LENGTH_M = 0.020  # casting_line's bead pool behind the knife
PATH_HEATERS = {"dope_pump_1": {"head_heater_output_pct": 45.0, "filter_heater_output_pct": 40.0,
                                "line_heater_output_pct": 70.0},
                "casting_knife": {"heater_output_pct": 15.0}, "support_belt": {"heater_output_pct": 30.0}}


def titrated_plant(*, quiet: bool = False) -> CastingPlant:
    """A plant with its dope titrated; ``quiet``: without sensor noise (a hand balance reads
    true values)."""
    plant = CastingPlant(casting_line(1), seed=0, noise_scale=0.0 if quiet else 1.0)
    plant.charge_dope("dope_vessel_1", EX_VIII_CHARGE)
    plant.write_device("dope_vessel_1", {"agitator_speed_setpoint_rpm": 60.0, "dosing_flow_setpoint_ml_min": 1000.0,
                                         "jacket_output_pct": 10.0})
    dose_ml = 100.0 * 0.155 / 0.845 / 0.805 * 1000.0  # Example VIII's 15.5 % of 2-methyl-2-butanol
    plant.advance_to(dose_ml / 1000.0 * 60.0)
    plant.write_device("dope_vessel_1", {"dosing_flow_setpoint_ml_min": 0.0})
    for device, commands in PATH_HEATERS.items():
        plant.write_device(device, commands)
    return plant


def test_dope_balance_pump_to_film_bead_and_overflow_closes_by_hand():
    plant = titrated_plant(quiet=True)
    plant.write_device("casting_knife", {"gap_1_setpoint_um": 380.0})
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 52.0})
    t0 = 1800.0
    plant.advance_to(t0)
    bead_start_cm3 = plant.read_device("casting_knife")["bead_1_level_mm"] / 1000.0 * WIDTH_M * BEAD_LENGTH_M * 1e6
    pumped = film = overflow = 0.0  # cm3, integrated from the readings at 1 s
    overflowed = False
    for second in range(1, 1201):
        if second == 300:  # too much dope for the gap: the bead fills and runs over the edges
            plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 75.0})
        plant.advance_to(t0 + second)
        pump = plant.read_device("dope_pump_1")
        knife = plant.read_device("casting_knife")
        belt = plant.read_device("support_belt")
        pumped += pump["flow_ml_min"] / 60.0
        # film: W·h·U; m × um × m/min = cm3/min
        film += WIDTH_M * knife["wet_thickness_um"] * belt["line_speed_m_min"] / 60.0
        overflow += knife["overflow_ml_min"] / 60.0
        overflowed = overflowed or knife["overflow_ml_min"] > 1.0
    bead_end_cm3 = knife["bead_1_level_mm"] / 1000.0 * WIDTH_M * BEAD_LENGTH_M * 1e6
    assert overflowed and overflow > 50.0  # the excess is tracked, not lost
    out = film + overflow + (bead_end_cm3 - bead_start_cm3)
    closure = abs(pumped - out) / pumped
    print(f"pumped {pumped:.1f} cm3 = film {film:.1f} + overflow {overflow:.1f} + bead change "
          f"{bead_end_cm3 - bead_start_cm3:.1f}; closure {100 * closure:.4f} %")
    assert closure < 0.005


def test_at_steady_state_the_film_is_the_metered_one_and_the_bead_holds_it():
    plant = titrated_plant(quiet=True)
    plant.write_device("casting_knife", {"gap_1_setpoint_um": 380.0})
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 52.0})
    plant.advance_to(6000.0)
    flow = plant.read_device("dope_pump_1")["flow_ml_min"]
    knife = plant.read_device("casting_knife")
    assert knife["wet_thickness_um"] == pytest.approx(flow / (WIDTH_M * 2.0), rel=0.002)  # h = Q/(W·U)
    assert 1.0 < knife["bead_1_level_mm"] < 30.0  # a bead, below its edges
    assert knife["overflow_ml_min"] == 0.0


def test_pump_and_belt_reach_zero_and_the_gauge_sees_no_film():
    plant = titrated_plant()
    plant.write_device("casting_knife", {"gap_1_setpoint_um": 380.0})
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 52.0})
    plant.advance_to(1700.0)
    plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 0.0})
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 0.0})
    plant.advance_to(1760.0)
    assert plant.read_device("dope_pump_1")["running"] == 0.0
    assert plant.read_device("support_belt")["running"] == 0.0
    pump = plant._devices["dope_pump_1"]
    belt = plant._devices["support_belt"]
    assert pump.speed_rpm == 0.0 and pump.flow_cm3_min == 0.0  # exactly, not 1e-32
    assert belt.speed_m_min == 0.0
    assert plant._devices["casting_knife"].wet_thickness_um == 0.0


def test_failed_feed_line_trace_heater_cools_only_the_line():
    plant = titrated_plant(quiet=True)
    plant.advance_to(3600.0)
    before = plant.read_device("dope_pump_1")
    plant.faults.fail_trace_heater("dope_pump_1")
    assert "dope_pump_1 feed-line trace heater failed" in plant.faults.active()
    plant.advance_to(5400.0)
    after = plant.read_device("dope_pump_1")
    # standing dope: the line loses ~3 W/K to the 20 degC hall with no heat in
    assert after["line_temperature_c"] < before["line_temperature_c"] - 10.0
    assert after["line_temperature_c"] == pytest.approx(20.0, abs=1.0)
    assert after["filter_temperature_c"] >= before["filter_temperature_c"] - 1.0  # its heater still works
    assert plant.knife_dope_state()[1]["past_spinodal"] == 1.0  # Example VIII at ~20 degC (seed 000)
