from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update

from controller.store import (
    AuditEntry,
    BatchRecorder,
    Run,
    Sample,
    SampleRollup,
    audit,
    export_csv,
    load_batch_record,
    session_factory,
    trend,
)
from controller.store import alarms as alarm_store

ORIGIN = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
PARAMS = {"gap_um": 150, "line_speed_m_min": 2.0, "layers": ["support", "skin"]}


def _temperature(t: float) -> float:
    return 25.0 + 5.0 * math.sin(t / 300.0) + (t % 7) * 0.01


def _speed(t: float) -> float:
    return 2.0 + 0.001 * t


@pytest.fixture
def recorder(engine):
    return BatchRecorder(engine, batch_size=5000, max_buffer_age_s=None)


@pytest.fixture
def executemany_calls(engine):
    calls: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if executemany and "INSERT INTO samples" in statement:
            calls.append(len(parameters))

    event.listen(engine, "before_cursor_execute", count)
    yield calls
    event.remove(engine, "before_cursor_execute", count)


def _start(recorder: BatchRecorder) -> int:
    return recorder.start_run("pes-flat-sheet", 3, "casting", PARAMS, "oscar", True, time_origin=ORIGIN)


def test_batch_record_round_trip(recorder, engine, executemany_calls):
    run_id = _start(recorder)
    recorder.log_step_started(run_id, 0, "heat dope", 0.0)
    recorder.log_command(run_id, "hold", "oscar", 120.0, True)
    recorder.log_command(run_id, "start", "viewer1", 121.0, False, "role viewer may not start")
    recorder.log_alarm(run_id, "TIC101.HI", "quench bath high", "high", "unacknowledged", 130.0)
    recorder.log_alarm(run_id, "TIC101.HI", "quench bath high", "high", "acknowledged", 131.0, user="oscar")
    recorder.log_alarm(run_id, "TIC101.HI", "quench bath high", "high", "normal", 140.0)
    recorder.log_step_ended(run_id, 0, 600.0, "complete")
    recorder.log_step_started(run_id, 1, "cast", 600.0)
    for i in range(10_000):
        t = float(i)
        recorder.add_sample(run_id, t, "quench.temperature_c", _temperature(t), "good")
        recorder.add_sample(run_id, t, "belt.line_speed_m_min", _speed(t), "good")
    assert recorder.pending_samples == 0  # flushed by itself at 5000, 10000, 15000, 20000
    assert executemany_calls == [5000, 5000, 5000, 5000]
    recorder.log_step_ended(run_id, 1, 10_000.0, "complete")
    recorder.end_run(run_id, "Complete", 10_000.0)

    record = load_batch_record(engine, run_id)
    assert (record.run.recipe_id, record.run.recipe_version, record.run.line_kind) == ("pes-flat-sheet", 3, "casting")
    assert record.run.parameters == PARAMS and record.run.operator == "oscar" and record.run.simulated
    assert record.run.final_state == "Complete" and record.run.ended_t_s == 10_000.0
    assert record.run.ended_at is not None and record.run.time_origin == ORIGIN
    assert record.run.timestamp(3600.0) == ORIGIN + timedelta(hours=1)
    assert [(s.index, s.name, s.started_s, s.ended_s, s.outcome) for s in record.steps] == [
        (0, "heat dope", 0.0, 600.0, "complete"),
        (1, "cast", 600.0, 10_000.0, "complete"),
    ]
    assert [(c.command, c.user, c.accepted, c.reason) for c in record.commands] == [
        ("hold", "oscar", True, None),
        ("start", "viewer1", False, "role viewer may not start"),
    ]
    [alarm] = record.alarms
    assert (alarm.alarm_id, alarm.state, alarm.raised_t_s, alarm.cleared_t_s, alarm.acknowledged_by) == (
        "TIC101.HI", "normal", 130.0, 140.0, "oscar",
    )
    assert [(e.t_s, e.state) for e in alarm.events] == [
        (130.0, "unacknowledged"), (131.0, "acknowledged"), (140.0, "normal"),
    ]
    assert record.sample_count == 20_000
    assert record.tags == ["belt.line_speed_m_min", "quench.temperature_c"]


