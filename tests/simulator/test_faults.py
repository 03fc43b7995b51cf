"""The generic fault shape (simulator.faults): what a plant offers, which devices each fault
fits, injection checks with messages that name what would fit, clearing, the active list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import pytest

from drivers.definition import DeviceSpec, LineDefinition
from drivers.profiles import DeviceProfile, measured, setpoint
from simulator.faults import SENSOR_FAULT, FaultSpec, PlantFaults

OVEN = DeviceProfile(
    kind="test_oven", description="Oven", opcua_type="TestOvenType",
    tags=(measured("temperature_c", "degC", 0.0, 300.0, "Temperature", "T"),
          setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater output", "H", safe_value=0.0)),
)
FAN = DeviceProfile(
    kind="test_fan", description="Fan", opcua_type="TestFanType",
    tags=(measured("speed_rpm", "rpm", 0.0, 3000.0, "Speed", "N"),),
)
LINE = LineDefinition(kind="bakery", name="bakery-1", devices=(DeviceSpec("oven_1", OVEN), DeviceSpec("fan", FAN),
                                                               DeviceSpec("oven_2", OVEN)))
HEATER = FaultSpec("heater", "the heater delivers no power", frozenset({"test_oven"}))
UNMODELLED = FaultSpec("door_open", "listed but not modelled", frozenset({"test_oven"}))


class OvenFaults(PlantFaults):
    offered: ClassVar[tuple[FaultSpec, ...]] = (HEATER, SENSOR_FAULT, UNMODELLED)

    def __init__(self, line: LineDefinition) -> None:
        super().__init__(line)
        self.failed_heaters: set[str] = set()
        self.cleared: list[str | None] = []

    def _inject(self, spec: FaultSpec, device: str, tag: str | None) -> None:
        if spec == HEATER:
            self.failed_heaters.add(device)
        else:
            super()._inject(spec, device, tag)

    def _clear(self, device: str | None) -> None:
        self.cleared.append(device)
        if device is None:
            self.failed_heaters.clear()
        else:
            self.failed_heaters.discard(device)

    def _describe(self) -> list[str]:
        return [f"{d} heater failed" for d in sorted(self.failed_heaters)]


def faults() -> OvenFaults:
    readings: dict[str, Mapping[str, float]] = {"oven_1": {"temperature_c": 180.5, "heater_output_pct": 40.0},
                                                "fan": {"speed_rpm": 1200.0}}
    f = OvenFaults(LINE)
    f.attach(readings.__getitem__)
    return f


def test_each_offered_fault_lists_the_devices_of_the_line_it_applies_to():
    f = faults()
    assert [s.kind for s in f.offered] == ["heater", "sensor", "door_open"]
    assert f.devices_for("heater") == ["oven_1", "oven_2"]
    assert f.devices_for("sensor") == ["oven_1", "fan", "oven_2"]
    assert f.spec("sensor").needs_tag and not f.spec("heater").needs_tag


def test_a_kind_not_offered_is_refused_naming_the_line_and_the_offered_kinds():
    with pytest.raises(ValueError, match=r"bakery line bakery-1 has no 'belt' fault; it offers: heater, sensor, door_open"):
        faults().inject("belt", "oven_1")
    with pytest.raises(ValueError, match="heater, sensor"):
        faults().devices_for("belt")


def test_a_device_the_fault_does_not_fit_is_refused_naming_the_devices_it_does():
    with pytest.raises(ValueError, match=r"heater fault applies to oven_1, oven_2; not to fan \(test_fan\)"):
        faults().inject("heater", "fan")
    with pytest.raises(KeyError, match="no device 'oven_3'"):
        faults().inject("heater", "oven_3")


def test_a_tag_is_required_for_a_sensor_and_refused_for_a_device_fault():
    f = faults()
    with pytest.raises(ValueError, match="needs a tag"):
        f.inject("sensor", "fan")
    with pytest.raises(ValueError, match="takes no tag"):
        f.inject("heater", "oven_1", "temperature_c")
    with pytest.raises(ValueError, match="not a sensor"):
        f.inject("sensor", "oven_1", "heater_output_pct")
    with pytest.raises(KeyError, match="no tag 'humidity_pct'"):
        f.inject("sensor", "oven_1", "humidity_pct")
    assert f.active() == []


def test_an_offered_fault_without_a_model_is_refused_not_ignored():
    with pytest.raises(ValueError, match="no model for a door_open fault"):
        faults().inject("door_open", "oven_1")


def test_a_frozen_sensor_takes_the_current_reading_and_frozen_faults_are_listed_first():
    f = faults()
    f.inject("heater", "oven_2")
    f.inject("sensor", "oven_1", "temperature_c")
    f.freeze_sensor("fan", "speed_rpm")
    assert f.frozen == {"oven_1": {"temperature_c": 180.5}, "fan": {"speed_rpm": 1200.0}}
    assert f.active() == ["oven_1.temperature_c frozen at 180.5", "fan.speed_rpm frozen at 1200",
                          "oven_2 heater failed"]


def test_clear_by_tag_by_device_and_all():
    f = faults()
    f.inject("heater", "oven_1")
    f.inject("heater", "oven_2")
    f.inject("sensor", "oven_1", "temperature_c")
    f.inject("sensor", "fan", "speed_rpm")
    f.clear("oven_1", "temperature_c")  # only the frozen tag
    assert f.frozen == {"fan": {"speed_rpm": 1200.0}} and f.failed_heaters == {"oven_1", "oven_2"}
    assert f.cleared == []
    f.clear("oven_1")
    assert f.failed_heaters == {"oven_2"} and f.cleared == ["oven_1"]
    with pytest.raises(ValueError, match="cleared with its device"):
        f.clear(tag="speed_rpm")
    with pytest.raises(KeyError):
        f.clear("oven_3")
    f.clear_all()
    assert f.active() == [] and f.cleared == ["oven_1", None]


def test_the_base_offers_sensor_freezing_only_and_needs_a_plant_to_freeze():
    f = PlantFaults(LINE)
    assert f.offered == (SENSOR_FAULT,)
    with pytest.raises(RuntimeError, match="not attached"):
        f.inject("sensor", "fan", "speed_rpm")
