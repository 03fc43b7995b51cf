"""The Modbus status and command block's map is published in one form (``BLOCK_MAP``) and
documented twice: in the generated register maps (``poreline profiles``) and in the table of
docs/scada-modbus-block.md, which must say the same addresses, names and access."""

from __future__ import annotations

import re
from pathlib import Path

from controller.cli.profiles import profiles_document, profiles_markdown
from controller.lines import builtin_line
from controller.scada.block_map import BLOCK_MAP, BLOCK_SIZE, WRITABLE

DOC = Path(__file__).resolve().parents[3] / "docs" / "scada-modbus-block.md"
ROW = re.compile(r"^\| (\d+)(?:–(\d+))? \| \d+(?:–\d+)? \| ([^|]+?) \| (\*\*write\*\*|read) \|")


def test_the_map_covers_the_block_once_and_marks_exactly_the_writable_registers() -> None:
    covered = [a for r in BLOCK_MAP for a in range(r.address, r.address + r.count)]
    assert covered == list(range(BLOCK_SIZE))
    assert {r.address for r in BLOCK_MAP if r.access == "write"} == WRITABLE


def test_the_document_s_table_says_what_the_map_says() -> None:
    rows = [m.groups() for line in DOC.read_text(encoding="utf-8").splitlines() if (m := ROW.match(line))]
    documented = [(int(first), int(last or first) - int(first) + 1, name, access.strip("*"))
                  for first, last, name, access in rows]
    assert documented == [(r.address, r.count, r.name, r.access) for r in BLOCK_MAP]


def test_poreline_profiles_publishes_the_block() -> None:
    definition, _control = builtin_line("foaming")
    document = profiles_document(definition)
    assert [(r["address"], r["name"], r["access"]) for r in document["status_block"]["registers"]] == [
        (r.address, r.name, r.access) for r in BLOCK_MAP]
    markdown = profiles_markdown(document)
    assert "| 21 | 40022 | 1 | command sequence | write |" in markdown
    assert "docs/scada-modbus-block.md" in markdown
