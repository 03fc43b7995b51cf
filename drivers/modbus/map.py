"""Modbus/TCP register map of an endpoint, planned from the device profiles (never written twice).

The Modbus transport (``drivers.modbus.client``) and the simulator's Modbus server
(``simulator.serve.modbus``) both call :func:`plan_modbus_map` on the same devices, so an
address exists in one place only: here, as a rule over the profiles.

Convention
==========
Endpoint and unit
    One endpoint (host, port) is one PLC serving several devices on ONE Modbus unit id
    (default 1). Each device owns a block of holding registers starting at its *base
    address*; devices follow in the order given (the line's device order). Bases are packed
    (``align=1``: no gaps, so the fewest 125-register reads) or rounded
    up to a multiple of ``align`` (e.g. ``align=100`` gives PLC-style bases 100, 200, ...).

Addresses
    Every entry states its 0-based PDU address (what goes on the wire) and its 1-based
    4xxxx reference side by side: ``reference = 400001 + address``.

Layout of the endpoint (function codes 3 read, 16 write; 6 and 22 accepted for words)
    ``start_address``      heartbeat (uint16, written by the controller; the plant side's
                           watchdog watches it change). It sits first so it never moves when
                           devices or tags are added.
    then per device, from its base address:
    1. every FLOAT32 tag (measured and setpoint alike) in profile order, 2 registers each,
       word order stated per map: ``big`` = ABCD (high word first, the default and what
       pymodbus SimData FLOAT32 uses) or ``little`` = CDAB. Bytes inside a word are always
       big-endian. Setpoint registers read back the value the plant holds.
    2. status word(s): the device's STATUS bool tags as bits, bit 0 (LSB) = the first
       status tag in profile order, 16 per word (read only).
    3. command word(s): the device's COMMAND bool tags as bits, same bit rule (read/write;
       reads give the plant's readback). Unused bits must be written 0.
    4. command-acknowledge word(s), one per command word: the plant copies the command word
       it has applied here (read only) -- the handshake: write command, read back the ack.

Access
    ``read``: measured floats, status words, command-ack words (a client write is refused
    with ILLEGAL_DATA_ADDRESS). ``read_write``: setpoint floats, command words, heartbeat
    (a value outside the tag's limits is refused with ILLEGAL_DATA_VALUE).

Reads and writes
    :attr:`ModbusMap.read_blocks` are the contiguous runs of the map cut to at most 125
    registers without splitting a float. :meth:`ModbusMap.write_plan` groups the registers
    of the tags being written into contiguous runs of at most 123 registers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from drivers.definition import LineDefinition
from drivers.profiles import DataType, DeviceProfile, Direction

MAX_READ_REGISTERS = 125  # FC3 limit
MAX_WRITE_REGISTERS = 123  # FC16 limit
REFERENCE_OFFSET = 400001  # 4xxxx reference of PDU address 0
BITS_PER_WORD = 16


class WordOrder(StrEnum):
    """Order of the two 16-bit words of a 32-bit value (pymodbus ``word_order``)."""

    BIG = "big"  # ABCD: high word first
    LITTLE = "little"  # CDAB: low word first


class Access(StrEnum):
    READ = "read"
    READ_WRITE = "read_write"


class RegisterKind(StrEnum):
    FLOAT32 = "float32"  # one tag, 2 registers
    STATUS_BIT = "status_bit"  # one status tag: a bit of a status word
    COMMAND_BIT = "command_bit"  # one command tag: a bit of a command word
    STATUS_WORD = "status_word"
    COMMAND_WORD = "command_word"
    COMMAND_ACK = "command_ack"
    HEARTBEAT = "heartbeat"


_BIT_KINDS = (RegisterKind.STATUS_BIT, RegisterKind.COMMAND_BIT)


@dataclass(frozen=True, slots=True)
class RegisterEntry:
    """One row of the map: a tag (float or bit) or a whole word.

    Bit entries (``bit`` is not None) share the address of their word entry; every other
    entry owns ``count`` registers of its own (a *span*).
    """

    device: str  # "" for the endpoint's heartbeat
    tag: str  # tag name, or the word's name (status_word_0, command_word_0, command_ack_0, heartbeat)
    kind: RegisterKind
    address: int  # 0-based PDU address
    count: int  # registers
    data_type: str  # "float32", "bool" or "uint16"
    word_order: WordOrder | None  # for float32 only
    access: Access
    bit: int | None = None  # bit inside the word, 0 = LSB

    @property
    def reference(self) -> int:
        """1-based 4xxxx holding-register reference."""
        return REFERENCE_OFFSET + self.address

    @property
    def is_span(self) -> bool:
        return self.bit is None

    @property
    def end(self) -> int:
        """First address after this entry."""
        return self.address + self.count


@dataclass(frozen=True, slots=True)
class RegisterRun:
    """Contiguous registers read or written in one request; ``spans`` in address order."""

    address: int
    count: int
    spans: tuple[RegisterEntry, ...]

    @property
    def reference(self) -> int:
        return REFERENCE_OFFSET + self.address


@dataclass(frozen=True, slots=True)
class ModbusMap:
    unit_id: int
    word_order: WordOrder
    devices: tuple[str, ...]
    entries: tuple[RegisterEntry, ...]  # in address order (bits after their word)
    read_blocks: tuple[RegisterRun, ...]
    max_write_registers: int = MAX_WRITE_REGISTERS
    _by_key: dict[tuple[str, str], RegisterEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key = {(e.device, e.tag): e for e in self.entries}
        if len(by_key) != len(self.entries):
            raise ValueError("modbus map: duplicate (device, tag) entry")
        object.__setattr__(self, "_by_key", by_key)

    @property
    def spans(self) -> tuple[RegisterEntry, ...]:
        """Entries that own registers (floats and words), in address order."""
        return tuple(e for e in self.entries if e.is_span)

    @property
    def heartbeat(self) -> RegisterEntry:
        return self._by_key[("", "heartbeat")]

    def entry(self, device: str, tag: str) -> RegisterEntry:
        try:
            return self._by_key[(device, tag)]
        except KeyError:
            raise KeyError(f"modbus map has no entry {device}.{tag}") from None

    def device_entries(self, device: str) -> tuple[RegisterEntry, ...]:
        if device not in self.devices:
            raise KeyError(f"modbus map has no device {device!r} (devices: {', '.join(self.devices)})")
        return tuple(e for e in self.entries if e.device == device)

    def base_address(self, device: str) -> int:
        return self.device_entries(device)[0].address

    def contiguous_ranges(self) -> tuple[tuple[int, int], ...]:
        """(address, count) of each gap-free stretch of the map, before the 125 cut."""
        ranges: list[tuple[int, int]] = []
        for span in self.spans:
            if ranges and ranges[-1][0] + ranges[-1][1] == span.address:
                start, count = ranges[-1]
                ranges[-1] = (start, count + span.count)
            else:
                ranges.append((span.address, span.count))
        return tuple(ranges)

    def write_plan(self, device: str, tags: Iterable[str]) -> tuple[RegisterRun, ...]:
        """The registers to write for ``tags`` of ``device``: contiguous runs of their
        spans (a command bool contributes its whole command word), each at most
        ``max_write_registers`` long. Raises ValueError for a tag that is not writable."""
        spans: dict[int, RegisterEntry] = {}
        for name in tags:
            entry = self.entry(device, name)
            if entry.kind is RegisterKind.FLOAT32 and entry.access is Access.READ_WRITE:
                spans[entry.address] = entry
            elif entry.kind is RegisterKind.COMMAND_BIT:
                word = self._word_at(device, entry.address)
                spans[word.address] = word
            else:
                raise ValueError(f"{device}.{name} ({entry.kind.value}, {entry.access.value}) is not writable")
        return _runs(sorted(spans.values(), key=lambda e: e.address), self.max_write_registers)

    def _word_at(self, device: str, address: int) -> RegisterEntry:
        for entry in self.device_entries(device):
            if entry.is_span and entry.address == address:
                return entry
        raise KeyError(f"no word at address {address} for {device}")

    def ack_for(self, command_word: RegisterEntry) -> RegisterEntry:
        """The command-acknowledge word paired with a command word."""
        index = command_word.tag.removeprefix("command_word_")
        return self.entry(command_word.device, f"command_ack_{index}")

    def table(self) -> str:
        """The map as a Markdown table (for commissioning documents)."""
        lines = [
            f"Unit id {self.unit_id}; float32 word order {self.word_order.value} "
            f"({'ABCD' if self.word_order is WordOrder.BIG else 'CDAB'}); bit 0 = LSB.",
            "",
            "| device | tag | kind | address | 4xxxx | type | words | bit | access |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for e in self.entries:
            bit = "" if e.bit is None else str(e.bit)
            lines.append(
                f"| {e.device or '-'} | {e.tag} | {e.kind.value} | {e.address} | {e.reference} "
                f"| {e.data_type} | {e.count} | {bit} | {e.access.value} |"
            )
        return "\n".join(lines)


def _runs(spans: Sequence[RegisterEntry], max_registers: int) -> tuple[RegisterRun, ...]:
    """Group address-sorted spans into contiguous runs of at most ``max_registers``."""
    runs: list[RegisterRun] = []
    current: list[RegisterEntry] = []
    for span in spans:
        if span.count > max_registers:
            raise ValueError(f"{span.device}.{span.tag}: {span.count} registers exceed {max_registers}")
        if current:
            start = current[0].address
            contiguous = current[-1].end == span.address
            if not contiguous or span.end - start > max_registers:
                runs.append(RegisterRun(start, current[-1].end - start, tuple(current)))
                current = []
        current.append(span)
    if current:
        start = current[0].address
        runs.append(RegisterRun(start, current[-1].end - start, tuple(current)))
    return tuple(runs)


def _words(count: int) -> int:
    return (count + BITS_PER_WORD - 1) // BITS_PER_WORD


def _plan_device(
    device: str, profile: DeviceProfile, base: int, word_order: WordOrder
) -> list[RegisterEntry]:
    entries: list[RegisterEntry] = []
    address = base
    for tag in profile.tags:
        if tag.data_type is DataType.FLOAT32:
            access = Access.READ_WRITE if tag.writable else Access.READ
            entries.append(RegisterEntry(device, tag.name, RegisterKind.FLOAT32, address, 2,
                                         "float32", word_order, access))
            address += 2
    status_tags = [t for t in profile.tags if t.data_type is DataType.BOOL and t.direction is Direction.STATUS]
    command_tags = [t for t in profile.tags if t.data_type is DataType.BOOL and t.direction is Direction.COMMAND]
    for index in range(_words(len(status_tags))):
        entries.append(RegisterEntry(device, f"status_word_{index}", RegisterKind.STATUS_WORD, address, 1,
                                     "uint16", None, Access.READ))
        for bit, tag in enumerate(status_tags[index * BITS_PER_WORD:(index + 1) * BITS_PER_WORD]):
            entries.append(RegisterEntry(device, tag.name, RegisterKind.STATUS_BIT, address, 1,
                                         "bool", None, Access.READ, bit))
        address += 1
    command_words = _words(len(command_tags))
    for index in range(command_words):
        entries.append(RegisterEntry(device, f"command_word_{index}", RegisterKind.COMMAND_WORD, address, 1,
                                     "uint16", None, Access.READ_WRITE))
        for bit, tag in enumerate(command_tags[index * BITS_PER_WORD:(index + 1) * BITS_PER_WORD]):
            entries.append(RegisterEntry(device, tag.name, RegisterKind.COMMAND_BIT, address, 1,
                                         "bool", None, Access.READ_WRITE, bit))
        address += 1
    for index in range(command_words):
        entries.append(RegisterEntry(device, f"command_ack_{index}", RegisterKind.COMMAND_ACK, address, 1,
                                     "uint16", None, Access.READ))
        address += 1
    return entries


def plan_modbus_map(
    devices: Sequence[tuple[str, DeviceProfile]],
    *,
    unit_id: int = 1,
    start_address: int = 0,
    word_order: WordOrder = WordOrder.BIG,
    align: int = 1,
    max_read_registers: int = MAX_READ_REGISTERS,
    max_write_registers: int = MAX_WRITE_REGISTERS,
) -> ModbusMap:
    """Plan the register map of one endpoint serving ``devices`` (name, profile) in order.

    Pure and deterministic: the same devices and options give the same map.
    """
    if not 1 <= unit_id <= 247:
        raise ValueError(f"unit id {unit_id} outside 1..247")
    if align < 1:
        raise ValueError("align must be >= 1")
    if not 2 <= max_read_registers <= MAX_READ_REGISTERS:
        raise ValueError(f"max_read_registers must be 2..{MAX_READ_REGISTERS}")
    if not 2 <= max_write_registers <= MAX_WRITE_REGISTERS:
        raise ValueError(f"max_write_registers must be 2..{MAX_WRITE_REGISTERS}")
    names = [name for name, _ in devices]
    if len(set(names)) != len(names):
        raise ValueError("modbus map: duplicate device name")
    entries: list[RegisterEntry] = [
        RegisterEntry("", "heartbeat", RegisterKind.HEARTBEAT, start_address, 1, "uint16", None, Access.READ_WRITE)
    ]
    next_free = start_address + 1
    for name, profile in devices:
        base = -(-next_free // align) * align
        device_entries = _plan_device(name, profile, base, word_order)
        entries += device_entries
        next_free = max((e.end for e in device_entries), default=base)
    if next_free > 65536:
        raise ValueError(f"modbus map needs {next_free} addresses, more than 65536")
    spans = [e for e in entries if e.is_span]
    blocks = _runs(spans, max_read_registers)
    return ModbusMap(unit_id, word_order, tuple(names), tuple(entries), blocks, max_write_registers)


def plan_line_map(
    line: LineDefinition,
    devices: Sequence[str] | None = None,
    *,
    unit_id: int = 1,
    start_address: int = 0,
    word_order: WordOrder = WordOrder.BIG,
    align: int = 1,
) -> ModbusMap:
    """:func:`plan_modbus_map` for (a subset of) a line's devices, in the line's order."""
    chosen = [d for d in line.devices if devices is None or d.name in devices]
    if devices is not None:
        missing = set(devices) - {d.name for d in chosen}
        if missing:
            raise KeyError(f"line {line.name} has no device(s): {', '.join(sorted(missing))}")
    return plan_modbus_map(
        [(d.name, d.profile) for d in chosen],
        unit_id=unit_id, start_address=start_address, word_order=word_order, align=align,
    )
