import pytest

from controller.lines.casting.definition import casting_line
from simulator.casting.plant import CastingPlant, DopeCharge
from simulator.physics import bath, film

EX_VIII_CHARGE = DopeCharge("polysulfone", "DMF", "2-methyl-2-butanol", 9.5 / 0.845, 100.0, 40.0)


def scripted_run(seed: int) -> list[dict[str, float]]:
    plant = CastingPlant(casting_line(2), seed=seed)
    plant.charge_dope("dope_vessel_1", EX_VIII_CHARGE)
    plant.write_device("dope_vessel_1", {"agitator_speed_setpoint_rpm": 60.0, "jacket_output_pct": 30.0,
                                         "dosing_flow_setpoint_ml_min": 50.0})
    plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 40.0})
    plant.write_device("casting_knife", {"gap_1_setpoint_um": 400.0})
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    plant.write_device("quench_bath", {"heater_output_pct": 50.0, "makeup_water_flow_setpoint_l_min": 2.0})
    readings = []
    for t in range(10, 610, 10):
        plant.advance_to(float(t))
        readings += [dict(plant.read_device(d.name)) for d in plant.line.devices]
    return readings


def test_deterministic_for_a_seed():
    assert scripted_run(7) == scripted_run(7)


def test_different_seeds_differ_only_by_noise():
    a, b = scripted_run(1), scripted_run(2)
    assert a != b
    for ra, rb in zip(a, b):
        for tag, value in ra.items():
            assert rb[tag] == pytest.approx(value, abs=max(0.02 * abs(value), 5.0)), tag


def test_every_profile_tag_is_read():
    plant = CastingPlant(casting_line(3), seed=0)
    plant.advance_to(5.0)
    for spec in plant.line.devices:
        reading = plant.read_device(spec.name)
        assert set(reading) == {t.name for t in spec.profile.tags}, spec.name
        for tag in spec.profile.tags:
            assert tag.low <= reading[tag.name] <= tag.high


def test_setpoint_readback_and_write_checks():
    plant = CastingPlant(casting_line(2), seed=0)
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 3.5})
    assert plant.read_device("support_belt")["line_speed_setpoint_m_min"] == 3.5
    with pytest.raises(ValueError):
        plant.write_device("support_belt", {"line_speed_setpoint_m_min": 99.0})
    with pytest.raises(ValueError):
        plant.write_device("support_belt", {"line_speed_m_min": 1.0})
    with pytest.raises(KeyError):
        plant.read_device("no_such_device")


def test_initial_state_is_ambient_and_stopped():
    plant = CastingPlant(casting_line(2), seed=0, parameters=None)
    plant.advance_to(1.0)
    p = plant.read_device("dope_pump_1")
    assert p["running"] == 0.0 and p["flow_ml_min"] == 0.0
    assert plant.read_device("quench_bath")["temperature_c"] == pytest.approx(20.0, abs=0.3)
    assert plant.read_device("quench_bath")["level_pct"] == pytest.approx(90.0, abs=0.5)


def test_heated_bath_settles_at_the_analytic_steady_state():
    plant = CastingPlant(casting_line(2), seed=0, step_s=60.0)
    p = plant.parameters
    plant.write_device("quench_bath", {"heater_output_pct": 10.0})
    power_w = 12000.0 * 0.10
    # steady state by bisection of P - UA (T - Ta) - evaporation(T) = 0, Carrier/Magnus by hand
    def balance(t):
        psat = lambda c: 0.61094 * 2.718281828459045 ** (17.625 * c / (c + 243.04))
        evaporation_w = p.bath_surface_m2 * (psat(t) - 0.5 * psat(20.0)) * 0.089 * 1000.0
        return power_w - p.bath_ua_w_k * (t - 20.0) - evaporation_w
    low, high = 0.0, 100.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if balance(mid) > 0 else (low, mid)
    expected = 0.5 * (low + high)
    plant.advance_to(30 * 86400.0)
    readings = [plant.read_device("quench_bath")["temperature_c"] for _ in range(50)]
    assert sum(readings) / len(readings) == pytest.approx(expected, abs=0.05)
    assert abs(bath.bath_steady_state_c(power_w, p.bath_ua_w_k, 20.0, p.bath_surface_m2, 0.5) - expected) < 1e-3


