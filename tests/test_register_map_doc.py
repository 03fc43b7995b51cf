"""docs/register-map.md and docs/register-map-foaming.md are exactly what `poreline profiles
--line KIND --format markdown` prints; the JSON is read from the maps the servers use."""

from __future__ import annotations

import json
from pathlib import Path

import subprocess
import sys

import pytest

from drivers.lines import LineDefinition, casting_line, foaming_line
from drivers.modbus.map import plan_line_map
from drivers.opcua.map import line_tag_nodes
from paths import REPO_ROOT

ROOT = REPO_ROOT
DOCS = {"casting": ROOT / "docs" / "register-map.md", "foaming": ROOT / "docs" / "register-map-foaming.md"}
LINES = {"casting": casting_line, "foaming": foaming_line}


def profiles(fmt: str, line: str = "casting") -> str:
    """Run the real command (in a subprocess: tests/ must not shadow the packages)."""
    result = subprocess.run([sys.executable, "-m", "controller.cli", "profiles", "--format", fmt, "--line", line],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("line", ["casting", "foaming"])
def test_register_map_doc_is_up_to_date(line: str) -> None:
    doc = DOCS[line]
    assert profiles("markdown", line) == doc.read_text(encoding="utf-8"), (
        f"{doc.relative_to(ROOT)} is out of date: run "
        f"`poreline profiles --line {line} --format markdown > {doc.relative_to(ROOT)}`")


def test_default_line_is_casting() -> None:
    result = subprocess.run([sys.executable, "-m", "controller.cli", "profiles", "--format", "markdown"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == DOCS["casting"].read_text(encoding="utf-8")


@pytest.mark.parametrize("line", ["casting", "foaming"])
def test_profiles_json_is_read_from_the_maps(line: str) -> None:
    document = json.loads(profiles("json", line))
    definition: LineDefinition = LINES[line]()
    modbus_map = plan_line_map(definition)
    nodes = {(n.device, n.tag.name): n for n in line_tag_nodes(definition)}
    assert document["line_kind"] == definition.kind
    assert [d["name"] for d in document["devices"]] == [d.name for d in definition.devices]
    for device in document["devices"]:
        for tag in device["tags"]:
            entry = modbus_map.entry(device["name"], tag["name"])
            assert (tag["modbus"]["address"], tag["modbus"]["reference"], tag["modbus"]["bit"]) == (
                entry.address, entry.reference, entry.bit)
            assert tag["opcua"]["node_id"].endswith(";s=" + nodes[(device["name"], tag["name"])].identifier)
