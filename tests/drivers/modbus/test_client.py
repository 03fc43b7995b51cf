"""ModbusTransport against ModbusPlantServer over real sockets on 127.0.0.1.

The plant behind the server is a small stand-in that records every write; an independent
client (pyModbusTCP) checks the served registers from outside pymodbus.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

import pytest
from pyModbusTCP.client import ModbusClient
from pyModbusTCP.constants import EXP_DATA_ADDRESS, EXP_DATA_VALUE

from controller.lines.casting.definition import casting_line
from drivers.clock import VirtualClock
from drivers.definition import LineDefinition
from drivers.line import Line
from drivers.modbus.client import ModbusEndpoint, ModbusTransport
from drivers.modbus.map import ModbusMap, plan_line_map
from drivers.profiles import DataType, TagLimitError
from drivers.transport import DeviceReading, Quality, TransportError
from simulator.serve.modbus import ModbusPlantServer

HOST = "127.0.0.1"
WAIT_S = 5.0


def float32(value: float) -> float:
    return float(struct.unpack(">f", struct.pack(">f", value))[0])


@dataclass
class StandInPlant:
    """A PlantPort whose every tag holds a fixed, distinct value; records writes."""

    line: LineDefinition
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    writes: list[tuple[str, dict[str, float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for d, spec in enumerate(self.line.devices):
            self.values[spec.name] = {}
            for t, tag in enumerate(spec.profile.tags):
                if tag.data_type is DataType.BOOL:
                    value = float((d + t) % 2)
                else:
                    value = tag.low + (tag.high - tag.low) * (0.1 + 0.01 * t + 0.001 * d) + 0.123
                self.values[spec.name][tag.name] = value

    def advance_to(self, t_s: float) -> None:
        pass

    def read_device(self, device: str) -> Mapping[str, float]:
        return dict(self.values[device])

    def write_device(self, device: str, values: Mapping[str, float]) -> None:
        self.writes.append((device, dict(values)))
        self.values[device].update(values)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Rig:
    line: LineDefinition
    plant: StandInPlant
    map: ModbusMap
    clock: VirtualClock
    server: ModbusPlantServer
    transport: ModbusTransport

    def new_server(self) -> ModbusPlantServer:
        profiles = {d.name: d.profile for d in self.line.devices}
        return ModbusPlantServer(self.plant, self.map, profiles, self.clock, host=HOST, port=self.server.port)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    line = casting_line(layers=2)
    plant = StandInPlant(line)
    modbus_map = plan_line_map(line)
    clock = VirtualClock()
    profiles = {d.name: d.profile for d in line.devices}
    server = ModbusPlantServer(plant, modbus_map, profiles, clock, host=HOST, port=free_port())
    await server.start()
    transport = ModbusTransport([ModbusEndpoint(HOST, server.port, modbus_map)], clock,
                                timeout_s=0.3, reconnect_delay_s=0.05, reconnect_delay_max_s=0.5)
    await asyncio.wait_for(transport.connect(), WAIT_S)
    the_rig = Rig(line, plant, modbus_map, clock, server, transport)
    yield the_rig
    await transport.close()
    await the_rig.server.stop()


async def read(transport: ModbusTransport) -> dict[str, DeviceReading]:
    return {r.device: r for r in await asyncio.wait_for(transport.read(), WAIT_S)}


def independent_client(port: int) -> ModbusClient:
    return ModbusClient(host=HOST, port=port, unit_id=1, timeout=2.0, auto_open=True, auto_close=True)


async def test_published_values_come_back_equal(rig: Rig) -> None:
    rig.clock.advance_to(3.0)
    readings = await read(rig.transport)
    assert set(readings) == {d.name for d in rig.line.devices}
    for device, reading in readings.items():
        assert (reading.quality, reading.timestamp_s, reading.error) == (Quality.GOOD, 3.0, "")
        assert reading.values == {tag: float32(v) for tag, v in rig.plant.values[device].items()}


async def test_new_plant_values_arrive_after_publish(rig: Rig) -> None:
    rig.plant.values["quench_bath"]["temperature_c"] = 41.25
    rig.plant.values["quench_bath"]["heater_fault"] = 1.0
    await rig.server.publish()
    reading = (await read(rig.transport))["quench_bath"]
    assert reading.values["temperature_c"] == 41.25
    assert reading.values["heater_fault"] == 1.0


async def test_setpoint_written_through_the_transport_arrives_in_the_plant(rig: Rig) -> None:
    await asyncio.wait_for(rig.transport.write("dope_pump_2", {"speed_setpoint_rpm": 42.5}), WAIT_S)
    assert rig.plant.writes == [("dope_pump_2", {"speed_setpoint_rpm": 42.5})]
    await rig.server.publish()
    assert (await read(rig.transport))["dope_pump_2"].values["speed_setpoint_rpm"] == 42.5


async def test_command_bit_is_written_and_acknowledged(rig: Rig) -> None:
    await asyncio.wait_for(rig.transport.write("dryer", {"fan_on": 1.0}), WAIT_S)
    assert rig.plant.writes == [("dryer", {"fan_on": 1.0})]
    assert await asyncio.wait_for(rig.transport.read_command_ack("dryer"), WAIT_S) == 1
    await asyncio.wait_for(rig.transport.write("dryer", {"fan_on": 0.0}), WAIT_S)
    assert rig.plant.writes[-1] == ("dryer", {"fan_on": 0.0})
    assert await asyncio.wait_for(rig.transport.read_command_ack("dryer"), WAIT_S) == 0


async def test_heartbeat_reaches_the_server_watchdog(rig: Rig) -> None:
    rig.clock.advance_to(10.0)
    assert rig.server.heartbeat_age_s(10.0) == 10.0
    await asyncio.wait_for(rig.transport.heartbeat(7), WAIT_S)
    assert rig.server.heartbeat_value == 7
    assert rig.server.heartbeat_age_s(12.5) == 2.5


async def test_independent_client_reads_a_float_where_the_map_says(rig: Rig) -> None:
    entry = rig.map.entry("support_belt", "line_speed_m_min")
    client = independent_client(rig.server.port)
    registers = await asyncio.wait_for(asyncio.to_thread(client.read_holding_registers, entry.address, 2), WAIT_S)
    assert registers is not None, client.last_error_as_txt
    high, low = registers  # ABCD: high word first
    value = struct.unpack(">f", struct.pack(">HH", high, low))[0]
    assert value == float32(rig.plant.values["support_belt"]["line_speed_m_min"])


async def test_independent_client_cannot_write_a_measured_register(rig: Rig) -> None:
    entry = rig.map.entry("dope_pump_1", "discharge_pressure_bar")
    client = independent_client(rig.server.port)
    words = list(struct.unpack(">HH", struct.pack(">f", 12.0)))
    ok = await asyncio.wait_for(asyncio.to_thread(client.write_multiple_registers, entry.address, words), WAIT_S)
    assert not ok
    assert client.last_except == EXP_DATA_ADDRESS
    assert rig.plant.writes == []


async def test_independent_client_cannot_write_outside_limits(rig: Rig) -> None:
    entry = rig.map.entry("dope_pump_1", "speed_setpoint_rpm")  # 0..90 rpm
    client = independent_client(rig.server.port)
    words = list(struct.unpack(">HH", struct.pack(">f", 500.0)))
    ok = await asyncio.wait_for(asyncio.to_thread(client.write_multiple_registers, entry.address, words), WAIT_S)
    assert not ok
    assert client.last_except == EXP_DATA_VALUE
    assert rig.plant.writes == []


async def test_server_stopped_then_restarted(rig: Rig) -> None:
    rig.clock.advance_to(1.0)
    good = await read(rig.transport)
    assert all(r.quality is Quality.GOOD for r in good.values())

    await rig.server.stop()
    rig.clock.advance_to(2.0)
    stale = await read(rig.transport)
    for device, reading in stale.items():
        assert reading.quality is Quality.STALE
        assert reading.values == good[device].values
        assert reading.timestamp_s == 1.0
        assert reading.error
    with pytest.raises(TransportError, match="dope_pump_1"):
        await asyncio.wait_for(rig.transport.write("dope_pump_1", {"speed_setpoint_rpm": 10.0}), WAIT_S)

    rig.server = rig.new_server()
    await rig.server.start()

    async def until_good() -> dict[str, DeviceReading]:
        for _ in range(200):
            readings = await read(rig.transport)
            if all(r.quality is Quality.GOOD for r in readings.values()):
                return readings
            await asyncio.sleep(0.05)
        raise AssertionError("transport did not reconnect")

    readings = await asyncio.wait_for(until_good(), WAIT_S)
    assert readings["dope_pump_1"].values == good["dope_pump_1"].values
    await asyncio.wait_for(rig.transport.write("dope_pump_1", {"speed_setpoint_rpm": 10.0}), WAIT_S)
    assert rig.plant.writes == [("dope_pump_1", {"speed_setpoint_rpm": 10.0})]


async def test_unreachable_endpoint_reads_bad_comm() -> None:
    line = casting_line(layers=2)
    transport = ModbusTransport([ModbusEndpoint(HOST, free_port(), plan_line_map(line))], VirtualClock())
    await asyncio.wait_for(transport.connect(), WAIT_S)
    readings = await read(transport)
    assert {r.quality for r in readings.values()} == {Quality.BAD_COMM}
    assert all(r.values == {} and "cannot connect" in r.error for r in readings.values())
    with pytest.raises(TransportError, match="dryer"):
        await asyncio.wait_for(transport.write("dryer", {"fan_on": 1.0}), WAIT_S)
    await transport.close()


async def test_setpoint_outside_limits_is_refused_before_the_wire(rig: Rig) -> None:
    line = Line(rig.line, [rig.transport])
    with pytest.raises(TagLimitError, match="speed_setpoint_rpm"):
        await line.write("dope_pump_1", {"speed_setpoint_rpm": 500.0})
    assert rig.plant.writes == []
    assert rig.server.last_refusal == ""  # nothing reached the server either
    await asyncio.wait_for(line.write("dope_pump_1", {"speed_setpoint_rpm": 30.0}), WAIT_S)
    assert rig.plant.writes == [("dope_pump_1", {"speed_setpoint_rpm": 30.0})]


async def test_plc_refusal_comes_back_as_transport_error(rig: Rig) -> None:
    # the transport itself does not check limits (Line does); the served PLC refuses too
    with pytest.raises(TransportError, match=r"dope_pump_1: .*refused write .*exception code 3"):
        await asyncio.wait_for(rig.transport.write("dope_pump_1", {"speed_setpoint_rpm": 500.0}), WAIT_S)
    assert rig.plant.writes == []
    assert "outside limits" in rig.server.last_refusal


@pytest.mark.parametrize(
    ("device", "tag", "word", "expected"),
    [
        ("dope_pump_1", "status_word_0", 1, EXP_DATA_ADDRESS),  # status is read-only
        ("dryer", "command_ack_0", 1, EXP_DATA_ADDRESS),  # the ack belongs to the plant
        ("dope_pump_1", "speed_setpoint_rpm", 0x4120, EXP_DATA_ADDRESS),  # half a float
        ("dryer", "command_word_0", 0x0002, EXP_DATA_VALUE),  # a bit no command owns
    ],
)
async def test_independent_client_single_register_writes_refused(
    rig: Rig, device: str, tag: str, word: int, expected: int
) -> None:
    address = rig.map.entry(device, tag).address
    client = independent_client(rig.server.port)
    ok = await asyncio.wait_for(asyncio.to_thread(client.write_single_register, address, word), WAIT_S)
    assert not ok
    assert client.last_except == expected
    assert rig.plant.writes == []
