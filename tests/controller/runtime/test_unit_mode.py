"""The unit mode belongs to the line, not to one runtime process: a runtime restarted while the
line is in Maintenance comes back in Maintenance (a restart never silently puts a line that
is worked on back into Production), and a mode file that names no mode stops the start."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.engine.states import UnitMode
from controller.runtime.service import LineService, RuntimeConfig


def _service(tmp_path: Path) -> LineService:
    return LineService(RuntimeConfig(database_url=f"sqlite:///{tmp_path / 'poreline.db'}", state_dir=tmp_path / "runtime",
                                     kind="casting", speed=200.0))


async def test_a_restarted_runtime_keeps_the_unit_mode_it_was_given(tmp_path: Path) -> None:
    first = _service(tmp_path)
    await first.start()
    try:
        assert first.unit_mode is UnitMode.PRODUCTION
        status = await first.set_unit_mode("maintenance", "erin", "replace the dryer fan")
        assert status["unit_mode"] == "Maintenance"
    finally:
        await first.stop()

    second = _service(tmp_path)
    await second.start()
    try:
        assert second.unit_mode is UnitMode.MAINTENANCE and second.status()["unit_mode"] == "Maintenance"
    finally:
        await second.stop()


async def test_a_mode_file_that_names_no_mode_stops_the_start_naming_it(tmp_path: Path) -> None:
    (tmp_path / "runtime").mkdir()
    (tmp_path / "runtime" / "casting-1.unit-mode").write_text("producton\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"casting-1\.unit-mode: 'producton' is no unit mode"):
        await _service(tmp_path).start()
