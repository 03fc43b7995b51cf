"""ServedPlant: one plant over Modbus/TCP and OPC UA, the heartbeat watchdog, clean stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from asyncua import Client, ua
from hil_support import served_plant, short_recipe, wait_for

from drivers.clock import WallClock
from drivers.modbus.client import ModbusEndpoint, ModbusTransport
from drivers.opcua.client import OpcUaTransport
from drivers.opcua.map import NAMESPACE_URI
from simulator.casting.plant import CastingPlant
from simulator.serve.runner import ServedPlant


def at_safe(plant, line) -> bool:  # type: ignore[no-untyped-def]
    return all(plant.read_device(d.name)[n] == v for d in line.devices for n, v in d.profile.safe_values().items())


async def test_watchdog_trips_to_safe_holds_there_and_releases_on_heartbeat() -> None:
    served, plant, line = served_plant(short_recipe(), speed=10.0, watchdog_s=0.3)
    async with served:
        assert served.modbus_map is not None and served.modbus_port is not None
        transport = ModbusTransport([ModbusEndpoint("127.0.0.1", served.modbus_port, served.modbus_map)],
                                    WallClock())
        await transport.connect()
        try:
            await transport.write("support_belt", {"line_speed_setpoint_m_min": 2.0})
            await asyncio.sleep(0.6)
            assert not served.tripped  # no heartbeat seen yet: a PLC does not trip before the first
            await transport.heartbeat(1)
            await wait_for(lambda: served.heartbeat_age_s() is not None, 2.0, "the heartbeat")
            await wait_for(lambda: served.tripped, 3.0, "the watchdog to trip")
            await wait_for(lambda: at_safe(plant, line), 2.0, "safe values")
            assert served.trip_count == 1
            await transport.write("support_belt", {"line_speed_setpoint_m_min": 2.0})  # a stray write
            await asyncio.sleep(0.2)
            assert plant.read_device("support_belt")["line_speed_setpoint_m_min"] == 0.0  # kept safe
            await transport.heartbeat(2)  # the controller is back
            await wait_for(lambda: not served.tripped, 2.0, "the watchdog to release")
            await transport.write("support_belt", {"line_speed_setpoint_m_min": 2.0})
            await wait_for(lambda: plant.read_device("support_belt")["line_speed_setpoint_m_min"] == 2.0,
                           2.0, "the write to stick")
        finally:
            await transport.close()


async def test_freshest_heartbeat_across_servers_keeps_the_plant_alive() -> None:
    served, _plant, line = served_plant(short_recipe(), speed=10.0, watchdog_s=0.5)
    async with served:
        assert served.modbus_map is not None and served.modbus_port is not None
        assert served.opcua_endpoint is not None
        modbus = ModbusTransport([ModbusEndpoint("127.0.0.1", served.modbus_port, served.modbus_map)], WallClock())
        opcua = OpcUaTransport(served.opcua_endpoint, line, ("dryer",), clock=WallClock())
        await modbus.connect()
        await opcua.connect()
        try:
            await modbus.heartbeat(1)  # seen once on Modbus, then only OPC UA beats
            for counter in range(1, 15):
                await opcua.heartbeat(counter)
                await asyncio.sleep(0.1)
            assert not served.tripped
        finally:
            await modbus.close()
            await opcua.close()


async def read_until(read: Callable[[], Awaitable[Any]], wanted: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while (value := await read()) != wanted:
        assert time.monotonic() < deadline, f"{what}: still {value!r} after {timeout_s} s (wanted {wanted!r})"
        await asyncio.sleep(0.02)


async def test_integrators_see_the_command_the_plant_holds_and_the_watchdog_trip() -> None:
    """A command written over OPC UA shows in the Modbus command-ack (the acknowledge is the
    plant's command state, not the last Modbus write); a watchdog trip shows on
    ``Controller.WatchdogTripped``/``WatchdogTripCount`` and, in the ack, as the safe command."""
    served, plant, line = served_plant(short_recipe(), speed=10.0, watchdog_s=0.3)
    async with served:
        assert served.modbus_map is not None and served.modbus_port is not None
        assert served.opcua_endpoint is not None
        modbus = ModbusTransport([ModbusEndpoint("127.0.0.1", served.modbus_port, served.modbus_map)], WallClock())
        opcua = OpcUaTransport(served.opcua_endpoint, line, ("dryer",), clock=WallClock())
        reader = Client(served.opcua_endpoint)
        await modbus.connect()
        await opcua.connect()
        await reader.connect()
        try:
            namespace = await reader.get_namespace_index(NAMESPACE_URI)
            tripped = reader.get_node(ua.NodeId("Controller.WatchdogTripped", namespace))
            trip_count = reader.get_node(ua.NodeId("Controller.WatchdogTripCount", namespace))
            assert (await tripped.read_value(), await trip_count.read_value()) == (False, 0)

            await opcua.write("dryer", {"fan_on": 1.0})  # commanded over OPC UA only
            await read_until(lambda: modbus.read_command_ack("dryer"), 1, 2.0, "the Modbus ack of an OPC UA command")

            await opcua.heartbeat(1)  # arms the watchdog; then the controller falls silent
            await read_until(tripped.read_value, True, 3.0, "WatchdogTripped")
            assert await trip_count.read_value() == 1
            assert plant.read_device("dryer")["fan_on"] == 0.0  # the safe value
            await read_until(lambda: modbus.read_command_ack("dryer"), 0, 2.0, "the ack of the safe command")

            await opcua.heartbeat(2)  # the controller is back
            await read_until(tripped.read_value, False, 2.0, "the watchdog to release")
            assert await trip_count.read_value() == 1
        finally:
            await reader.disconnect()
            await modbus.close()
            await opcua.close()


async def test_stop_is_clean_and_frees_the_ports() -> None:
    recipe = short_recipe()
    served, _plant, line = served_plant(recipe)
    await served.start()
    assert served.running
    port, endpoint = served.modbus_port, served.opcua_endpoint
    await asyncio.wait_for(served.stop(), timeout=10.0)
    assert not served.running
    await served.stop()  # idempotent
    assert port is not None and endpoint is not None
    again = ServedPlant(CastingPlant(line), line, modbus_port=port,  # the very same ports are free again
                        opcua_port=int(endpoint.rsplit(":", 1)[1].split("/")[0]))
    async with again:
        assert again.modbus_port == port and again.opcua_endpoint == endpoint
