"""The historian writer: events leave the scan at once, reach the database in order, are
spooled while the database is locked or away, and are replayed in order exactly once."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from controller.store import BatchRecorder, create_engine_for, load_batch_record, upgrade
from controller.store.historian import HistorianWriter, historian_alarms

LINE = "casting-1"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "poreline.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def engine(db_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{db_path}", sqlite_busy_timeout_ms=50)  # a lock is an outage at once
    yield engine
    engine.dispose()


def make_writer(engine: Engine, tmp_path: Path, **kwargs: object) -> HistorianWriter:
    writer = HistorianWriter(BatchRecorder(engine), spool_path=tmp_path / "spool" / f"{LINE}.jsonl", line_id=LINE,
                             flush_period_s=0.02, retry_s=0.05, **kwargs)  # type: ignore[arg-type]
    writer.start()
    return writer


def open_run(engine: Engine) -> int:
    return BatchRecorder(engine).start_run("r", 1, "casting", {}, "op", True, line_id=LINE)


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def record_a_run(writer: HistorianWriter, run_id: int, seconds: range) -> None:
    writer.log_step_started(run_id, 0, "heat", float(seconds.start))
    for t in seconds:
        writer.add_samples(run_id, float(t), [("tank.temperature_c", 20.0 + t, "good"), ("pump.speed_rpm", 1.0, "good")])
    writer.log_alarm(run_id, "TANK_HOT", "hot", 1, "unacknowledged", float(seconds.stop), line_id=LINE)
    writer.log_step_ended(run_id, 0, float(seconds.stop), "complete")


class ThreadNotingRecorder(BatchRecorder):
    """Notes the thread of every database transaction."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.threads: list[str] = []

    def transaction(self, progress=None):  # type: ignore[no-untyped-def,override]
        self.threads.append(threading.current_thread().name)
        return super().transaction(progress)


def test_events_reach_the_database_in_order_with_the_progress_mark(engine, tmp_path):
    run_id = open_run(engine)
    recorder = ThreadNotingRecorder(engine)
    writer = HistorianWriter(recorder, spool_path=tmp_path / "spool.jsonl", line_id=LINE, flush_period_s=0.02)
    writer.start()
    record_a_run(writer, run_id, range(100))
    writer.end_run(run_id, "Complete", 100.0)
    assert writer.wait_idle(10.0)
    writer.close()

    assert recorder.threads and set(recorder.threads) == {f"historian-{LINE}"}  # never the caller's thread
    assert rows(engine, f"SELECT count(*) FROM samples WHERE run_id = {run_id}") == [(200,)]
    assert rows(engine, "SELECT name, ended_s, outcome FROM run_steps") == [("heat", 100.0, "complete")]
    assert rows(engine, "SELECT alarm_id, line_id FROM alarms") == [("TANK_HOT", LINE)]
    assert rows(engine, f"SELECT final_state FROM runs WHERE id = {run_id}") == [("Complete",)]
    assert rows(engine, "SELECT line_id, last_seq FROM historian_progress") == [(LINE, 104)]


def test_a_locked_database_is_spooled_and_replayed_in_order_exactly_once(engine, db_path, tmp_path):
    run_id = open_run(engine)
    writer = make_writer(engine, tmp_path)
    record_a_run(writer, run_id, range(0, 10))
    assert writer.wait_idle(10.0)

    blocker = sqlite3.connect(db_path)
    blocker.execute("BEGIN EXCLUSIVE")  # another program holds the database
    try:
        record_a_run(writer, run_id, range(10, 40))
        writer.log_deviation(run_id, 12.0, 31.5, ["PUMP_STALLED"], ["pump.speed_setpoint_rpm"])
        deadline = time.monotonic() + 10.0
        while writer.status().spooled < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        status = writer.status()
        assert status.behind and "locked" in status.last_error
        assert "HISTORIAN_BEHIND" in historian_alarms(status)
        record_a_run(writer, run_id, range(40, 50))  # still locked: these go to the spool behind the others
        time.sleep(0.2)
    finally:
        blocker.rollback()
        blocker.close()
    assert writer.wait_idle(10.0)
    writer.close()

    times = [t for (t,) in rows(engine, "SELECT t_s FROM samples WHERE tag = 'tank.temperature_c' ORDER BY id")]
    assert times == [float(t) for t in range(50)]  # in order, none twice, none lost
    assert [n for (n,) in rows(engine, "SELECT count(*) FROM run_steps")] == [3]
    deviations = load_batch_record(engine, run_id).deviations
    assert [(d.started_t_s, d.seconds, d.alarm_ids, d.outputs) for d in deviations] == [
        (12.0, 19.5, ["PUMP_STALLED"], ["pump.speed_setpoint_rpm"])]
    assert historian_alarms(writer.status()) == {}
    assert not (tmp_path / "spool" / f"{LINE}.jsonl").exists()


def test_a_replay_skips_what_the_database_already_committed(engine, tmp_path):
    run_id = open_run(engine)
    writer = make_writer(engine, tmp_path)
    record_a_run(writer, run_id, range(5))  # seq 1..8 committed
    assert writer.wait_idle(10.0)
    writer.close()
    committed = writer.status().committed_seq
    spool = tmp_path / "spool" / f"{LINE}.jsonl"
    # a crash between the commit and the spool's truncation leaves committed events in the spool
    events = [[committed - 1, "log_command", [run_id, "hold", "op", 4.0, True, ""]],
              [committed, "log_command", [run_id, "unhold", "op", 4.5, True, ""]],
              [committed + 1, "log_command", [run_id, "stop", "op", 5.0, True, ""]]]
    spool.parent.mkdir(parents=True, exist_ok=True)
    spool.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")

    restarted = make_writer(engine, tmp_path)
    assert restarted.wait_idle(10.0)
    restarted.log_command(run_id, "reset", "op", 6.0, True, "")
    assert restarted.wait_idle(10.0)
    restarted.close()
    assert rows(engine, "SELECT command FROM run_commands ORDER BY id") == [("stop",), ("reset",)]
    assert rows(engine, "SELECT last_seq FROM historian_progress") == [(committed + 2,)]  # numbering went on


def test_a_full_spool_drops_samples_and_says_so_but_keeps_events(engine, db_path, tmp_path):
    run_id = open_run(engine)
    writer = make_writer(engine, tmp_path, spool_max_bytes=2_000)
    blocker = sqlite3.connect(db_path)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        record_a_run(writer, run_id, range(0, 200))
        deadline = time.monotonic() + 10.0
        while not writer.status().spool_full and time.monotonic() < deadline:
            time.sleep(0.01)
        record_a_run(writer, run_id, range(200, 210))
        status = writer.status()
        assert status.spool_full and status.dropped_samples >= 10
        assert "HISTORIAN_SPOOL_FULL" in historian_alarms(status)
    finally:
        blocker.rollback()
        blocker.close()
    assert writer.wait_idle(10.0)
    writer.close()
    assert [n for (n,) in rows(engine, "SELECT count(*) FROM run_steps")] == [2]  # events were kept
