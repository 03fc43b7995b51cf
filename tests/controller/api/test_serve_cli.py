"""``poreline serve`` refuses a plant file it cannot use before it starts anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize(("text", "reason"), [
    (None, "cannot read"),
    ("line: casting\nendpoints:\n  - {name: plc, transport: profibus, devices: all}\n", "unknown transport"),
    ("line: foaming\nendpoints:\n  - {name: plc, transport: modbus, port: 5020, devices: [dope_vessel_1]}\n",
     "dope_vessel_1"),
    ("line: casting\ninterlocks: {melt_overpressure_trip_bar: 300}\n"
     "endpoints:\n  - {name: plc, transport: modbus, port: 5020, devices: all}\n",
     "casting line has no setting 'melt_overpressure_trip_bar'"),
    ("line: weaving\nendpoints:\n  - {name: plc, transport: modbus, port: 5020, devices: all}\n", "weaving"),
])
def test_serve_refuses_an_unusable_plant_file(tmp_path: Path, api: Any, text: str | None, reason: str) -> None:
    path = tmp_path / "plant.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = api.cli("serve", "--plant", str(path), "--database", f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert result.exit_code == 2, result.output
    assert reason in " ".join(result.output.split())  # rich wraps long lines
    assert not (tmp_path / "db.sqlite").exists()  # refused before anything started
