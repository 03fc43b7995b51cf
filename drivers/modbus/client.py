"""Modbus/TCP transport: block reads and changed-value writes planned from the register map.

One pymodbus ``AsyncModbusTcpClient`` per endpoint (host, port); each endpoint's devices
and addresses come from its :class:`drivers.modbus.map.ModbusMap` (the same map the
simulator's server serves), so no address is written here.

Timing
    Requests time out after ``timeout_s`` (default 0.3 s) with no retries, so a dead
    device costs one scan at most one timeout. Reconnection is done by this transport
    alone, on every ``read()``/``write()`` while disconnected, at most one attempt per
    back-off interval: ``reconnect_delay_s`` doubling up to ``reconnect_delay_max_s``.
    pymodbus' own auto-reconnect is switched off (``reconnect_delay=0``): it only follows an
    established connection that dropped (a failed first connect never retries), and two
    reconnectors on one client could open two sockets. One policy covers both cases.

Quality
    ``read()`` never raises for an unreachable endpoint: its devices come back STALE with
    the last good values, or BAD_COMM (empty values) if they never had any, with ``error``
    saying why and ``timestamp_s`` the clock time of the last good read (NaN if none).
    ``write()`` and ``heartbeat()`` raise :class:`TransportError` naming device and reason.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from drivers.clock import Clock
from drivers.modbus.map import ModbusMap, RegisterEntry, RegisterKind, RegisterRun, WordOrder
from drivers.transport import DeviceReading, Quality, TransportError

_FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32
_COMM_ERRORS = (ModbusException, OSError, asyncio.TimeoutError)


@dataclass(frozen=True, slots=True)
class ModbusEndpoint:
    """A PLC (or served simulator) at ``host:port`` and the register map it serves."""

    host: str
    port: int
    map: ModbusMap

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port} unit {self.map.unit_id}"


@dataclass(frozen=True, slots=True)
class _Word:
    offset: int
    address: int
    device: str
    bits: tuple[tuple[str, int], ...]  # (tag, bit)
    is_command: bool


@dataclass(frozen=True, slots=True)
class _BlockPlan:
    block: RegisterRun
    devices: tuple[str, ...]
    registers: struct.Struct  # the block's registers as bytes, 2 per register, in word order
    floats: struct.Struct  # every float32 of those bytes, padding over the other registers
    float_keys: tuple[tuple[str, str], ...]  # (device, tag) per float, in address order
    words: tuple[_Word, ...]


# struct byte order that makes a float32 of two registers come out in one unpack: ABCD
# ("big", high word first) is big-endian registers read as big-endian floats; CDAB
# ("little", low word first) is little-endian registers read as little-endian floats
# (bytes inside a register are big-endian in both, drivers/modbus_map.py).
_STRUCT_BYTE_ORDER = {WordOrder.BIG: ">", WordOrder.LITTLE: "<"}


def _plan_block(modbus_map: ModbusMap, block: RegisterRun) -> _BlockPlan:
    bits_at: dict[int, list[tuple[str, int]]] = {}
    for entry in modbus_map.entries:
        if entry.kind in (RegisterKind.STATUS_BIT, RegisterKind.COMMAND_BIT) and entry.bit is not None:
            bits_at.setdefault(entry.address, []).append((entry.tag, entry.bit))
    float_keys: list[tuple[str, str]] = []
    layout: list[str] = []  # struct codes over the block's bytes
    decoded_to = 0  # registers covered by layout so far
    words: list[_Word] = []
    devices: list[str] = []
    for span in block.spans:
        if span.device and span.device not in devices:
            devices.append(span.device)
        offset = span.address - block.address
        if span.kind is RegisterKind.FLOAT32:
            if offset > decoded_to:
                layout.append(f"{2 * (offset - decoded_to)}x")
            layout.append("f")
            decoded_to = offset + 2
            float_keys.append((span.device, span.tag))
        elif span.kind in (RegisterKind.STATUS_WORD, RegisterKind.COMMAND_WORD):
            words.append(_Word(offset, span.address, span.device, tuple(bits_at.get(span.address, ())),
                               span.kind is RegisterKind.COMMAND_WORD))
    if block.count > decoded_to:
        layout.append(f"{2 * (block.count - decoded_to)}x")
    byte_order = _STRUCT_BYTE_ORDER[modbus_map.word_order]
    return _BlockPlan(block, tuple(devices), struct.Struct(f"{byte_order}{block.count}H"),
                      struct.Struct(byte_order + "".join(layout)), tuple(float_keys), tuple(words))


class _EndpointLink:
    """One client, its map, and what it remembers between scans."""

    def __init__(
        self,
        endpoint: ModbusEndpoint,
        clock: Clock,
        timeout_s: float,
        reconnect_delay_s: float,
        reconnect_delay_max_s: float,
    ) -> None:
        self.endpoint = endpoint
        self.map = endpoint.map
        self._clock = clock
        self._client = AsyncModbusTcpClient(
            endpoint.host, port=endpoint.port, timeout=timeout_s, retries=0,
            reconnect_delay=0.0, reconnect_delay_max=0.0,
        )
        self._plans = tuple(_plan_block(self.map, b) for b in self.map.read_blocks)
        self._reconnect_delay_s = reconnect_delay_s
        self._reconnect_delay_max_s = reconnect_delay_max_s
        self._delay_s = reconnect_delay_s
        self._next_attempt_s = 0.0  # loop time of the next allowed connect attempt
        self._last_values: dict[str, dict[str, float]] = {}
        self._last_good_s: dict[str, float] = {}
        self._written_words: dict[int, int] = {}  # command word address -> last word written
        self._read_words: dict[int, int] = {}  # command word address -> last word read
        self._closed = True
        self.last_error = "not connected"

    async def connect(self) -> None:
        self._closed = False
        self._next_attempt_s = 0.0
        await self.ensure_connected()

    async def close(self) -> None:
        self._closed = True
        self._client.close()

    async def ensure_connected(self) -> bool:
        """Connected, or one connect attempt if the back-off allows it."""
        if self._client.connected:
            return True
        if self._closed:
            self.last_error = "transport closed"
            return False
        now_s = asyncio.get_running_loop().time()
        if now_s < self._next_attempt_s:
            return False
        try:
            connected = await self._client.connect()
            reason = f"cannot connect to {self.endpoint.label} (refused or timed out)"
        except _COMM_ERRORS as exc:
            connected = False
            reason = f"connect to {self.endpoint.label} failed: {exc!r}"
        if connected:
            self._delay_s = self._reconnect_delay_s
            return True
        self.last_error = reason
        self._next_attempt_s = now_s + self._delay_s
        self._delay_s = min(2.0 * self._delay_s, self._reconnect_delay_max_s)
        return False

    def _disconnected(self, reason: str) -> None:
        self.last_error = reason
        if not self._client.connected:
            now_s = asyncio.get_running_loop().time()
            self._next_attempt_s = max(self._next_attempt_s, now_s + self._delay_s)

    async def read(self) -> list[DeviceReading]:
        failed: dict[str, str] = {}
        values: dict[str, dict[str, float]] = {d: {} for d in self.map.devices}
        if not await self.ensure_connected():
            failed = dict.fromkeys(self.map.devices, self.last_error)
        else:
            unit = self.map.unit_id
            for plan in self._plans:
                block = plan.block
                try:
                    response = await self._client.read_holding_registers(
                        block.address, count=block.count, device_id=unit)
                except _COMM_ERRORS as exc:
                    reason = f"read {block.count} registers at {block.reference} from {self.endpoint.label}: {exc!r}"
                    self._disconnected(reason)
                    failed.update(dict.fromkeys(plan.devices, reason))
                    continue
                if response.isError():
                    reason = (f"{self.endpoint.label} refused read of {block.count} registers at "
                              f"{block.reference}: exception code {getattr(response, 'exception_code', '?')}")
                    failed.update(dict.fromkeys(plan.devices, reason))
                    continue
                registers = response.registers
                if len(registers) != block.count:
                    reason = (f"{self.endpoint.label} answered {len(registers)} registers for a read of "
                              f"{block.count} at {block.reference}")
                    failed.update(dict.fromkeys(plan.devices, reason))
                    continue
                numbers = plan.floats.unpack(plan.registers.pack(*registers))
                for (device, tag), number in zip(plan.float_keys, numbers, strict=True):
                    values[device][tag] = number
                for word in plan.words:
                    raw = registers[word.offset]
                    device_values = values[word.device]
                    for tag, bit in word.bits:
                        device_values[tag] = float((raw >> bit) & 1)
                    if word.is_command:
                        self._read_words[word.address] = raw
        now_s = self._clock.now_s()
        readings: list[DeviceReading] = []
        for device in self.map.devices:
            failure = failed.get(device)
            if failure is None:
                self._last_values[device] = values[device]
                self._last_good_s[device] = now_s
                readings.append(DeviceReading(device, values[device], Quality.GOOD, now_s))
            elif device in self._last_values:
                readings.append(DeviceReading(device, dict(self._last_values[device]), Quality.STALE,
                                              self._last_good_s[device], failure))
            else:
                readings.append(DeviceReading(device, {}, Quality.BAD_COMM, math.nan, failure))
        return readings

    async def _command_word_base(self, device: str, word: RegisterEntry) -> int:
        if word.address in self._written_words:
            return self._written_words[word.address]
        if word.address in self._read_words:
            return self._read_words[word.address]
        response = await self._client.read_holding_registers(word.address, count=1, device_id=self.map.unit_id)
        if response.isError():
            raise TransportError(f"{device}: {self.endpoint.label} refused read of command word at "
                                 f"{word.reference}: exception code {getattr(response, 'exception_code', '?')}")
        return int(response.registers[0])

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        runs = self.map.write_plan(device, values.keys())
        if not await self.ensure_connected():
            raise TransportError(f"{device}: not connected ({self.last_error})")
        order: Literal["big", "little"] = "big" if self.map.word_order is WordOrder.BIG else "little"
        try:
            for run in runs:
                registers: list[int] = []
                words: dict[int, int] = {}
                for span in run.spans:
                    if span.kind is RegisterKind.FLOAT32:
                        registers += self._client.convert_to_registers(
                            _float32(values[span.tag]), _FLOAT32, word_order=order)
                    else:  # a command word: read-modify-write of the bits given
                        word = await self._command_word_base(device, span)
                        for entry in self.map.device_entries(device):
                            if entry.address == span.address and entry.bit is not None and entry.tag in values:
                                mask = 1 << entry.bit
                                word = (word | mask) if values[entry.tag] >= 0.5 else (word & ~mask)
                        words[span.address] = word
                        registers.append(word)
                response = await self._client.write_registers(run.address, registers, device_id=self.map.unit_id)
                if response.isError():
                    raise TransportError(
                        f"{device}: {self.endpoint.label} refused write of {run.count} registers at "
                        f"{run.reference}: exception code {getattr(response, 'exception_code', '?')}")
                self._written_words.update(words)
        except TransportError:
            raise  # a refusal, already worded (TransportError is an OSError too)
        except _COMM_ERRORS as exc:
            reason = f"write to {self.endpoint.label} failed: {exc!r}"
            self._disconnected(reason)
            raise TransportError(f"{device}: {reason}") from exc

    async def heartbeat(self, counter: int) -> None:
        entry = self.map.heartbeat
        if not await self.ensure_connected():
            raise TransportError(f"heartbeat {self.endpoint.label}: not connected ({self.last_error})")
        try:
            response = await self._client.write_register(entry.address, counter & 0xFFFF,
                                                         device_id=self.map.unit_id)
        except _COMM_ERRORS as exc:
            reason = f"heartbeat write to {self.endpoint.label} failed: {exc!r}"
            self._disconnected(reason)
            raise TransportError(reason) from exc
        if response.isError():
            raise TransportError(f"heartbeat {self.endpoint.label}: refused, exception code "
                                 f"{getattr(response, 'exception_code', '?')}")

    async def read_command_ack(self, device: str, index: int = 0) -> int:
        ack = self.map.entry(device, f"command_ack_{index}")
        if not await self.ensure_connected():
            raise TransportError(f"{device}: not connected ({self.last_error})")
        try:
            response = await self._client.read_holding_registers(ack.address, count=1, device_id=self.map.unit_id)
        except _COMM_ERRORS as exc:
            self._disconnected(f"read of command ack failed: {exc!r}")
            raise TransportError(f"{device}: read of command ack failed: {exc!r}") from exc
        if response.isError():
            raise TransportError(f"{device}: command ack read refused")
        return int(response.registers[0])


_FLOAT32_MAX = 3.4028234663852886e38


def _float32(value: float) -> float:
    """Clamp a finite value into float32 range (struct refuses larger ones)."""
    if math.isfinite(value) and abs(value) > _FLOAT32_MAX:
        return math.copysign(_FLOAT32_MAX, value)
    return float(value)


class ModbusTransport:
    """:class:`drivers.transport.Transport` over Modbus/TCP for one or more endpoints."""

    def __init__(
        self,
        endpoints: Sequence[ModbusEndpoint],
        clock: Clock,
        *,
        timeout_s: float = 0.3,
        reconnect_delay_s: float = 0.1,
        reconnect_delay_max_s: float = 2.0,
    ) -> None:
        if not endpoints:
            raise ValueError("a Modbus transport needs at least one endpoint")
        if not 0.0 < reconnect_delay_s <= reconnect_delay_max_s:
            raise ValueError("need 0 < reconnect_delay_s <= reconnect_delay_max_s")
        self._links = tuple(
            _EndpointLink(e, clock, timeout_s, reconnect_delay_s, reconnect_delay_max_s) for e in endpoints
        )
        self._link_of: dict[str, _EndpointLink] = {}
        for link in self._links:
            for device in link.map.devices:
                if device in self._link_of:
                    raise ValueError(f"device {device} is on two endpoints")
                self._link_of[device] = link
        self._devices = tuple(self._link_of)

    @property
    def devices(self) -> tuple[str, ...]:
        return self._devices

    async def connect(self) -> None:
        """Open every endpoint; an endpoint that does not answer yet is retried on reads."""
        await asyncio.gather(*(link.connect() for link in self._links))

    async def read(self) -> list[DeviceReading]:
        if len(self._links) == 1:
            return await self._links[0].read()
        batches = await asyncio.gather(*(link.read() for link in self._links))
        return [reading for batch in batches for reading in batch]

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        link = self._link_of.get(device)
        if link is None:
            raise TransportError(f"{device}: not served by this Modbus transport")
        if values:
            await link.write(device, values)

    async def heartbeat(self, counter: int) -> None:
        """Write ``counter`` (mod 65536) to the heartbeat register of every endpoint."""
        for link in self._links:
            await link.heartbeat(counter)

    async def read_command_ack(self, device: str, index: int = 0) -> int:
        """The command-acknowledge word the plant side echoes after applying a command word."""
        link = self._link_of.get(device)
        if link is None:
            raise TransportError(f"{device}: not served by this Modbus transport")
        return await link.read_command_ack(device, index)

    async def close(self) -> None:
        for link in self._links:
            await link.close()
