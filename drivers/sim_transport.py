"""In-process transport to the built-in simulator, on the injected clock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from drivers.clock import Clock
from drivers.transport import DeviceReading, Quality, TransportError


class PlantPort(Protocol):
    """What a transport needs from an in-process plant (the simulator implements it)."""

    def advance_to(self, t_s: float) -> None:
        """Run the plant models up to time ``t_s``."""
        ...

    def read_device(self, device: str) -> Mapping[str, float]:
        """Every tag of a device: measurements, status and the setpoints' readback, in a
        mapping made for this call (the transport hands it on without copying)."""
        ...

    def write_device(self, device: str, values: Mapping[str, float]) -> None: ...


class SimTransport:
    """Reads advance the plant to the clock's time first, so every scan sees the plant
    as it is at that instant; writes take effect immediately, as on a PLC."""

    def __init__(self, plant: PlantPort, clock: Clock, devices: tuple[str, ...]) -> None:
        self._plant = plant
        self._clock = clock
        self._devices = devices
        self._connected = False

    @property
    def devices(self) -> tuple[str, ...]:
        return self._devices

    async def connect(self) -> None:
        self._connected = True

    async def read(self) -> list[DeviceReading]:
        now_s = self._clock.now_s()
        self._plant.advance_to(now_s)
        return [
            DeviceReading(name, self._plant.read_device(name), Quality.GOOD, now_s)
            for name in self._devices
        ]

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        if not self._connected:
            raise TransportError(f"{device}: simulator transport is not connected")
        self._plant.write_device(device, values)

    async def heartbeat(self, counter: int) -> None:
        """No-op: the in-process plant shares the controller's fate, it needs no watchdog."""

    async def close(self) -> None:
        self._connected = False
