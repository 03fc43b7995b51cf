"""Plant files: shape, device assignment, clear errors; the deploy/ examples build lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import DEPLOY, HIL_DATA

from controller.assembly.plant_file import (
    PlantConfigError,
    build_hardware_line,
    endpoint_modbus_map,
    load_plant_config,
    parse_plant_config,
    plant_line_control,
)
from controller.lines import kind_named
from controller.lines.casting.definition import casting_line
from controller.lines.foaming.definition import foaming_line
from drivers.clock import WallClock
from drivers.modbus.client import ModbusTransport
from drivers.modbus.map import plan_line_map
from drivers.opcua.client import OpcUaTransport

DEPLOY = DEPLOY
LINE = casting_line()
ALL = [d.name for d in LINE.devices]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(PlantConfigError) as info:
        build_hardware_line(write(tmp_path, text), LINE, WallClock())
    return str(info.value)


@pytest.mark.parametrize("name", ["plant-modbus.yaml", "plant-opcua.yaml", "plant-mixed.yaml"])
async def test_deploy_examples_build_a_line(name: str) -> None:
    line = build_hardware_line(DEPLOY / name, LINE, WallClock())
    kinds = {type(t) for t in line._transports}
    expected = {"plant-modbus.yaml": {ModbusTransport}, "plant-opcua.yaml": {OpcUaTransport},
                "plant-mixed.yaml": {ModbusTransport, OpcUaTransport}}[name]
    assert kinds == expected
    await line.close()


@pytest.mark.parametrize("name, transport", [("plant-foaming-modbus.yaml", ModbusTransport),
                                             ("plant-foaming-opcua.yaml", OpcUaTransport)])
async def test_foaming_deploy_examples_build_the_foaming_line(name: str, transport: type) -> None:
    foaming = foaming_line()
    line = build_hardware_line(DEPLOY / name, foaming, WallClock())
    assert [type(t) for t in line._transports] == [transport]
    await line.close()
    with pytest.raises(PlantConfigError, match="file is for line 'foaming', the recipe is for 'casting'"):
        build_hardware_line(DEPLOY / name, LINE, WallClock())


def test_foaming_modbus_file_plans_the_served_foaming_map() -> None:
    foaming = foaming_line()
    config = load_plant_config(DEPLOY / "plant-foaming-modbus.yaml")
    assert config.line == "foaming"
    assert endpoint_modbus_map(config.endpoints[0], foaming) == plan_line_map(foaming)  # type: ignore[arg-type]


def test_mixed_modbus_part_keeps_the_served_addresses() -> None:
    config = load_plant_config(DEPLOY / "plant-mixed.yaml")
    part = endpoint_modbus_map(config.endpoints[0], LINE)  # type: ignore[arg-type]
    served = plan_line_map(LINE)
    assert part.devices == ("dope_vessel_1", "dope_vessel_2", "dope_pump_1", "dope_pump_2",
                            "casting_knife", "support_belt")
    for entry in part.entries:
        assert served.entry(entry.device, entry.tag) == entry
    assert all(b.address + b.count <= served.base_address("quench_bath") for b in part.read_blocks)


def test_modbus_map_follows_the_line_order_not_the_file_order(tmp_path: Path) -> None:
    others = [d for d in ALL if d not in ("dryer", "dope_vessel_1")]
    text = ("endpoints:\n  - {name: p, transport: modbus, port: 5020, devices: [dryer, dope_vessel_1]}\n"
            f"  - {{name: u, transport: opcua, url: 'opc.tcp://h:4840/', insecure: true, devices: {others}}}\n")
    config = parse_plant_config(text)
    planned = endpoint_modbus_map(config.endpoints[0], LINE)  # type: ignore[arg-type]
    assert planned == plan_line_map(LINE, ["dope_vessel_1", "dryer"])


def test_unknown_device(tmp_path: Path) -> None:
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: modbus, devices: [dope_vessel_1, "
                                 "mixer_9]}\n")
    assert "unknown device 'mixer_9'" in message and "endpoint p" in message


def test_device_not_assigned(tmp_path: Path) -> None:
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: modbus, devices: [dope_vessel_1]}\n")
    assert "not assigned to any endpoint" in message and "dryer" in message


def test_device_assigned_twice(tmp_path: Path) -> None:
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: modbus, devices: all}\n"
                                 "  - {name: u, transport: opcua, url: 'opc.tcp://h:1/', insecure: true, "
                                 "devices: [dryer]}\n")
    assert "dryer assigned twice (p and u)" in message


def test_unknown_transport(tmp_path: Path) -> None:
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: profinet, devices: all}\n")
    assert "unknown transport 'profinet'" in message and "modbus, opcua" in message


def test_field_errors_name_the_field(tmp_path: Path) -> None:
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: modbus, port: 70000, devices: all}\n")
    assert "endpoints[0].port" in message and str(tmp_path / "plant.yaml") in message
    message = error_of(tmp_path, "endpoints:\n  - {name: u, transport: opcua, url: 'http://x', devices: all}\n")
    assert "endpoints[0].url" in message
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: modbus, devices: all, colour: red}\n")
    assert "endpoints[0].colour" in message


def test_wrong_line_kind_and_bad_yaml(tmp_path: Path) -> None:
    assert "file is for line 'foaming'" in error_of(
        tmp_path, "line: foaming\nendpoints:\n  - {name: p, transport: modbus, devices: all}\n")
    assert "not valid YAML" in error_of(tmp_path, "endpoints: [\n")


def test_map_devices_must_hold_the_endpoint_devices(tmp_path: Path) -> None:
    message = error_of(tmp_path, "endpoints:\n  - {name: p, transport: modbus, devices: all, "
                                 "map_devices: [dryer]}\n")
    assert "devices not in its map_devices" in message


def test_run_refuses_a_recipe_for_another_line_kind_than_the_plant_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from controller.cli.main import app

    casting_recipe = HIL_DATA / "short-casting.yaml"
    result = CliRunner().invoke(app, ["run", str(casting_recipe), "--plant", str(DEPLOY / "plant-foaming-modbus.yaml"),
                                      "--database", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert result.exit_code == 2
    assert "file is for line 'foaming', the recipe is for 'casting'" in " ".join(result.output.split())


FOAMING = kind_named("foaming")
FOAMING_ALL = "line: foaming\nendpoints:\n  - {name: p, transport: modbus, devices: all}\n"


def test_plant_file_sets_the_melt_overpressure_trip() -> None:
    config = parse_plant_config("interlocks: {melt_overpressure_trip_bar: 320}\n" + FOAMING_ALL)
    control = plant_line_control(config, FOAMING, foaming_line())
    trip = next(a for a in control.alarms if a.alarm_id == "MELT_OVERPRESSURE")
    assert "die.melt_pressure_bar > 320" in trip.condition and "320 bar" in trip.message
    default = plant_line_control(parse_plant_config(FOAMING_ALL), FOAMING, foaming_line())
    assert "> 350" in next(a for a in default.alarms if a.alarm_id == "MELT_OVERPRESSURE").condition


@pytest.mark.parametrize(("interlocks", "line", "expected"), [
    ("{melt_overpressure_trip_bar: 600}", foaming_line(), "transducers"),  # above the 500 bar range
    ("{melt_overpressure_trip_bar: 300}", casting_line(), "casting line has no setting 'melt_overpressure_trip_bar'"),
])
def test_plant_file_interlock_settings_that_cannot_apply_are_refused(interlocks, line, expected) -> None:
    config = parse_plant_config(f"interlocks: {interlocks}\nendpoints:\n  - {{name: p, transport: modbus, devices: all}}\n")
    with pytest.raises(PlantConfigError, match=expected):
        plant_line_control(config, kind_named(line.kind), line, "plant.yaml")


def test_plant_file_interlock_errors_name_the_field() -> None:
    for bad in ("{melt_overpressure_trip_bar: -5}", "{melt_trip: 300}"):
        with pytest.raises(PlantConfigError, match="interlocks"):
            parse_plant_config(f"interlocks: {bad}\n" + FOAMING_ALL)
