"""The transport interface every device backend implements.

A transport serves one endpoint (an in-process plant, a Modbus/TCP server, an OPC UA
server) and one or more devices on it. The scan cycle calls ``read()`` once per scan for
all of a transport's devices and ``write()`` only for outputs that changed. Values travel
as floats keyed by tag name; each device reading carries a quality and a timestamp, which
apply to every tag in it (a block read succeeds or fails as a whole).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

# The served simulator's heartbeat watchdog (``poreline sim serve --watchdog``), in wall
# seconds: published with the register maps as the contract a controller must keep. A plant
# PLC sets its own. # assumption: 3 s is three missed scans at the slowest 1 s scan period.
DEFAULT_PLANT_WATCHDOG_S = 3.0


class Quality(StrEnum):
    GOOD = "good"
    STALE = "stale"  # last good value kept; the device did not answer this scan
    BAD_COMM = "bad_comm"  # no good value since the connection was lost


class TransportError(ConnectionError):
    """The device could not be reached; the message says which and why."""


@dataclass(slots=True)
class DeviceReading:
    device: str
    values: Mapping[str, float]  # tag name -> value; last good values when quality is not GOOD
    quality: Quality
    timestamp_s: float  # clock time of the last good read
    error: str = ""  # why the quality is not GOOD


class Transport(Protocol):
    @property
    def devices(self) -> tuple[str, ...]:
        """Names of the devices this transport serves."""
        ...

    async def connect(self) -> None: ...

    async def read(self) -> list[DeviceReading]:
        """Read every input (and setpoint readback) of every device; never raises for a
        device that does not answer: its reading comes back STALE or BAD_COMM."""
        ...

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        """Write outputs (already limit-checked by the caller). Raises TransportError."""
        ...

    async def heartbeat(self, counter: int) -> None:
        """Write the controller's heartbeat counter (mod 65536) to the endpoint, whose
        watchdog drives the plant to safe state when it stops changing. Raises
        TransportError."""
        ...

    async def close(self) -> None: ...