def test_samples_wait_in_memory_until_flush(recorder, engine):
    run_id = _start(recorder)
    for i in range(10):
        recorder.add_sample(run_id, float(i), "tag", float(i))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Sample)).scalar() == 0
    assert recorder.flush() == 10 and recorder.pending_samples == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Sample)).scalar() == 10


def test_end_run_flushes_the_buffer(recorder, engine):
    run_id = _start(recorder)
    recorder.add_sample(run_id, 0.0, "tag", 1.0)
    recorder.end_run(run_id, "Aborted", 0.5)
    assert load_batch_record(engine, run_id).sample_count == 1


def test_an_old_buffer_is_flushed_by_wall_time(engine):
    now = [0.0]
    recorder = BatchRecorder(engine, batch_size=5000, max_buffer_age_s=5.0, monotonic=lambda: now[0])
    run_id = _start(recorder)
    recorder.add_sample(run_id, 0.0, "tag", 1.0)
    now[0] = 4.9
    recorder.add_sample(run_id, 0.1, "tag", 1.0)
    assert recorder.pending_samples == 2
    now[0] = 5.0
    recorder.add_sample(run_id, 0.2, "tag", 1.0)
    assert recorder.pending_samples == 0 and recorder.samples_written == 3


def test_sample_quality_is_checked_and_non_finite_values_become_bad(recorder, engine):
    run_id = _start(recorder)
    with pytest.raises(ValueError, match="quality"):
        recorder.add_sample(run_id, 0.0, "tag", 1.0, "excellent")
    recorder.add_sample(run_id, 0.0, "tag", float("nan"))
    recorder.add_sample(run_id, 1.0, "tag", None, "stale")
    recorder.flush()
    with engine.connect() as conn:
        rows = conn.execute(select(Sample.t_s, Sample.value, Sample.quality).order_by(Sample.t_s)).all()
    assert [tuple(r) for r in rows] == [(0.0, None, "bad"), (1.0, None, "stale")]


def test_a_restarted_recorder_closes_steps_and_alarms_it_did_not_open(recorder, engine):
    run_id = _start(recorder)
    recorder.log_step_started(run_id, 0, "heat", 0.0)
    recorder.log_alarm(run_id, "A1", "m", "low", "unacknowledged", 1.0)
    fresh = BatchRecorder(engine)
    fresh.log_step_ended(run_id, 0, 9.0, "complete")
    fresh.log_alarm(run_id, "A1", "m", "low", "rtn_unacknowledged", 2.0)
    record = load_batch_record(engine, run_id)
    assert record.steps[0].ended_s == 9.0
    assert len(record.alarms) == 1 and record.alarms[0].state == "rtn_unacknowledged"
    assert record.alarms[0].cleared_t_s == 2.0


def test_an_alarm_that_returned_to_normal_opens_a_new_occurrence_next_time(recorder, engine):
    run_id = _start(recorder)
    for t, state in [(1.0, "unacknowledged"), (2.0, "rtn_unacknowledged"), (3.0, "normal"), (9.0, "unacknowledged")]:
        recorder.log_alarm(run_id, "A1", "m", "low", state, t, user="oscar" if state == "normal" else None)
    record = load_batch_record(engine, run_id)
    assert [(a.raised_t_s, a.state) for a in record.alarms] == [(1.0, "normal"), (9.0, "unacknowledged")]
    assert record.alarms[0].acknowledged_by == "oscar"


