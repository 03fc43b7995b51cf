"""The simulated-plant skeleton (simulator.plant) on a two-device test plant whose true
values are simple enough to know by hand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from drivers.definition import DeviceSpec, LineDefinition
from drivers.profiles import DeviceProfile, TagDirectionError, TagLimitError, measured, setpoint, status
from simulator.plant import SimulatedPlant

KETTLE = DeviceProfile(
    kind="test_kettle", description="Heated kettle", opcua_type="TestKettleType",
    tags=(
        measured("temperature_c", "degC", 0.0, 100.0, "Temperature", "T", noise=1.5),  # ±3 σ: σ 0.5 K
        measured("pressure_bar", "bar", -10.0, 10.0, "Gauge pressure", "P", noise=0.6),  # σ 0.2 bar
        measured("level_pct", "percent", 0.0, 100.0, "Level", "L"),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater output", "H", safe_value=0.0),
    ),
)
PUMP = DeviceProfile(
    kind="test_pump", description="Pump", opcua_type="TestPumpType",
    tags=(
        setpoint("speed_setpoint_rpm", "rpm", 0.0, 60.0, "Speed setpoint", "S", safe_value=5.0),
        measured("speed_rpm", "rpm", 0.0, 60.0, "Speed", "N", noise_of_reading=0.03),  # σ 1 % of reading
        status("running", "Turning", "R"),
    ),
)


def kettle_line() -> LineDefinition:
    return LineDefinition(kind="test", name="test-1",
                          devices=(DeviceSpec("kettle", KETTLE), DeviceSpec("pump", PUMP)))


class KettlePlant(SimulatedPlant):
    """Kettle: dT/dt = 1 K/s x heater output; pressure 0; level 50 %. Pump: speed = setpoint.
    Its sensors' noise is what the profiles above declare."""

    def __init__(self, seed: int = 0, step_s: float = 1.0, noise_scale: float = 1.0) -> None:
        super().__init__(kettle_line(), seed=seed, step_s=step_s, noise_scale=noise_scale)
        self.temperature_c = 20.0
        self.steps = 0

    def _step(self, dt: float) -> None:
        self.temperature_c += dt * self.commands["kettle"]["heater_output_pct"] / 100.0
        self.steps += 1

    def _truth(self, device: str) -> Mapping[str, float]:
        if device == "kettle":
            return {"temperature_c": self.temperature_c, "pressure_bar": 0.0, "level_pct": 50.0}
        speed = self.commands["pump"]["speed_setpoint_rpm"]
        return {"speed_rpm": speed, "running": 1.0 if speed > 0.0 else 0.0}


class ExactZeroKettlePlant(KettlePlant):
    NOISE_ON_ZERO: ClassVar[bool] = False


def scripted_readings(plant: KettlePlant) -> list[dict[str, float]]:
    plant.write_device("kettle", {"heater_output_pct": 30.0})
    plant.write_device("pump", {"speed_setpoint_rpm": 40.0})
    readings = []
    for t in range(1, 30):
        plant.advance_to(float(t))
        readings += [dict(plant.read_device("kettle")), dict(plant.read_device("pump"))]
    return readings


def test_the_same_seed_and_calls_give_the_same_readings():
    assert scripted_readings(KettlePlant(seed=4)) == scripted_readings(KettlePlant(seed=4))


def test_two_seeds_differ_only_by_noise_of_the_declared_size():
    a, b = scripted_readings(KettlePlant(seed=1)), scripted_readings(KettlePlant(seed=2))
    assert a != b
    for ra, rb in zip(a, b, strict=True):
        assert ra.keys() == rb.keys()
        for tag, value in ra.items():
            sigma = {"temperature_c": 0.5, "pressure_bar": 0.2, "speed_rpm": 0.01 * 40.0}.get(tag, 0.0)
            assert rb[tag] == pytest.approx(value, abs=2 * 6 * sigma), tag  # two readings, each within 6 sigma
            if sigma == 0.0:
                assert rb[tag] == value, tag  # exact tags (level, status, readbacks) carry no noise


def test_the_profiles_declared_band_holds_99_7_percent_of_a_steady_reading_and_scale_0_is_exact():
    plant = KettlePlant(seed=6)
    temperatures = [plant.read_device("kettle")["temperature_c"] for _ in range(6000)]
    inside = sum(abs(t - 20.0) <= 1.5 for t in temperatures) / len(temperatures)
    assert inside == pytest.approx(0.9973, abs=0.003)  # the band is ±3 σ
    quiet = KettlePlant(seed=6, noise_scale=0.0)
    assert {quiet.read_device("kettle")["temperature_c"] for _ in range(10)} == {20.0}


def test_noise_never_feeds_back_into_the_state():
    a, b = KettlePlant(seed=1), KettlePlant(seed=2)
    scripted_readings(a)
    scripted_readings(b)
    assert a.temperature_c == b.temperature_c == pytest.approx(20.0 + 29 * 0.3)


