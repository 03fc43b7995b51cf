"""The line at run time: devices bound to their transports.

Every write passes the tag's limit and direction check here, before any transport sees
it, so a setpoint outside limits never reaches the wire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from drivers.definition import LineDefinition
from drivers.transport import DeviceReading, Transport, TransportError

log = logging.getLogger(__name__)


class Line:
    def __init__(self, definition: LineDefinition, transports: Sequence[Transport]) -> None:
        self.definition = definition
        self._transports = tuple(transports)
        self._transport_of: dict[str, Transport] = {}
        for transport in self._transports:
            for device in transport.devices:
                definition.device(device)  # raises for a device the line does not have
                if device in self._transport_of:
                    raise ValueError(f"device {device} is served by two transports")
                self._transport_of[device] = transport
        missing = [d.name for d in definition.devices if d.name not in self._transport_of]
        if missing:
            raise ValueError(f"no transport serves: {', '.join(missing)}")
        self.connected = False

    async def connect(self) -> None:
        """Connect every transport (idempotent). A transport that cannot reach its
        endpoint yet keeps retrying on its own; its devices read STALE/BAD_COMM."""
        if not self.connected:
            await asyncio.gather(*(t.connect() for t in self._transports))
            self.connected = True

    async def close(self) -> None:
        self.connected = False
        await asyncio.gather(*(t.close() for t in self._transports), return_exceptions=True)

    async def read_inputs(self) -> dict[str, DeviceReading]:
        """One reading per device; transports are read concurrently."""
        if len(self._transports) == 1:
            readings = await self._transports[0].read()
        else:
            batches = await asyncio.gather(*(t.read() for t in self._transports))
            readings = [r for batch in batches for r in batch]
        return {r.device: r for r in readings}

    def check_writes(self, device: str, values: Mapping[str, float]) -> dict[str, float]:
        """Limit- and direction-check every value; raises before anything is written."""
        profile = self.definition.device(device).profile
        return {name: profile.tag(name).check_write(value, device) for name, value in values.items()}

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        checked = self.check_writes(device, values)
        if checked:
            await self._transport_of[device].write(device, checked)

    async def write_many(self, changes: Mapping[str, Mapping[str, float]]) -> None:
        """Write several devices' outputs; all are checked before any is written."""
        checked = {device: self.check_writes(device, values) for device, values in changes.items()}
        for device, values in checked.items():
            if values:
                await self._transport_of[device].write(device, values)

    async def heartbeat(self, counter: int) -> None:
        """Write the controller's heartbeat to every transport (their watchdogs watch it).

        Every transport is tried even if one fails; a TransportError (dead endpoint) is
        logged and swallowed so a lost connection never stops the scan; the device readings
        already report the loss as STALE/BAD_COMM. Any other exception propagates.
        """
        if len(self._transports) == 1:  # no gather (it costs event-loop rounds every scan)
            try:
                await self._transports[0].heartbeat(counter)
                results: list[object] = []
            except TransportError as exc:
                results = [exc]
        else:
            results = await asyncio.gather(*(t.heartbeat(counter) for t in self._transports),
                                           return_exceptions=True)
        for result in results:
            if isinstance(result, TransportError):
                log.debug("heartbeat not written: %s", result)
            elif isinstance(result, BaseException):
                raise result

    async def to_safe(self) -> None:
        """Drive every output of every device to its safe value (used on abort and exit)."""
        await self.write_many({d.name: d.profile.safe_values() for d in self.definition.devices})
