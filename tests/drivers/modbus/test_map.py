"""The Modbus register map planned from the device profiles."""

from __future__ import annotations

import itertools

import pytest

from controller.lines.casting import profiles as cp
from controller.lines.casting.definition import casting_line
from drivers.modbus.map import (
    MAX_READ_REGISTERS,
    MAX_WRITE_REGISTERS,
    Access,
    ModbusMap,
    RegisterKind,
    WordOrder,
    plan_line_map,
    plan_modbus_map,
)
from drivers.profiles import DataType


def _line_map(**options: int) -> ModbusMap:
    return plan_line_map(casting_line(layers=2), **options)  # type: ignore[arg-type]


def test_spans_are_contiguous_without_overlap() -> None:
    spans = _line_map().spans
    assert spans[0].address == 0
    for before, after in itertools.pairwise(spans):
        assert after.address == before.end


def test_every_tag_of_every_device_has_exactly_one_entry() -> None:
    line = casting_line(layers=2)
    modbus_map = _line_map()
    for spec in line.devices:
        for tag in spec.profile.tags:
            entry = modbus_map.entry(spec.name, tag.name)
            if tag.data_type is DataType.FLOAT32:
                assert (entry.kind, entry.count, entry.word_order) == (RegisterKind.FLOAT32, 2, WordOrder.BIG)
            else:
                assert entry.bit is not None and entry.count == 1
            assert entry.access is (Access.READ_WRITE if tag.writable else Access.READ)


def test_bits_live_inside_their_word() -> None:
    modbus_map = _line_map()
    running = modbus_map.entry("dope_pump_1", "running")
    word = modbus_map.entry("dope_pump_1", "status_word_0")
    assert (running.address, running.bit, word.kind) == (word.address, 0, RegisterKind.STATUS_WORD)
    fan = modbus_map.entry("dryer", "fan_on")
    command = modbus_map.entry("dryer", "command_word_0")
    ack = modbus_map.ack_for(command)
    assert (fan.address, fan.bit, command.access) == (command.address, 0, Access.READ_WRITE)
    assert (ack.address, ack.access) == (command.address + 1, Access.READ)


def test_reference_is_address_plus_400001() -> None:
    for entry in _line_map(start_address=17).entries:
        assert entry.reference == entry.address + 400001
    assert _line_map().heartbeat.reference == 400001


def test_read_blocks_cover_the_map_within_125_registers() -> None:
    devices = [(d.name, d.profile) for d in casting_line(layers=2).devices]
    for limit in (MAX_READ_REGISTERS, 10):
        modbus_map = plan_modbus_map(devices, max_read_registers=limit)
        covered = [span for block in modbus_map.read_blocks for span in block.spans]
        assert covered == list(modbus_map.spans)
        for block in modbus_map.read_blocks:
            assert block.count <= limit
            assert block.spans[0].address == block.address
            assert block.spans[-1].end == block.address + block.count


def test_the_packed_two_layer_line_is_read_in_the_fewest_reads() -> None:
    """Packed (align=1) the map has no gaps, so it takes ceil(registers / 125) FC3 reads
    (two since the dope path's temperatures joined the casting line), each within the limit
    and together covering every register once."""
    blocks = _line_map().read_blocks
    total = sum(b.count for b in blocks)
    assert len(blocks) == -(-total // 125) == 2
    assert all(b.count <= 125 for b in blocks)
    assert [b.address for b in blocks] == [0, blocks[0].count]


def test_map_is_stable_across_calls() -> None:
    assert _line_map() == _line_map()
    assert _line_map().table() == _line_map().table()


def test_aligned_bases_leave_gaps_and_split_blocks() -> None:
    modbus_map = _line_map(align=100)
    bases = [modbus_map.base_address(d) for d in modbus_map.devices]
    assert bases == [100 * (i + 1) for i in range(len(bases))]
    assert len(modbus_map.read_blocks) == len(bases) + 1  # heartbeat + one per device


def test_write_plan_groups_contiguous_setpoints() -> None:
    modbus_map = _line_map()
    runs = modbus_map.write_plan("casting_knife", ["gap_2_setpoint_um", "gap_1_setpoint_um"])
    assert [(r.address, r.count) for r in runs] == [
        (modbus_map.entry("casting_knife", "gap_1_setpoint_um").address, 2),
        (modbus_map.entry("casting_knife", "gap_2_setpoint_um").address, 2),
    ]  # a measured gap sits between them
    runs = modbus_map.write_plan("dope_vessel_1", ["jacket_output_pct", "agitator_speed_setpoint_rpm"])
    assert [(r.address, r.count) for r in runs] == [(modbus_map.entry("dope_vessel_1", "jacket_output_pct").address, 4)]
    assert all(r.count <= MAX_WRITE_REGISTERS for r in runs)
    runs = modbus_map.write_plan("dryer", ["fan_on"])
    assert [s.kind for r in runs for s in r.spans] == [RegisterKind.COMMAND_WORD]


def test_write_plan_refuses_measured_tags() -> None:
    with pytest.raises(ValueError, match="not writable"):
        _line_map().write_plan("dope_pump_1", ["speed_rpm"])


def test_duplicate_devices_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        plan_modbus_map([("p", cp.DOPE_PUMP), ("p", cp.DOPE_PUMP)])