def test_noise_of_reading_scales_with_the_true_value():
    plant = KettlePlant(seed=3)
    for speed_rpm in (10.0, 50.0):
        plant.write_device("pump", {"speed_setpoint_rpm": speed_rpm})
        speeds = [plant.read_device("pump")["speed_rpm"] for _ in range(4000)]
        mean = sum(speeds) / len(speeds)
        sigma = (sum((s - mean) ** 2 for s in speeds) / len(speeds)) ** 0.5
        assert mean == pytest.approx(speed_rpm, rel=1e-3)
        assert sigma == pytest.approx(0.01 * speed_rpm, rel=0.1)


def test_an_exact_zero_reads_zero_on_a_plant_that_skips_noise_on_zero():
    noisy, exact = KettlePlant(seed=5), ExactZeroKettlePlant(seed=5)
    assert any(noisy.read_device("kettle")["pressure_bar"] != 0.0 for _ in range(10))
    assert all(exact.read_device("kettle")["pressure_bar"] == 0.0 for _ in range(10))
    # a skipped zero draws no noise: the next noisy reading takes the draw the zero did not
    noisy_first = KettlePlant(seed=5).read_device("kettle")
    second_draw = noisy_first["pressure_bar"] / 0.2  # temperature took the first draw, pressure the second
    plant = ExactZeroKettlePlant(seed=5)
    first = plant.read_device("kettle")
    second = plant.read_device("kettle")
    assert first["temperature_c"] == noisy_first["temperature_c"]
    assert second["temperature_c"] - 20.0 == pytest.approx(0.5 * second_draw, rel=1e-9)


def test_readings_are_clamped_to_the_tag_limits():
    plant = KettlePlant(seed=0)
    plant.write_device("kettle", {"heater_output_pct": 100.0})
    plant.advance_to(200.0)  # true temperature 220 degC, the transmitter spans 0..100
    assert plant.temperature_c == pytest.approx(220.0)
    assert {plant.read_device("kettle")["temperature_c"] for _ in range(20)} == {100.0}


def test_outputs_start_at_their_safe_values_and_read_back_as_last_written():
    plant = KettlePlant()
    assert plant.commands == {"kettle": {"heater_output_pct": 0.0}, "pump": {"speed_setpoint_rpm": 5.0}}
    plant.write_device("pump", {"speed_setpoint_rpm": 12.5})
    reading = plant.read_device("pump")
    assert reading["speed_setpoint_rpm"] == 12.5
    assert set(reading) == {t.name for t in PUMP.tags}


def test_a_write_outside_the_limits_or_to_a_measurement_is_refused_and_stores_nothing():
    plant = KettlePlant()
    with pytest.raises(TagLimitError):
        plant.write_device("pump", {"speed_setpoint_rpm": 99.0})
    with pytest.raises(TagLimitError):  # one bad value refuses the whole write
        plant.write_device("kettle", {"heater_output_pct": 150.0})
    with pytest.raises(TagDirectionError):
        plant.write_device("kettle", {"temperature_c": 50.0})
    assert plant.commands == {"kettle": {"heater_output_pct": 0.0}, "pump": {"speed_setpoint_rpm": 5.0}}
    with pytest.raises(KeyError, match="kettle"):  # the message names the known devices
        plant.write_device("boiler", {"heater_output_pct": 1.0})
    with pytest.raises(KeyError, match="kettle"):
        plant.read_device("boiler")


def test_a_frozen_sensor_sticks_at_the_last_served_value_until_cleared():
    plant = KettlePlant(seed=2)
    plant.write_device("kettle", {"heater_output_pct": 50.0})
    plant.advance_to(10.0)
    served = plant.read_device("kettle")["temperature_c"]
    plant.faults.inject("sensor", "kettle", "temperature_c")
    assert plant.faults.active() == [f"kettle.temperature_c frozen at {served:g}"]
    plant.advance_to(60.0)
    reading = plant.read_device("kettle")
    assert reading["temperature_c"] == served
    assert reading["level_pct"] == 50.0  # the other tags are live
    plant.faults.clear("kettle", "temperature_c")
    assert plant.read_device("kettle")["temperature_c"] == pytest.approx(20.0 + 0.5 * 60.0, abs=3.0)
    assert plant.faults.active() == []


def test_a_sensor_frozen_before_any_read_sticks_at_a_fresh_reading():
    plant = KettlePlant(seed=2)
    plant.faults.freeze_sensor("pump", "speed_rpm")
    plant.write_device("pump", {"speed_setpoint_rpm": 50.0})
    assert plant.read_device("pump")["speed_rpm"] == pytest.approx(5.0, abs=0.5)


def test_advance_to_runs_whole_steps_up_to_the_time_and_never_back():
    plant = KettlePlant(step_s=2.0)
    plant.write_device("kettle", {"heater_output_pct": 100.0})
    plant.advance_to(10.0)  # steps at 0, 2, 4, 6, 8: the state at t = 10
    assert plant.steps == 5 and plant.temperature_c == pytest.approx(30.0)
    plant.advance_to(4.0)
    assert plant.steps == 5 and plant.env.now == 10.0


def test_step_must_be_positive():
    with pytest.raises(ValueError, match="step_s"):
        KettlePlant(step_s=0.0)