def test_a_runless_alarm_is_journaled_with_a_null_run_and_epoch_seconds(engine):
    now = datetime(2026, 11, 21, 22, 0, tzinfo=UTC)
    recorder = BatchRecorder(engine, wall_clock=lambda: now)
    run_id = _start(recorder)
    recorder.log_alarm(None, "A1", "m", "1", "unacknowledged", 5.0)  # 5.0: an engine clock, not kept
    recorder.log_alarm(run_id, "A1", "m", "1", "unacknowledged", 6.0)  # the same id in a run: its own
    recorder.log_alarm(None, "A1", "m", "1", "acknowledged", 7.0, user="oscar")
    with session_factory(engine)() as session:
        runless = alarm_store.active_alarms(session)  # run_id None: the run-less ones
        assert [(a.run_id, a.state, a.raised_t_s, a.acknowledged_by) for a in runless] == [
            (None, "acknowledged", now.timestamp(), "oscar")]
        assert [(e.state, e.t_s, e.actor) for e in runless[0].events] == [
            ("unacknowledged", now.timestamp(), None), ("acknowledged", now.timestamp(), "oscar")]
    assert [a.state for a in load_batch_record(engine, run_id).alarms] == ["unacknowledged"]

    recorder.log_alarm(None, "A2", "m2", "2", "unacknowledged", 8.0)
    assert BatchRecorder(engine).close_runless_alarms("line replaced") == ["A1", "A2"]
    recorder.log_alarm(None, "A2", "m2", "2", "unacknowledged", 9.0)  # a new occurrence, not the closed one
    with session_factory(engine)() as session:
        journal = alarm_store.alarm_history(session)
        runless = [(a.alarm_id, a.state, a.events[-1].note) for a in journal if a.run_id is None]
        assert runless == [("A2", "unacknowledged", None), ("A2", "normal", "line replaced"),
                           ("A1", "normal", "line replaced")]
    assert [a.state for a in load_batch_record(engine, run_id).alarms] == ["unacknowledged"]  # runs untouched


def test_two_lines_share_one_database_and_their_records_stay_apart(engine):
    casting, foaming = BatchRecorder(engine), BatchRecorder(engine)  # each line's runtime has its own writer
    run_a = casting.start_run("a", 1, "casting", {}, "op", True, line_id="casting-1")
    run_b = foaming.start_run("b", 1, "foaming", {}, "op", True, line_id="foaming-1")
    casting.log_alarm(None, "COMM_PLC", "lost", "1", "unacknowledged", 1.0, line_id="casting-1")
    foaming.log_alarm(None, "COMM_PLC", "lost", "1", "unacknowledged", 1.0, line_id="foaming-1")
    foaming.log_alarm(None, "COMM_PLC", "lost", "1", "rtn_unacknowledged", 2.0, line_id="foaming-1")

    assert foaming.close_runless_alarms("foaming line rebuilt", "foaming-1") == ["COMM_PLC"]
    with session_factory(engine)() as session:
        open_alarms = [(a.line_id, a.state) for a in alarm_store.active_alarms(session)]
    assert open_alarms == [("casting-1", "unacknowledged")]  # the casting line's alarm is not closed
    assert (load_batch_record(engine, run_a).run.line_id, load_batch_record(engine, run_b).run.line_id) == (
        "casting-1", "foaming-1")


def test_trend_reads_values_from_the_covering_index(recorder, engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("query plan checked on SQLite")
    run_id = _start(recorder)
    for i in range(100):
        recorder.add_sample(run_id, float(i), "tag", float(i))
    recorder.flush()
    statements: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "FROM samples" in statement:
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert len(trend(engine, run_id, "tag", 0.0, 99.0, 10)) == 10
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(statements) == 1  # the range was given: no min/max pre-query
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statements[0][0],
                                                                     statements[0][1]))
    assert "COVERING INDEX ix_samples_run_id_tag_t_s_value" in plan, plan


