"""The Modbus/TCP status and command block, driven by an independent client (pyModbusTCP):
a Start through the command word is acknowledged with its sequence number and the line
starts, with ``modbus:<address>`` as the command's user in the batch record; a command the
state does not take, one the line refuses and an unknown code answer their result codes;
a client outside the allow list reads but cannot write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from api_support import short_recipe
from pyModbusTCP.client import ModbusClient
from scada_support import seed_users

from controller.runtime.service import LineService, RuntimeConfig
from controller.scada.block_map import (
    REG_ACK_COMMAND,
    REG_ACK_SEQUENCE,
    REG_COMMAND,
    REG_HEARTBEAT,
    REG_LAYOUT,
    REG_RESULT,
    REG_RUN_LO,
    REG_STATE,
    REG_STEP,
    REG_UNIT_MODE,
    Result,
)
from controller.scada.modbus_block import ModbusBlock, ModbusSettings
from controller.store import create_engine_for, load_batch_record

RECIPE_ID = "psf-microfilter-example-viii"
START, HOLD, UNHOLD = 2, 4, 5
EXECUTE, IDLE = 6, 4  # PackML state numbers


@dataclass
class Blocks:
    url: str
    service: LineService
    operating: ModbusBlock  # writes from 127.0.0.1; Start runs RECIPE_ID
    unreleased: ModbusBlock  # writes from 127.0.0.0/8; Start runs a recipe never released
    read_only: ModbusBlock  # writes from 192.0.2.1 only


@pytest.fixture
async def blocks(tmp_path: Path) -> AsyncIterator[Blocks]:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    await asyncio.to_thread(seed_users, url, {"erin": "engineer", "emil": "engineer"},
                            recipe=(RECIPE_ID, short_recipe(production_min=1)))
    service = LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / "runtime", kind="casting",
                                        speed=100.0, scan_period_s=1.0, sample_period_s=30.0))
    await service.start()
    made = [ModbusBlock(service, ModbusSettings("127.0.0.1", 0, allow, recipe))
            for allow, recipe in ((("127.0.0.1",), RECIPE_ID), (("127.0.0.0/8",), "never-released"),
                                  (("192.0.2.1",), RECIPE_ID))]
    try:
        for block in made:
            await block.start()
        yield Blocks(url, service, *made)
    finally:
        for block in made:
            await block.stop()
        await service.stop()


def _client(block: ModbusBlock) -> ModbusClient:
    return ModbusClient(host="127.0.0.1", port=block.port, unit_id=1, timeout=5.0)


async def _read(client: ModbusClient) -> list[int]:
    registers = await asyncio.to_thread(client.read_holding_registers, REG_LAYOUT, 25)
    assert registers is not None, client.last_error_as_txt
    return list(registers)


async def _command(client: ModbusClient, code: int, sequence: int, timeout_s: float = 15.0) -> list[int]:
    """Write command and sequence in one request, wait for the acknowledge of that sequence."""
    assert await asyncio.to_thread(client.write_multiple_registers, REG_COMMAND, [code, sequence]), \
        client.last_except_as_txt
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        registers = await _read(client)
        if registers[REG_ACK_SEQUENCE] == sequence:
            return registers
        await asyncio.sleep(0.02)
    raise AssertionError(f"no acknowledge of sequence {sequence}")


async def _until_state(client: ModbusClient, number: int, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        registers = await _read(client)
        if registers[REG_STATE] == number:
            return registers
        await asyncio.sleep(0.02)
    raise AssertionError(f"state {number} not reached")


async def test_a_start_through_the_command_word_is_acknowledged_and_the_line_starts(blocks: Blocks) -> None:
    client = _client(blocks.operating)
    idle = await _until_state(client, IDLE)
    assert idle[REG_LAYOUT] == 1 and idle[REG_STEP] == 0 and idle[REG_UNIT_MODE] == 1  # Production
    await asyncio.sleep(0.1)
    assert (await _read(client))[REG_HEARTBEAT] != idle[REG_HEARTBEAT]  # the runtime is scanning

    # in Maintenance the register says so, and a Start through the command word is refused
    await blocks.service.set_unit_mode("maintenance", "erin", "pump service")
    await asyncio.sleep(0.2)
    assert (await _read(client))[REG_UNIT_MODE] == 2
    ack = await _command(client, START, 9)
    assert (ack[REG_ACK_COMMAND], ack[REG_RESULT]) == (START, Result.REFUSED)
    await blocks.service.set_unit_mode("production", "erin", "service done")

    for code, sequence, result in ((UNHOLD, 1, Result.NOT_ALLOWED_IN_STATE), (99, 2, Result.INVALID_COMMAND),
                                   (START, 3, Result.ACCEPTED)):
        ack = await _command(client, code, sequence)
        assert (ack[REG_ACK_COMMAND], ack[REG_RESULT]) == (code, result), sequence
    running = await _until_state(client, EXECUTE)
    run_id = blocks.service.status()["run_id"]
    assert run_id is not None and running[REG_RUN_LO] == run_id and running[REG_STEP] >= 1

    ack = await _command(client, START, 4)  # one run at a time
    assert ack[REG_RESULT] == Result.NOT_ALLOWED_IN_STATE
    ack = await _command(client, START, 4)  # the same sequence again: not a new command
    assert ack[REG_RESULT] == Result.NOT_ALLOWED_IN_STATE
    ack = await _command(client, HOLD, 5)
    assert ack[REG_RESULT] == Result.ACCEPTED
    client.close()

    # a block whose Start runs a recipe never released: the state takes Start, the line refuses it
    other = _client(blocks.unreleased)
    await _until_state(other, 11)  # Held
    await _command(other, 3, 1)  # stop ...
    await _until_state(other, 2)  # ... Stopped
    await _command(other, 1, 2)  # reset
    await _until_state(other, IDLE)
    ack = await _command(other, START, 3)
    assert ack[REG_RESULT] == Result.REFUSED
    assert blocks.service.status()["state"] == "Idle"
    other.close()

    assert await asyncio.to_thread(blocks.service.writer.wait_idle, 10.0)
    db = create_engine_for(blocks.url)
    try:
        record = load_batch_record(db, run_id)
    finally:
        db.dispose()
    accepted = [(c.command, c.user, c.reason) for c in record.commands if c.accepted]
    assert ("start", "modbus:127.0.0.1", "via Modbus/TCP") in accepted
    assert ("hold", "modbus:127.0.0.1", "via Modbus/TCP") in accepted


async def test_a_client_outside_the_allow_list_reads_but_cannot_write(blocks: Blocks) -> None:
    client = _client(blocks.read_only)
    before = await _until_state(client, IDLE)
    written = await asyncio.to_thread(client.write_multiple_registers, REG_COMMAND, [START, 1])
    assert not written and client.last_except == 1  # ILLEGAL FUNCTION
    assert not await asyncio.to_thread(client.write_single_register, 0, 7)
    await asyncio.sleep(0.2)
    after = await _read(client)
    assert after[REG_COMMAND:REG_RESULT + 1] == before[REG_COMMAND:REG_RESULT + 1] == [0] * 5
    assert blocks.service.status()["state"] == "Idle"
    client.close()
