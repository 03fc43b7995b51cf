"""The simulator served as virtual PLCs: one plant, run in real time, over Modbus/TCP and OPC UA.

:class:`ServedPlant` owns a plant (anything with ``advance_to``/``read_device``/
``write_device``, e.g. :class:`simulator.casting.plant.CastingPlant`), one
:class:`simulator.serve.modbus.ModbusPlantServer` and one
:class:`simulator.serve.opcua.OpcUaPlantServer`, both serving the same plant. By default
every device is on both endpoints; ``modbus_devices``/``opcua_devices`` choose subsets (an
empty tuple switches that server off).

Time
    A :class:`drivers.clock.WallClock` with ``speed`` simulated seconds per wall second,
    created with the ServedPlant (the plant catches up to it at :meth:`ServedPlant.start`).
    Every ``step_s`` wall seconds the runner task advances the plant to the clock's time and
    publishes every running server.

Modbus map
    The Modbus server serves ``plan_line_map(line, modbus_devices)``: the chosen devices in
    the LINE's order, unit id 1, heartbeat at address 0, float32 big-endian (ABCD), packed.
    A controller must plan the very same map (``controller.assembly.plant_file`` does, from the
    device list of a Modbus endpoint in the plant file, also put in the line's order).

Watchdog (like a PLC)
    The runner notes, in wall time, when the heartbeat last changed on ANY server (the
    freshest heartbeat counts, so a controller using only one protocol keeps the plant
    alive). Once a heartbeat has been seen, if none changes for more than ``watchdog_s``
    wall seconds the watchdog trips: every device's outputs are written to the profile's
    safe values with ``plant.write_device`` on every step for as long as it stays tripped
    (so a stray client write cannot move the plant); it resets (and logs) when a heartbeat
    changes again. Before any heartbeat has been seen the plant keeps its outputs. OPC UA
    shows it as ``Controller.WatchdogTripped`` and ``Controller.WatchdogTripCount``, and
    every Modbus command-ack register shows the command word the plant holds (the safe one
    while tripped).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from drivers.clock import WallClock
from drivers.definition import LineDefinition
from drivers.modbus.map import ModbusMap, plan_line_map
from drivers.transport import DEFAULT_PLANT_WATCHDOG_S
from simulator.serve.modbus import ModbusPlantServer
from simulator.serve.opcua import SERVER_APPLICATION_URI, OpcUaPlantServer, ServerSecurity

__all__ = ["DEFAULT_MODBUS_PORT", "DEFAULT_OPCUA_PORT", "DEFAULT_WATCHDOG_S", "SERVER_APPLICATION_URI", "RunnablePlant",
           "ServedPlant", "ServerSecurity"]

log = logging.getLogger(__name__)

DEFAULT_MODBUS_PORT = 5020
DEFAULT_OPCUA_PORT = 4840
DEFAULT_WATCHDOG_S = DEFAULT_PLANT_WATCHDOG_S


class RunnablePlant(Protocol):
    def advance_to(self, t_s: float) -> None: ...

    def read_device(self, device: str) -> Mapping[str, float]: ...

    def write_device(self, device: str, values: Mapping[str, float]) -> None: ...


class ServedPlant:
    def __init__(
        self,
        plant: RunnablePlant,
        line: LineDefinition,
        *,
        host: str = "127.0.0.1",
        modbus_port: int = DEFAULT_MODBUS_PORT,
        opcua_port: int = DEFAULT_OPCUA_PORT,
        modbus_devices: Sequence[str] | None = None,
        opcua_devices: Sequence[str] | None = None,
        speed: float = 1.0,
        step_s: float = 0.05,
        watchdog_s: float = DEFAULT_WATCHDOG_S,
        opcua_security: ServerSecurity | None = None,
        allow_anonymous_writes: bool | None = None,
    ) -> None:
        """``modbus_port=0`` lets the OS choose (see :attr:`modbus_port` after start);
        OPC UA needs a real port. ``step_s`` and ``watchdog_s`` are wall seconds.
        ``opcua_security`` and ``allow_anonymous_writes`` go to the OPC UA server (see
        :class:`simulator.serve.opcua.OpcUaPlantServer`; Modbus/TCP has no authentication)."""
        if step_s <= 0 or watchdog_s <= 0:
            raise ValueError("step_s and watchdog_s must be positive")
        self.plant = plant
        self.line = line
        self.speed = speed
        self.step_s = step_s
        self.watchdog_s = watchdog_s
        self.clock = WallClock(speed)  # plant time; the plant catches up at start()
        modbus_chosen = _in_line_order(line, modbus_devices)
        opcua_chosen = _in_line_order(line, opcua_devices)
        self.modbus_map: ModbusMap | None = plan_line_map(line, modbus_chosen) if modbus_chosen else None
        self.modbus_server: ModbusPlantServer | None = None
        if self.modbus_map is not None:
            profiles = {d.name: d.profile for d in line.devices}
            self.modbus_server = ModbusPlantServer(plant, self.modbus_map, profiles, self.clock,
                                                   host=host, port=modbus_port)
        self.opcua_server: OpcUaPlantServer | None = None
        if opcua_chosen:
            self.opcua_server = OpcUaPlantServer(plant, line, port=opcua_port, host=host,
                                                 devices=opcua_chosen, clock=self.clock, security=opcua_security,
                                                 allow_anonymous_writes=allow_anonymous_writes)
        self._task: asyncio.Task[None] | None = None
        self._last_heartbeat: dict[str, int | None] = {}
        self._heartbeat_changed_wall: float | None = None  # time.monotonic() of the last change
        self.tripped = False
        self.trip_count = 0
        self.steps = 0

    # ------------------------------------------------------------------ properties
    @property
    def modbus_port(self) -> int | None:
        return self.modbus_server.port if self.modbus_server is not None else None

    @property
    def opcua_endpoint(self) -> str | None:
        return self.opcua_server.endpoint if self.opcua_server is not None else None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def heartbeat_age_s(self) -> float | None:
        """Wall seconds since the freshest heartbeat changed, None before the first one."""
        if self._heartbeat_changed_wall is None:
            return None
        return time.monotonic() - self._heartbeat_changed_wall

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        """Start the servers and the runner task; stops whatever started if one fails."""
        if self._task is not None:
            raise RuntimeError("served plant already started")
        self.plant.advance_to(self.clock.now_s())
        try:
            if self.modbus_server is not None:
                await self.modbus_server.start()
            if self.opcua_server is not None:
                await self.opcua_server.start()
        except BaseException:
            await self._stop_servers()
            raise
        self._last_heartbeat = self._heartbeats()
        self._heartbeat_changed_wall = None
        self.tripped = False
        self._task = asyncio.create_task(self._run(), name="served-plant")
        log.info("serving %s: Modbus %s, OPC UA %s, speed %gx, watchdog %g s", self.line.name,
                 self.modbus_port, self.opcua_endpoint, self.speed, self.watchdog_s)

    async def stop(self) -> None:
        """Cancel the runner (bounded) and stop both servers; idempotent."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await asyncio.wait_for(task, timeout=5.0)
            except (TimeoutError, asyncio.CancelledError):
                pass
            except Exception:
                log.exception("served plant runner failed")
        await self._stop_servers()

    async def __aenter__(self) -> ServedPlant:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Start, then wait until cancelled (or the runner fails); always stops."""
        await self.start()
        try:
            assert self._task is not None
            await self._task
        finally:
            await self.stop()

    async def _stop_servers(self) -> None:
        for server in (self.opcua_server, self.modbus_server):
            if server is None:
                continue
            try:
                await asyncio.wait_for(server.stop(), timeout=5.0)
            except Exception:
                log.exception("stopping %s failed", type(server).__name__)

    # ------------------------------------------------------------------ runner
    async def _run(self) -> None:
        next_wall = time.monotonic()
        while True:
            await self.step()
            next_wall += self.step_s
            delay = next_wall - time.monotonic()
            if delay < 0:  # fell behind: do not try to catch up with a burst
                next_wall = time.monotonic()
                delay = 0.0
            await asyncio.sleep(delay)

    async def step(self) -> None:
        """One runner step: watchdog, advance the plant, publish every running server."""
        self._watch()
        self.plant.advance_to(self.clock.now_s())
        if self.modbus_server is not None:
            await self.modbus_server.publish()  # a stopped Modbus server just keeps the image
        if self.opcua_server is not None and self.opcua_server.running:
            self.opcua_server.set_watchdog(self.tripped, self.trip_count)
            await self.opcua_server.publish()
        self.steps += 1

    def _heartbeats(self) -> dict[str, int | None]:
        beats: dict[str, int | None] = {}
        if self.modbus_server is not None:
            beats["modbus"] = self.modbus_server.heartbeat_value
        if self.opcua_server is not None:
            beats["opcua"] = self.opcua_server.heartbeat
        return beats

    def _watch(self) -> None:
        beats = self._heartbeats()
        now = time.monotonic()
        if any(beats[k] != self._last_heartbeat.get(k) for k in beats):
            self._heartbeat_changed_wall = now
            if self.tripped:
                self.tripped = False
                log.warning("watchdog: controller heartbeat resumed, outputs released")
        self._last_heartbeat = beats
        if self._heartbeat_changed_wall is None:
            return
        if now - self._heartbeat_changed_wall > self.watchdog_s:
            if not self.tripped:
                self.tripped = True
                self.trip_count += 1
                log.warning("watchdog: no controller heartbeat for %.1f s (limit %g s): "
                            "every output to its safe value", now - self._heartbeat_changed_wall,
                            self.watchdog_s)
            self.drive_safe()

    def drive_safe(self) -> None:
        """Write every device's outputs to the profile's safe values."""
        for device in self.line.devices:
            safe = device.profile.safe_values()
            if safe:
                self.plant.write_device(device.name, safe)


def _in_line_order(line: LineDefinition, devices: Sequence[str] | None) -> tuple[str, ...]:
    if devices is None:
        return tuple(d.name for d in line.devices)
    for name in devices:
        line.device(name)  # raises for a device the line does not have
    return tuple(d.name for d in line.devices if d.name in devices)
