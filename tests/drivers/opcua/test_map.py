"""The OPC UA address space is derived from the device profiles, and the server builds
exactly what the map says (read back over a real socket on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Mapping

import pytest
import pytest_asyncio
from asyncua import Client, ua

from controller.lines.casting import profiles as cp
from controller.lines.casting.definition import casting_line
from drivers.definition import DeviceSpec, LineDefinition
from drivers.opcua.map import (
    HEARTBEAT_IDENTIFIER,
    NAMESPACE_URI,
    TagNode,
    from_variant_value,
    line_tag_nodes,
    node_identifier,
    to_variant_value,
    variant_type,
)
from drivers.profiles import DataType
from simulator.serve.opcua import OpcUaPlantServer

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")  # shares the module-scoped server


class QuietPlant:
    """A PlantPort stand-in that reports every tag at its low limit."""

    def __init__(self, line: LineDefinition) -> None:
        self._values = {s.name: {t.name: t.low for t in s.profile.tags} for s in line.devices}

    def advance_to(self, t_s: float) -> None:
        pass

    def read_device(self, device: str) -> Mapping[str, float]:
        return self._values[device]

    def write_device(self, device: str, values: Mapping[str, float]) -> None:
        self._values[device].update(values)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------- pure map
@pytest.mark.parametrize("layers", [1, 2, 4])
def test_every_tag_has_one_unique_node_derived_from_its_profile(layers: int) -> None:
    line = casting_line(layers=layers)
    nodes = line_tag_nodes(line)

    assert len(nodes) == sum(len(spec.profile.tags) for spec in line.devices)
    assert len({n.identifier for n in nodes}) == len(nodes)
    for node in nodes:
        assert node.identifier == f"{node.device}.{node.tag.opcua_path.replace('/', '.')}"
        assert node.browse_path == ("Machines", node.device, *node.tag.opcua_path.split("/"))
        assert node.node_id_string(2) == f"ns=2;s={node.identifier}"
        assert node.node_id(3) == ua.NodeId(node.identifier, 3)


def test_variant_types_per_data_type() -> None:
    assert variant_type(DataType.FLOAT32) is ua.VariantType.Float
    assert variant_type(DataType.BOOL) is ua.VariantType.Boolean
    for node in line_tag_nodes(casting_line()):
        assert node.variant_type is variant_type(node.tag.data_type)


def test_values_convert_between_process_image_and_variants() -> None:
    nodes = {n.address: n for n in line_tag_nodes(casting_line())}
    fan: TagNode = nodes["dryer.fan_on"]
    gap: TagNode = nodes["casting_knife.gap_1_setpoint_um"]
    assert to_variant_value(fan, 1.0) is True
    assert to_variant_value(fan, 0.0) is False
    assert to_variant_value(gap, 254.0) == 254.0
    assert from_variant_value(True) == 1.0
    assert from_variant_value(12.5) == 12.5
    with pytest.raises(TypeError):
        from_variant_value("12.5")


def test_example_node_id_from_the_docstring() -> None:
    assert node_identifier("quench_bath", "TemperatureZones/TemperatureZone_001/ActualValue") == (
        "quench_bath.TemperatureZones.TemperatureZone_001.ActualValue"
    )
    assert node_identifier("quench_bath", "") == "quench_bath"


def test_names_that_would_break_the_rule_are_refused() -> None:
    with pytest.raises(ValueError):
        node_identifier("quench.bath", "Level/ActualValue")
    with pytest.raises(ValueError):
        node_identifier("quench_bath", "Level//ActualValue")
    reserved = LineDefinition("casting", "odd", (DeviceSpec("Controller", cp.DRYER),))
    with pytest.raises(ValueError, match="reserved"):
        line_tag_nodes(reserved)
    twice = LineDefinition(
        "casting", "odd",
        (DeviceSpec("pump", cp.DOPE_PUMP), DeviceSpec("pump.Drive", cp.DRYER)),
    )
    with pytest.raises(ValueError):
        line_tag_nodes(twice)


# ---------------------------------------------------------------------- the served space
@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def endpoint() -> AsyncIterator[tuple[LineDefinition, str]]:
    line = casting_line(layers=2)
    server = OpcUaPlantServer(QuietPlant(line), line, port=free_port())
    await server.start()
    try:
        yield line, server.endpoint
    finally:
        await server.stop()


@ON_MODULE_LOOP
async def test_server_serves_every_tag_with_the_mapped_data_type(endpoint: tuple[LineDefinition, str]) -> None:
    line, url = endpoint
    nodes = line_tag_nodes(line)
    async with Client(url, timeout=2.0) as client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        ua_nodes = [client.get_node(n.node_id(idx)) for n in nodes]
        data_types = await client.read_attributes(ua_nodes, ua.AttributeIds.DataType)
        access = await client.read_attributes(ua_nodes, ua.AttributeIds.AccessLevel)
        descriptions = await client.read_attributes(ua_nodes, ua.AttributeIds.Description)

    for node, data_type, level, description in zip(nodes, data_types, access, descriptions, strict=True):
        assert data_type.StatusCode is None or data_type.StatusCode.is_good(), node.address
        assert data_type.Value is not None
        assert data_type.Value.Value == ua.NodeId(node.variant_type.value, 0), node.address
        assert level.Value is not None
        writable = bool(level.Value.Value & ua.AccessLevel.CurrentWrite.mask)
        assert writable is node.tag.writable, node.address
        assert description.Value is not None
        assert description.Value.Value.Text.startswith(node.tag.description)


@ON_MODULE_LOOP
async def test_browse_paths_lead_to_the_mapped_nodes(endpoint: tuple[LineDefinition, str]) -> None:
    line, url = endpoint
    async with Client(url, timeout=2.0) as client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        objects = client.get_objects_node()
        for node in line_tag_nodes(line):
            found = await objects.get_child([f"{idx}:{name}" for name in node.browse_path])
            assert found.nodeid == node.node_id(idx), node.address
        heartbeat = await objects.get_child([f"{idx}:Controller", f"{idx}:Heartbeat"])
        assert heartbeat.nodeid == ua.NodeId(HEARTBEAT_IDENTIFIER, idx)
        assert await heartbeat.read_data_type_as_variant_type() is ua.VariantType.UInt32


@ON_MODULE_LOOP
async def test_tag_variables_carry_units_and_range(endpoint: tuple[LineDefinition, str]) -> None:
    line, url = endpoint
    node = next(n for n in line_tag_nodes(line) if n.address == "casting_knife.gap_1_setpoint_um")
    async with Client(url, timeout=2.0) as client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        variable = client.get_node(node.node_id(idx))
        units = await (await variable.get_child("0:EngineeringUnits")).read_value()
        eu_range = await (await variable.get_child("0:EURange")).read_value()
    assert units.DisplayName.Text == "um"
    assert (eu_range.Low, eu_range.High) == (0.0, 1000.0)
