"""docs/register-map-<kind>.md is exactly what `poreline profiles --line KIND --format markdown`
prints, for every built-in line kind; the JSON is read from the maps the servers use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from paths import DOCS, REPO_ROOT

from controller.lines import default_kind, kind_named, kinds
from drivers.modbus.map import plan_line_map
from drivers.opcua.map import line_tag_nodes

ROOT = REPO_ROOT
# the kinds shipped in controller/lines/ (a test may register more)
BUILTIN_KINDS = [k.name for k in kinds() if type(k).__module__.startswith("controller.lines.")]


def doc_of(kind: str) -> Path:
    return DOCS / f"register-map-{kind}.md"


def profiles(fmt: str, line: str) -> str:
    """Run the real command (in a subprocess: tests/ must not shadow the packages)."""
    result = subprocess.run([sys.executable, "-m", "controller.cli", "profiles", "--format", fmt, "--line", line],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("line", BUILTIN_KINDS)
def test_register_map_doc_is_up_to_date(line: str) -> None:
    doc = doc_of(line)
    assert profiles("markdown", line) == doc.read_text(encoding="utf-8"), (
        f"{doc.relative_to(ROOT)} is out of date: run "
        f"`poreline profiles --line {line} --format markdown > {doc.relative_to(ROOT)}`")


def test_without_a_line_the_default_kind_is_printed() -> None:
    result = subprocess.run([sys.executable, "-m", "controller.cli", "profiles", "--format", "markdown"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == doc_of(default_kind().name).read_text(encoding="utf-8")


@pytest.mark.parametrize("line", BUILTIN_KINDS)
def test_profiles_json_is_read_from_the_maps(line: str) -> None:
    document = json.loads(profiles("json", line))
    definition = kind_named(line).definition()
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
        declared = {d.tag.name: d.tag.unit for d in definition.derived_on(device["name"])}
        assert {t["name"]: t["unit"] for t in device["derived_tags"]} == declared  # derived tags, with units
