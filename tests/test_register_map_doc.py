"""docs/register-map.md is exactly what `poreline profiles --format markdown` prints."""

from __future__ import annotations

import json
from pathlib import Path

import subprocess
import sys

from drivers.lines import casting_line
from drivers.modbus_map import plan_line_map
from drivers.opcua_map import line_tag_nodes

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "register-map.md"


def profiles(fmt: str) -> str:
    """Run the real command (in a subprocess: tests/ must not shadow the packages)."""
    result = subprocess.run([sys.executable, "-m", "controller.cli", "profiles", "--format", fmt],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_register_map_doc_is_up_to_date() -> None:
    assert profiles("markdown") == DOC.read_text(encoding="utf-8"), (
        "docs/register-map.md is out of date: run "
        "`poreline profiles --format markdown > docs/register-map.md`")


def test_profiles_json_is_read_from_the_maps() -> None:
    document = json.loads(profiles("json"))
    line = casting_line()
    modbus_map = plan_line_map(line)
    nodes = {(n.device, n.tag.name): n for n in line_tag_nodes(line)}
    assert [d["name"] for d in document["devices"]] == [d.name for d in line.devices]
    for device in document["devices"]:
        for tag in device["tags"]:
            entry = modbus_map.entry(device["name"], tag["name"])
            assert (tag["modbus"]["address"], tag["modbus"]["reference"], tag["modbus"]["bit"]) == (
                entry.address, entry.reference, entry.bit)
            assert tag["opcua"]["node_id"].endswith(";s=" + nodes[(device["name"], tag["name"])].identifier)
