"""Serve a plant (a :class:`drivers.sim_transport.PlantPort`) as a Modbus/TCP PLC.

The register layout is the :class:`drivers.modbus.map.ModbusMap` the Modbus transport reads
(see that module for the convention); nothing about an address is written here.

Datastore
    One pymodbus ``SimDevice`` (unit id of the map) with one ``SimData`` of plain registers
    per gap-free stretch of the map; addresses outside the map answer ILLEGAL_DATA_ADDRESS.

Plant -> registers
    :meth:`ModbusPlantServer.publish` (the runner calls it after each plant step) encodes
    ``plant.read_device()`` of every device into a shadow image and stores it with the
    server's own ``async_setValues``. It enters the datastore under function code 3 with
    values, a combination no client request produces (a client's FC3 carries no values),
    so the SimDevice action can tell the plant's updates from a client's writes.

Client -> plant
    The ``SimDevice`` action (a coroutine, called before the datastore changes) sees every
    client write (FC 6, 16, 22, 23) and:
    - refuses with ILLEGAL_DATA_ADDRESS a write touching a read-only register (measured
      float, status word, command ack) or only half of a float, and any coil write;
    - refuses with ILLEGAL_DATA_VALUE a float outside its tag's limits (compared in float32)
      or NaN, and a command word with bits no command tag owns (the PLC enforces limits too);
    - otherwise applies the decoded values with ``plant.write_device()`` (DEVICE_FAILURE if
      the plant raises), copies each command word written into its command-ack register,
      and notes when the heartbeat register changed (:meth:`heartbeat_age_s`).

Every publish also sets each command-ack register to the command word the plant holds, so
the acknowledge reflects the real command state whichever protocol wrote it (a command
written over OPC UA, or the watchdog's safe values after a trip).
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Mapping

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.clock import Clock
from drivers.modbus.map import Access, ModbusMap, RegisterEntry, RegisterKind
from drivers.profiles import DeviceProfile, TagDirectionError, TagLimitError
from drivers.sim_transport import PlantPort

PUBLISH_FUNCTION_CODE = 3  # with values: the plant's own update (see module docstring)
CLIENT_WRITE_FUNCTION_CODES = frozenset({6, 16, 22, 23})
_FLOAT32 = AsyncModbusTcpClient.DATATYPE.FLOAT32
_FLOAT32_MAX = 3.4028234663852886e38


class _Refused(Exception):
    def __init__(self, code: ExcCodes, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def _to_float32(value: float) -> float:
    """Round to float32 (clamping finite values beyond its range)."""
    if math.isfinite(value) and abs(value) > _FLOAT32_MAX:
        value = math.copysign(_FLOAT32_MAX, value)
    return float(struct.unpack(">f", struct.pack(">f", value))[0])


class ModbusPlantServer:
    def __init__(
        self,
        plant: PlantPort,
        modbus_map: ModbusMap,
        profiles: Mapping[str, DeviceProfile],
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """``profiles``: device name -> profile, for the limits the PLC enforces (the same
        profiles the map was planned from). ``port=0`` lets the OS choose (see ``port``)."""
        missing = [d for d in modbus_map.devices if d not in profiles]
        if missing:
            raise ValueError(f"no profile for: {', '.join(missing)}")
        self._plant = plant
        self._map = modbus_map
        self._profiles = dict(profiles)
        self._clock = clock
        self._host = host
        self._port = port
        self._server: ModbusTcpServer | None = None
        self._ranges = modbus_map.contiguous_ranges()
        self._shadow: dict[int, int] = {a: 0 for start, n in self._ranges for a in range(start, start + n)}
        self._span_at: dict[int, RegisterEntry] = {}
        for span in modbus_map.spans:
            for address in range(span.address, span.end):
                self._span_at[address] = span
        self._bits: dict[int, tuple[RegisterEntry, ...]] = {}
        for entry in modbus_map.entries:
            if entry.bit is not None:
                self._bits[entry.address] = (*self._bits.get(entry.address, ()), entry)
        self._order = modbus_map.word_order.value
        self._heartbeat_changed_s = clock.now_s()
        self.last_refusal = ""  # why the last refused client write was refused

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The bound port (the OS's choice when constructed with 0, once started)."""
        return self._port

    @property
    def heartbeat_value(self) -> int:
        return self._shadow[self._map.heartbeat.address]

    def heartbeat_age_s(self, now_s: float) -> float:
        """Clock seconds since the heartbeat register last changed (since ``start()`` if it
        never did)."""
        return now_s - self._heartbeat_changed_s

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("Modbus plant server already started")
        device = SimDevice(
            id=self._map.unit_id,
            simdata=[SimData(address=start, count=n, values=0, datatype=DataType.REGISTERS)
                     for start, n in self._ranges],
            action=self._on_access,
        )
        server = ModbusTcpServer(device, address=(self._host, self._port))
        await server.serve_forever(background=True)
        self._server = server
        sockets = getattr(server.transport, "sockets", None)
        if sockets:
            self._port = int(sockets[0].getsockname()[1])
        self._heartbeat_changed_s = self._clock.now_s()
        await self.publish()  # also restores the heartbeat and acks kept from before a restart

    async def stop(self) -> None:
        """Close the listening socket and every client connection."""
        server, self._server = self._server, None
        if server is None:
            return
        wait_closed = getattr(server.transport, "wait_closed", None)  # the asyncio.Server listening
        await server.shutdown()
        if wait_closed is not None:
            await asyncio.wait_for(wait_closed(), timeout=2.0)

    async def publish(self) -> None:
        """Copy every device's current values from the plant into the registers."""
        for device in self._map.devices:
            values = self._plant.read_device(device)
            for entry in self._map.device_entries(device):
                if entry.kind is RegisterKind.FLOAT32:
                    value = values.get(entry.tag)
                    if value is not None:
                        registers = AsyncModbusTcpClient.convert_to_registers(
                            _to_float32(float(value)), _FLOAT32, word_order=self._order)
                        self._shadow[entry.address] = registers[0]
                        self._shadow[entry.address + 1] = registers[1]
                elif entry.kind in (RegisterKind.STATUS_WORD, RegisterKind.COMMAND_WORD):
                    word = self._shadow[entry.address]
                    for bit_entry in self._bits.get(entry.address, ()):
                        value = values.get(bit_entry.tag)
                        if value is not None and bit_entry.bit is not None:
                            mask = 1 << bit_entry.bit
                            word = (word | mask) if value >= 0.5 else (word & ~mask)
                    self._shadow[entry.address] = word
                    if entry.kind is RegisterKind.COMMAND_WORD:
                        # the acknowledge shows the command the plant holds, whoever wrote it
                        # (OPC UA, Modbus, or the watchdog driving it safe)
                        self._shadow[self._map.ack_for(entry).address] = word
        await self._store()

    async def _store(self) -> None:
        if self._server is None:
            return
        for start, count in self._ranges:
            await self._server.async_setValues(
                self._map.unit_id, PUBLISH_FUNCTION_CODE, start,
                [self._shadow[a] for a in range(start, start + count)],
            )

    async def _on_access(
        self,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        current_registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if set_values is None:
            return None  # a read
        if function_code == PUBLISH_FUNCTION_CODE:
            return None  # the plant's own update
        if function_code not in CLIENT_WRITE_FUNCTION_CODES:
            self.last_refusal = f"function code {function_code} is not served (holding registers only)"
            return ExcCodes.ILLEGAL_ADDRESS
        try:
            self._apply_client_write(start_address, address, [int(v) for v in set_values], current_registers)
        except _Refused as refused:
            self.last_refusal = str(refused)
            return refused.code
        return None

    def _apply_client_write(
        self, start_address: int, address: int, words: list[int], current_registers: list[int]
    ) -> None:
        end = address + len(words)
        spans: list[RegisterEntry] = []
        for register in range(address, end):
            span = self._span_at.get(register)
            if span is None:
                raise _Refused(ExcCodes.ILLEGAL_ADDRESS, f"address {register} is not in the map")
            if span.access is not Access.READ_WRITE:  # measured float, status word, command ack
                raise _Refused(ExcCodes.ILLEGAL_ADDRESS,
                               f"{span.device}.{span.tag} at {span.reference} is read-only")
            if span.address < address or span.end > end:
                raise _Refused(ExcCodes.ILLEGAL_ADDRESS,
                               f"{span.device}.{span.tag} at {span.reference}: write both words of a float in one request")
            if not spans or spans[-1] is not span:
                spans.append(span)

        per_device: dict[str, dict[str, float]] = {}
        acks: dict[int, int] = {}
        heartbeat: int | None = None
        for span in spans:
            offset = span.address - address
            if span.kind is RegisterKind.FLOAT32:
                tag = self._profiles[span.device].tag(span.tag)
                value = float(AsyncModbusTcpClient.convert_from_registers(
                    words[offset:offset + 2], _FLOAT32, word_order=self._order))  # type: ignore[arg-type]
                if math.isnan(value) or not (_to_float32(tag.low) <= value <= _to_float32(tag.high)):
                    raise _Refused(ExcCodes.ILLEGAL_VALUE,
                                   f"{span.device}.{span.tag}: {value:g} {tag.unit} outside limits "
                                   f"{tag.low:g}..{tag.high:g} {tag.unit}")
                per_device.setdefault(span.device, {})[span.tag] = min(max(value, tag.low), tag.high)
            elif span.kind is RegisterKind.COMMAND_WORD:
                word = words[offset]
                owned = 0
                for bit_entry in self._bits.get(span.address, ()):
                    if bit_entry.bit is not None:
                        owned |= 1 << bit_entry.bit
                        per_device.setdefault(span.device, {})[bit_entry.tag] = float((word >> bit_entry.bit) & 1)
                if word & ~owned:
                    raise _Refused(ExcCodes.ILLEGAL_VALUE,
                                   f"{span.device}.{span.tag}: bits {word & ~owned:#06x} belong to no command")
                acks[self._map.ack_for(span).address] = word
            else:
                heartbeat = words[offset]

        checked: dict[str, dict[str, float]] = {}
        for device, values in per_device.items():  # check every device before applying any
            profile = self._profiles[device]
            try:
                checked[device] = {name: profile.tag(name).check_write(v, device) for name, v in values.items()}
            except (TagLimitError, TagDirectionError) as exc:
                raise _Refused(ExcCodes.ILLEGAL_VALUE, str(exc)) from exc
        for device, values in checked.items():
            try:
                self._plant.write_device(device, values)
            except Exception as exc:  # the plant model refused: report it to the client
                raise _Refused(ExcCodes.DEVICE_FAILURE, f"{device}: plant refused the write: {exc!r}") from exc

        for register, word in enumerate(words, start=address):
            self._shadow[register] = word
        for ack_address, word in acks.items():
            self._shadow[ack_address] = word
            current_registers[ack_address - start_address] = word
        if heartbeat is not None and heartbeat != current_registers[self._map.heartbeat.address - start_address]:
            self._heartbeat_changed_s = self._clock.now_s()