def test_trend_with_one_bound_takes_the_other_from_the_series(recorder, engine):
    run_id = _start(recorder)
    for i in range(10):
        recorder.add_sample(run_id, 10.0 + i, "tag", float(i))
    recorder.flush()
    assert [p.avg for p in trend(engine, run_id, "tag", t_from_s=15.0, max_points=100)] == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert [p.avg for p in trend(engine, run_id, "tag", t_to_s=11.0, max_points=100)] == [0.0, 1.0]
    first = trend(engine, run_id, "tag", max_points=1)
    assert [(p.t_s, p.t_end_s, p.count) for p in first] == [(10.0, 19.0, 10)]


def test_trend_downsamples_in_sql_to_at_most_max_points_with_correct_statistics(recorder, engine):
    run_id = _start(recorder)
    n = 20_000
    for i in range(n):
        t = i * 0.5
        recorder.add_sample(run_id, t, "quench.temperature_c", _temperature(t))
        recorder.add_sample(run_id, t, "other", -1.0)
    recorder.flush()

    t_from, t_to, max_points = 1000.0, 8000.0, 300
    points = trend(engine, run_id, "quench.temperature_c", t_from, t_to, max_points)

    # independent computation of the expected buckets
    width = (t_to - t_from) / max_points
    buckets: dict[int, list[float]] = defaultdict(list)
    for i in range(n):
        t = i * 0.5
        if t_from <= t <= t_to:
            buckets[min(math.floor((t - t_from) / width), max_points - 1)].append(_temperature(t))
    assert len(points) == len(buckets) <= max_points
    for point, (k, values) in zip(points, sorted(buckets.items()), strict=True):
        assert point.t_s == pytest.approx(t_from + k * width)
        assert point.count == len(values)
        assert point.avg == pytest.approx(sum(values) / len(values), rel=1e-12)
        assert (point.min, point.max) == (pytest.approx(min(values)), pytest.approx(max(values)))
    assert sum(p.count for p in points) == sum(1 for i in range(n) if t_from <= i * 0.5 <= t_to)


def _rollups_by_group_by(engine, run_id: int) -> dict[tuple[str, int], tuple[int, float, float | None, float | None]]:
    """The rollups computed independently, from the stored samples, in Python."""
    with engine.connect() as conn:
        rows = conn.execute(select(Sample.tag, Sample.t_s, Sample.value).where(Sample.run_id == run_id)).all()
    values: dict[tuple[str, int], list[float]] = defaultdict(list)
    for tag, t_s, value in rows:
        group = values[(tag, math.floor(t_s / 60.0))]
        if value is not None:
            group.append(value)
    return {key: (len(v), sum(v), min(v, default=None), max(v, default=None)) for key, v in values.items()}


def _stored_rollups(engine, run_id: int) -> dict[tuple[str, int], tuple[int, float, float | None, float | None]]:
    with engine.connect() as conn:
        rows = conn.execute(select(SampleRollup.tag, SampleRollup.minute, SampleRollup.value_count,
                                   SampleRollup.value_sum, SampleRollup.value_min, SampleRollup.value_max)
                            .where(SampleRollup.run_id == run_id)).all()
    return {(tag, minute): (count, total, vmin, vmax) for tag, minute, count, total, vmin, vmax in rows}


def test_minute_rollups_merge_samples_written_in_separate_flushes(engine):
    recorder = BatchRecorder(engine, batch_size=7, max_buffer_age_s=None)  # flushes cut minutes apart
    run_id = _start(recorder)
    for i in range(400):
        t = i * 0.75 - 30.0  # from before the run's origin: minute -1
        value = None if i % 11 == 0 or 110 <= i < 200 else math.sin(i / 9.0) * 10.0  # a minute of nulls only
        recorder.add_sample(run_id, t, "quench.temperature_c", value)
        recorder.add_sample(run_id, t, "belt.line_speed_m_min", _speed(t))
    recorder.flush()
    stored, expected = _stored_rollups(engine, run_id), _rollups_by_group_by(engine, run_id)
    assert stored.keys() == expected.keys()
    assert min(minute for _tag, minute in stored) == -1
    assert any(count == 0 and vmin is None for count, _total, vmin, _vmax in stored.values())
    for key, (count, total, vmin, vmax) in expected.items():
        assert stored[key][0] == count, key
        assert stored[key][1] == pytest.approx(total, rel=1e-12, abs=1e-12), key
        assert stored[key][2:] == (vmin, vmax), key