def test_pump_delivers_d_n_eta_v_and_vessel_empties():
    plant = CastingPlant(casting_line(2), seed=0)
    p = plant.parameters
    plant.charge_dope("dope_vessel_2", DopeCharge("polysulfone", "DMF", None, 10.0, 2.0, 20.0))
    plant.write_device("casting_knife", {"gap_2_setpoint_um": 400.0})
    plant.write_device("dope_pump_2", {"speed_setpoint_rpm": 50.0})
    plant.advance_to(30.0)
    # eta_v by hand: slip from the rated point, resistance of slot + pipe + filter
    slip = (1 - 0.985) * 3.0 * p.pump_rated_speed_rpm / 6.0e7 * p.pump_rated_viscosity_pa_s / p.pump_rated_pressure_rise_pa
    k = (12 * p.slot_land_length_m / (0.3 * (400e-6) ** 3)
         + 128 * p.feed_line_length_m / (3.141592653589793 * p.feed_line_diameter_m ** 4)
         + p.filter_resistance_per_m3)
    eta_v = 1.0 / (1.0 + slip * k)
    assert 0.97 < eta_v < 0.9995
    flows = [plant.read_device("dope_pump_2")["flow_ml_min"] for _ in range(100)]
    assert sum(flows) / 100 == pytest.approx(3.0 * 50.0 * eta_v, rel=2e-3)
    # 2 kg at ~150 cm3/min runs out in ~14 min; the pump then starves
    plant.advance_to(1800.0)
    reading = plant.read_device("dope_pump_2")
    assert reading["flow_ml_min"] == 0.0 and reading["running"] == 1.0
    assert plant.read_device("dope_vessel_2")["mass_kg"] == pytest.approx(0.0, abs=0.1)


def test_belt_length_integrates_speed_and_knife_gap_moves_at_finite_rate():
    plant = CastingPlant(casting_line(1), seed=0)
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    plant.write_device("casting_knife", {"gap_1_setpoint_um": 400.0})
    plant.advance_to(2.0)
    assert plant.read_device("casting_knife")["gap_1_um"] < 200.0  # still moving
    plant.advance_to(600.0)
    belt = plant.read_device("support_belt")
    # 10 min at 2 m/min minus the ramp lag (tau 3 s: 2 m/min * 3 s = 0.1 m)
    assert belt["length_m"] == pytest.approx(20.0 - 0.1, abs=0.02)
    assert plant.read_device("casting_knife")["gap_1_um"] == pytest.approx(400.0, abs=2.0)


def test_titration_raises_absorbance_and_wet_film_follows_mass_balance():
    plant = CastingPlant(casting_line(1), seed=3)
    plant.charge_dope("dope_vessel_1", EX_VIII_CHARGE)
    plant.write_device("dope_vessel_1", {"agitator_speed_setpoint_rpm": 60.0})
    plant.advance_to(10.0)
    assert plant.read_device("dope_vessel_1")["absorbance"] == pytest.approx(0.0, abs=0.01)
    # dose 15.5 kg / 0.805 kg/L of 2-methyl-2-butanol: Example VIII's composition
    plant.write_device("dope_vessel_1", {"dosing_flow_setpoint_ml_min": 1000.0})
    dose_ml = 100.0 * 0.155 / 0.845 / 0.805 * 1000.0
    plant.advance_to(10.0 + dose_ml / 1000.0 * 60.0)
    plant.write_device("dope_vessel_1", {"dosing_flow_setpoint_ml_min": 0.0})
    plant.advance_to(1800.0)
    state = plant.dope_state("dope_vessel_1")
    assert state["non_solvent_wt_pct"] == pytest.approx(15.5, abs=0.1)
    assert plant.read_device("dope_vessel_1")["dosed_total_ml"] == pytest.approx(dose_ml, rel=0.01)
    assert plant.read_device("dope_vessel_1")["absorbance"] > 0.3  # turbid: past the binodal
    # casting at 2 m/min with a wide gap: the pump meters the film, h = Q/(W U)
    plant.write_device("casting_knife", {"gap_1_setpoint_um": 1000.0})
    plant.write_device("support_belt", {"line_speed_setpoint_m_min": 2.0})
    plant.write_device("dope_pump_1", {"speed_setpoint_rpm": 50.0})
    plant.advance_to(1900.0)
    flow = plant.read_device("dope_pump_1")["flow_ml_min"]
    thickness = [plant.read_device("casting_knife")["wet_thickness_um"] for _ in range(50)]
    assert sum(thickness) / 50 == pytest.approx(film.layer_wet_thickness_um(flow, 0.3, 2.0), rel=0.01)
