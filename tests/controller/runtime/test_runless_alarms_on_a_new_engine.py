"""Alarms raised between runs stand on the engine that raised them. When the runtime
restarts, or the line is rebuilt for a run, that engine goes: its open run-less alarm
occurrences are returned to normal with a note saying why (the new engine raises what
still holds), so the alarm list never shows an alarm nothing evaluates any more."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from paths import HIL_DATA
from sqlalchemy import select

from controller.lines import compile_for_line, kind_named
from controller.recipe.document import to_document
from controller.runtime.service import LineService, RuntimeConfig
from controller.store import BatchRecorder, create_engine_for, upgrade
from controller.store.models import Alarm, AlarmEvent


def runless_occurrences(url: str, alarm_id: str) -> list[tuple[str, list[str | None]]]:
    db = create_engine_for(url)
    try:
        with db.connect() as conn:
            alarms = conn.execute(select(Alarm.id, Alarm.state).where(Alarm.alarm_id == alarm_id,
                                                                      Alarm.run_id.is_(None))).all()
            return [(state, list(conn.execute(select(AlarmEvent.note).where(AlarmEvent.alarm_pk == pk)
                                              .order_by(AlarmEvent.id)).scalars()))
                    for pk, state in alarms]
    finally:
        db.dispose()


async def test_a_restarted_runtime_closes_the_runless_alarms_its_predecessor_left_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    upgrade(url)
    left = BatchRecorder(create_engine_for(url))
    left.log_alarm(None, "COMM_DOPE_PUMP_1", "dope_pump_1: communication lost", 1, "unacknowledged", time.time(),
                   line_id="casting-1")
    left.log_alarm(None, "COMM_OTHER_LINE", "on another line", 1, "unacknowledged", time.time(), line_id="casting-2")
    left.flush()

    service = LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / "runtime", kind="casting", speed=200.0))
    await service.start()
    await service.stop()

    assert runless_occurrences(url, "COMM_DOPE_PUMP_1") == [("normal", [None, "line runtime restarted"])]
    assert runless_occurrences(url, "COMM_OTHER_LINE") == [("unacknowledged", [None])]  # another line's own


async def test_starting_a_run_closes_the_idle_engines_runless_alarms(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    recipe = compile_for_line((HIL_DATA / "short-casting.yaml").read_text(encoding="utf-8"))
    service = LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / "runtime", kind="casting", speed=200.0,
                                        sample_period_s=5.0))
    await service.start()
    try:
        # a warning the idle engine raised and nobody acknowledged (it does not block a start)
        service.writer.log_alarm(None, "IDLE_WARNING", "raised while idle", 3, "unacknowledged", time.time(),
                                 line_id=service.line_id)
        started = await service.start_run(to_document(recipe, kind_named("casting").block_document), "ann", "test")
        assert await asyncio.to_thread(service.writer.wait_idle, 10.0)
    finally:
        await service.stop()
    assert runless_occurrences(url, "IDLE_WARNING") == [("normal", [None, f"line rebuilt for run {started['run_id']}"])]