def test_trend_of_a_wide_window_is_exact_on_whole_minute_buckets(recorder, engine):
    run_id = _start(recorder)
    n = 40_000
    series = [(i * 0.5, None if i % 97 == 0 else _temperature(i * 0.5)) for i in range(n)]
    for t, value in series:
        recorder.add_sample(run_id, t, "quench.temperature_c", value)
        recorder.add_sample(run_id, t, "other", -1.0)
    recorder.flush()

    t_from, t_to, max_points = 1234.5, 18_999.25, 100  # off the minute grid at both ends
    points = trend(engine, run_id, "quench.temperature_c", t_from, t_to, max_points)

    # independent computation: minutes counted from t_from's, the fewest per bucket for 100 points
    first_minute = math.floor(t_from / 60.0)
    minutes = math.floor(t_to / 60.0) - first_minute + 1
    per_bucket = math.ceil(minutes / max_points)
    buckets: dict[int, list[float]] = defaultdict(list)
    for t, value in series:
        if t_from <= t <= t_to:
            group = buckets[(math.floor(t / 60.0) - first_minute) // per_bucket]
            if value is not None:
                group.append(value)
    assert per_bucket == 3 and len(points) == len(buckets) <= max_points
    for point, (k, values) in zip(points, sorted(buckets.items()), strict=True):
        assert point.t_s == max(t_from, (first_minute + k * per_bucket) * 60.0)
        assert point.t_end_s == min(t_to, (first_minute + (k + 1) * per_bucket) * 60.0)
        assert point.count == len(values)
        assert point.avg == pytest.approx(sum(values) / len(values), rel=1e-12)
        assert (point.min, point.max) == (min(values), max(values))


def test_trend_of_a_wide_window_reads_the_rollups(recorder, engine):
    run_id = _start(recorder)
    for i in range(6000):
        recorder.add_sample(run_id, float(i), "tag", 1.0)
    recorder.flush()
    with engine.begin() as conn:  # a rollup no sample agrees with: only a read of the rollups sees it
        conn.execute(update(SampleRollup).where(SampleRollup.run_id == run_id, SampleRollup.minute == 50)
                     .values(value_max=99.0))
    wide = trend(engine, run_id, "tag", 0.0, 5999.0, 10)  # 10 min a point: from the rollups
    narrow = trend(engine, run_id, "tag", 0.0, 5999.0, 1000)  # 6 s a point: from the samples
    assert [p.max for p in wide if p.t_s <= 3000.0 < p.t_end_s] == [99.0]
    assert max(p.max for p in narrow) == 1.0


def test_trend_of_a_short_series_returns_every_point_and_defaults_to_the_whole_range(recorder, engine):
    run_id = _start(recorder)
    for i in range(5):
        recorder.add_sample(run_id, float(i), "tag", float(i * i))
    recorder.flush()
    points = recorder.trend(run_id, "tag", max_points=100)
    assert [(p.count, p.avg) for p in points] == [(1, 0.0), (1, 1.0), (1, 4.0), (1, 9.0), (1, 16.0)]
    assert trend(engine, run_id, "missing") == []


def test_export_csv_writes_every_sample_with_its_wall_timestamp(recorder, engine):
    run_id = _start(recorder)
    recorder.add_sample(run_id, 0.0, "b", 1.5)
    recorder.add_sample(run_id, 60.0, "a", None, "bad")
    recorder.add_sample(run_id, 30.0, "a", 2.25)
    recorder.flush()
    out = io.StringIO()
    assert export_csv(engine, run_id, out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["tag"], float(r["t_s"]), r["value"], r["quality"]) for r in rows] == [
        ("a", 30.0, "2.25", "good"),
        ("a", 60.0, "", "bad"),
        ("b", 0.0, "1.5", "good"),
    ]
    assert datetime.fromisoformat(rows[1]["timestamp"]) == ORIGIN + timedelta(seconds=60)
    assert export_csv(engine, run_id, io.StringIO(), tags=["b"]) == 1


