"""A server finds a runtime of its line already running (it was restarted, the runtime went
on): it attaches only when that runtime runs what the server was asked to run."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.runtime.process import ChildRuntime, ChildSettings


def child(state_dir: Path, database: Path, speed: float = 200.0) -> ChildRuntime:
    return ChildRuntime(ChildSettings(line_id="casting-1", state_dir=state_dir, database_url=f"sqlite:///{database}",
                                      kind="casting", speed=speed, sample_period_s=5.0))


async def test_a_second_server_attaches_to_the_runtime_running_its_configuration(tmp_path: Path) -> None:
    first = child(tmp_path / "runtime", tmp_path / "poreline.db")
    endpoint, key = await first.start()
    try:
        assert first.process is not None and first.process.poll() is None  # a child of its own
        second = child(tmp_path / "runtime", tmp_path / "poreline.db")
        assert await second.start() == (endpoint, key)
        assert second.process is None  # attached: no second runtime for one line
    finally:
        await first.stop()
    assert first.process.returncode is not None


async def test_a_runtime_of_the_line_running_another_database_or_speed_is_refused(tmp_path: Path) -> None:
    first = child(tmp_path / "runtime", tmp_path / "poreline.db")
    await first.start()
    try:
        elsewhere = child(tmp_path / "runtime", tmp_path / "another.db", speed=50.0)
        with pytest.raises(RuntimeError, match=r"already runs at .* with another database, speed; stop it") as refused:
            await elsewhere.start()
        assert "another.db" not in str(refused.value)  # the database is never named by its URL
        assert elsewhere.process is None  # nothing started
    finally:
        await first.stop()
