"""The register map of the line runtime's Modbus/TCP status and command block: addresses,
codes and the published table (``poreline profiles``, docs/scada-modbus-block.md). Plain
data, importable without the Modbus server (:mod:`controller.scada.modbus_block` serves it)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from controller.engine.states import Command

LAYOUT_VERSION = 1
UNIT_ID = 1
# holding registers, 0-based PDU addresses (4xxxx reference = address + 40001)
REG_LAYOUT, REG_HEARTBEAT, REG_STATE, REG_UNIT_MODE, REG_STEP, REG_ALARMS, REG_PRIORITY, REG_FLAGS = range(8)
REG_COUNT_HI, REG_COUNT_LO, REG_RUN_HI, REG_RUN_LO = 8, 9, 10, 11
REG_COMMAND, REG_SEQUENCE, REG_ACK_SEQUENCE, REG_ACK_COMMAND, REG_RESULT = 20, 21, 22, 23, 24
BLOCK_SIZE = 25
WRITABLE = frozenset({REG_COMMAND, REG_SEQUENCE})


class Result(IntEnum):
    """The acknowledge's result code (register 24)."""

    NONE = 0  # no command acknowledged yet
    ACCEPTED = 1  # the engine took the command
    REFUSED = 2  # the state takes it, the line refused it (alarms standing, no recipe, no batch record...)
    NOT_ALLOWED_IN_STATE = 3
    INVALID_COMMAND = 4  # not a command code
    BUSY = 5  # another command is still being carried out


# PackTags Command.CntrlCmd (ISA-TR88.00.02) -> the engine's command
COMMAND_CODES: dict[int, Command] = {1: Command.RESET, 2: Command.START, 3: Command.STOP, 4: Command.HOLD,
                                     5: Command.UNHOLD, 6: Command.SUSPEND, 7: Command.UNSUSPEND, 8: Command.ABORT,
                                     9: Command.CLEAR}


@dataclass(frozen=True, slots=True)
class BlockRegister:
    """One row of the block's published map (``poreline profiles``, docs/scada-modbus-block.md)."""

    address: int  # 0-based PDU address
    count: int  # registers (2: UINT32, high word first)
    name: str
    meaning: str

    @property
    def access(self) -> str:
        return "write" if self.address in WRITABLE else "read"


BLOCK_MAP: tuple[BlockRegister, ...] = (
    BlockRegister(REG_LAYOUT, 1, "layout version", f"{LAYOUT_VERSION} (changes when this map changes)"),
    BlockRegister(REG_HEARTBEAT, 1, "runtime heartbeat", "+1 after every scan, wraps 65535 -> 0"),
    BlockRegister(REG_STATE, 1, "PackML state number", "OPC 30050 state number (6 Execute, 11 Held, 17 Complete, ...)"),
    BlockRegister(REG_UNIT_MODE, 1, "unit mode", "1 Production, 2 Maintenance, 3 Manual"),
    BlockRegister(REG_STEP, 1, "step index", "the recipe step being executed, 1-based; 0: no step"),
    BlockRegister(REG_ALARMS, 1, "active alarm count", "annunciated alarms whose condition is active"),
    BlockRegister(REG_PRIORITY, 1, "highest active priority", "1 (highest) ... 4; 0: none active"),
    BlockRegister(REG_FLAGS, 1, "status bits", "bit 0 run active, bit 1 acting state, bit 2 Modbus command in progress"),
    BlockRegister(REG_COUNT_HI, 2, "production count", "UINT32, whole units of the run's product (m cast, kg extruded)"),
    BlockRegister(REG_RUN_HI, 2, "run id", "UINT32, the batch record's run id; 0: no run yet"),
    BlockRegister(REG_RUN_LO + 1, REG_COMMAND - REG_RUN_LO - 1, "reserved", "0"),
    BlockRegister(REG_COMMAND, 1, "command code",
                  ", ".join(f"{code} {command.value.title()}" for code, command in COMMAND_CODES.items())),
    BlockRegister(REG_SEQUENCE, 1, "command sequence", "1-65535; a new value carries out the command code"),
    BlockRegister(REG_ACK_SEQUENCE, 1, "acknowledged sequence", "the sequence number answered last"),
    BlockRegister(REG_ACK_COMMAND, 1, "acknowledged command", "its command code"),
    BlockRegister(REG_RESULT, 1, "result code", "0 none yet, " + ", ".join(
        f"{r.value} {r.name.lower().replace('_', ' ')}" for r in Result if r is not Result.NONE)),
)