async def test_flush_async_writes_in_a_thread_and_keeps_samples_added_meanwhile(engine):
    recorder = BatchRecorder(engine, batch_size=100_000, max_buffer_age_s=None)
    run_id = _start(recorder)
    for i in range(1000):
        recorder.add_sample(run_id, float(i), "tag", float(i))
    assert await recorder.flush_async() == 1000
    recorder.add_sample(run_id, 1000.0, "tag", 0.0)
    assert recorder.pending_samples == 1
    assert load_batch_record(engine, run_id).sample_count == 1000


async def test_a_failed_flush_keeps_the_samples_for_the_next_attempt(tmp_path):
    from controller.store import create_engine_for, upgrade

    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    try:
        recorder = BatchRecorder(engine, max_buffer_age_s=None)
        run_id = _start(recorder)
        recorder.add_sample(run_id + 1, 0.0, "tag", 1.0)  # unknown run: foreign key violation
        with pytest.raises(Exception, match="FOREIGN KEY"):
            await recorder.flush_async()
        assert recorder.pending_samples == 1
        with pytest.raises(Exception, match="FOREIGN KEY"):
            recorder.flush()
        assert recorder.pending_samples == 1
    finally:
        engine.dispose()


def test_a_run_opens_with_its_audit_entry_or_not_at_all(engine, monkeypatch):
    recorder = BatchRecorder(engine)
    run_id = recorder.open_run("r", 1, "casting", {}, "oscar", True, line_id="casting-1",
                               audit_details={"reason": "first batch"})
    with session_factory(engine)() as session:
        entry = session.execute(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).scalar_one()
        assert (entry.actor, entry.action, entry.subject, entry.details["reason"]) == (
            "oscar", "run.start", f"run {run_id}", "first batch")
        assert audit.verify(session).ok

    def refuse(*args, **kwargs):
        raise RuntimeError("audit trail unavailable")

    monkeypatch.setattr(audit, "append", refuse)
    with pytest.raises(RuntimeError, match="audit trail unavailable"):
        recorder.open_run("r", 1, "casting", {}, "oscar", True, line_id="casting-1", audit_details={})
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Run)).scalar_one() == 1  # no run without its entry


def test_a_run_a_killed_runtime_left_open_is_closed_as_aborted_with_the_reason(engine):
    recorder = BatchRecorder(engine)
    run_id = recorder.start_run("r", 1, "casting", {}, "oscar", True, time_origin=ORIGIN, line_id="casting-1")
    recorder.log_step_started(run_id, 0, "warm_up", 0.0)
    recorder.log_step_ended(run_id, 0, 60.0, "complete")
    recorder.log_step_started(run_id, 1, "production", 60.0)
    recorder.add_samples(run_id, 90.0, [("a.b", 1.0, "good")])
    recorder.flush()
    other_line = recorder.start_run("r", 1, "foaming", {}, "oscar", True, line_id="foaming-1")

    closed = recorder.close_lost_runs("casting-1")

    expected = f"controller lost at {(ORIGIN + timedelta(seconds=90)).isoformat(timespec='seconds')}, last step production"
    assert closed == [(run_id, expected)]
    record = load_batch_record(engine, run_id)
    assert (record.run.final_state, record.run.end_reason, record.run.ended_t_s) == ("Aborted", expected, 90.0)
    assert [(s.name, s.outcome) for s in record.steps] == [("warm_up", "complete"), ("production", "lost")]
    assert [(c.command, c.user, c.reason) for c in record.commands] == [("abort", "system", expected)]
    assert load_batch_record(engine, other_line).run.final_state is None  # another line's run is not touched
