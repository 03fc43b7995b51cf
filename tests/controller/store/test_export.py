"""The CSV export reads a run in bounded chunks: the same rows as the table, the first piece
after one read, memory bounded by a chunk, no transaction held between reads."""

from __future__ import annotations

import csv
import io
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import URL

from controller.store import BatchRecorder, create_engine_for, export_csv, upgrade
from controller.store.batch import CsvExport

ORIGIN = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
TAGS = [f"dev_{k % 4}.tag_{k:02d}" for k in range(20)]
INSTANTS = 15_000  # x 20 tags = 300 000 samples
CHUNK = 4_999  # not a divisor of a series: chunks end mid-series and mid-instant


def _start(recorder: BatchRecorder) -> int:
    return recorder.start_run("export", 1, "casting", {}, "oscar", True, time_origin=ORIGIN)


def _value(i: int, k: int) -> tuple[float | None, str]:
    if i % 997 == k:
        return None, "bad"
    if i % 1009 == k:
        return 1.0 + k, "stale"
    return 20.0 + k + (i % 600) / 7.0, "good"


def _seed_big_run(engine: Engine) -> int:
    """A run of INSTANTS x 20 tags at 10 s, with nulls, stale samples and a tag written twice
    at some instants; another run's samples written in between."""
    recorder = BatchRecorder(engine, batch_size=20_000, max_buffer_age_s=None)
    run_id = _start(recorder)
    other = _start(recorder)
    for i in range(INSTANTS):
        t_s = 10.0 * i
        samples = []
        for k, tag in enumerate(TAGS):
            value, quality = _value(i, k)
            samples.append((tag, value, quality))
        recorder.add_samples(run_id, t_s, samples)
        if i % 1500 == 0:
            recorder.add_samples(run_id, t_s, [(TAGS[3], -1.0 * i, "good")])  # the same instant again
            recorder.add_samples(other, t_s, [(TAGS[0], 0.5, "good")])
    recorder.flush()
    return run_id


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, int]]:
    """One seeded database per backend for the whole module (seeding 300 000 samples takes seconds)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'poreline.db'}"
    else:
        server: URL = request.getfixturevalue("postgres_database")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine_for(server)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        url = server.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield engine, _seed_big_run(engine)
    finally:
        engine.dispose()


def _table(engine: Engine, run_id: int) -> list[tuple[Any, ...]]:
    """The run's samples read straight from the table, in the export's order."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            text("SELECT t_s, tag, value, quality FROM samples WHERE run_id = :r ORDER BY tag, t_s, id"),
            {"r": run_id})]


@contextmanager
def _sample_reads(engine: Engine) -> Iterator[list[str]]:
    """The SELECTs on the samples table run meanwhile."""
    reads: list[str] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and "FROM samples" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield reads
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def test_the_long_export_of_300_000_samples_equals_the_table(big_run):
    engine, run_id = big_run
    out = io.StringIO()
    written = export_csv(engine, run_id, out, chunk_rows=CHUNK)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["t_s", "timestamp", "tag", "value", "quality"]
    table = _table(engine, run_id)
    assert written == len(table) == len(rows) - 1 == INSTANTS * len(TAGS) + 10
    assert [(float(t), tag, None if v == "" else float(v), q) for t, _ts, tag, v, q in rows[1:]] == table
    assert all(datetime.fromisoformat(ts) == ORIGIN + timedelta(seconds=float(t)) for t, ts, *_ in rows[1:])


def test_the_wide_export_has_one_row_per_instant_and_a_column_per_tag(big_run):
    engine, run_id = big_run
    out = io.StringIO()
    export = CsvExport(engine, run_id, layout="wide", chunk_rows=CHUNK)
    for piece in export:
        out.write(piece)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    tags = sorted({tag for _t, tag, _v, _q in _table(engine, run_id)})
    assert rows[0] == ["timestamp", "t_s", *tags]
    expected: dict[float, dict[str, str]] = {}
    for t_s, tag, value, quality in _table(engine, run_id):  # a tag's later sample at an instant wins
        expected.setdefault(t_s, {})[tag] = "" if value is None or quality != "good" else repr(value)
    assert len(rows) - 1 == export.rows == len(expected) == INSTANTS
    assert export.samples == INSTANTS * len(TAGS) + 10
    for row in rows[1:]:
        t_s = float(row[1])
        assert datetime.fromisoformat(row[0]) == ORIGIN + timedelta(seconds=t_s)
        assert row[2:] == [expected[t_s].get(tag, "") for tag in tags]
    assert [float(r[1]) for r in rows[1:]] == sorted(expected)
    assert rows[1 + 1500][2 + tags.index(TAGS[3])] == repr(-1500.0)  # written twice: the later value


def test_the_first_piece_comes_after_one_read_of_samples(big_run):
    engine, run_id = big_run
    with _sample_reads(engine) as reads:
        export = CsvExport(engine, run_id, chunk_rows=CHUNK)
        pieces = iter(export)
        first = next(pieces)
        lines = first.splitlines()
        assert lines[0] == "t_s,timestamp,tag,value,quality" and len(lines) == 1 + CHUNK
        assert export.chunks_read == 1 and export.samples == CHUNK
        # one read of the first tag (an index seek, LIMIT 1) and one chunk: nothing else of the table
        assert len(reads) == 2 and all("LIMIT" in r.upper() for r in reads)
        wide = CsvExport(engine, run_id, layout="wide", chunk_rows=CHUNK)
        first_wide = next(iter(wide))
        assert first_wide.startswith("timestamp,t_s,") and wide.chunks_read == len(TAGS)
        assert wide.samples <= len(TAGS) * max(256, CHUNK // len(TAGS))


def test_memory_stays_bounded_by_a_chunk_not_the_run(big_run):
    engine, run_id = big_run
    pieces = iter(CsvExport(engine, run_id, chunk_rows=1000))
    size = len(next(pieces))  # past the first read: statement caches and the like are built
    tracemalloc.start()
    try:
        for piece in pieces:
            size += len(piece)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 20_000_000  # the whole CSV: over 20 MB
    assert peak < size / 10, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB CSV"


def test_ties_in_time_cross_chunk_boundaries_without_loss_or_repeat(engine):
    recorder = BatchRecorder(engine, batch_size=1000, max_buffer_age_s=None)
    run_id = _start(recorder)
    for i in range(25):  # 25 samples of one tag at one instant, then a few later ones
        recorder.add_samples(run_id, 5.0, [("a.x", float(i), "good"), ("b.y", -float(i), "good")])
    for i in range(4):
        recorder.add_samples(run_id, 6.0 + i, [("a.x", 100.0 + i, "good")])
    recorder.flush()
    for chunk_rows in (1, 3, 7, 25, 1000):
        out = io.StringIO()
        assert export_csv(engine, run_id, out, chunk_rows=chunk_rows) == 54
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert [(r["tag"], float(r["t_s"]), r["value"]) for r in rows] == [
            (t, float(t_s), "" if v is None else repr(v)) for t_s, t, v, _q in _table(engine, run_id)]
        wide = list(csv.reader(io.StringIO("".join(CsvExport(engine, run_id, layout="wide", chunk_rows=chunk_rows)))))
        assert wide[0] == ["timestamp", "t_s", "a.x", "b.y"]
        assert [r[1:] for r in wide[1:]] == [["5.0", "24.0", "-24.0"], ["6.0", "100.0", ""], ["7.0", "101.0", ""],
                                             ["8.0", "102.0", ""], ["9.0", "103.0", ""]]


def test_no_transaction_is_held_between_chunks_so_the_historian_writes_meanwhile(engine, tmp_path: Path):
    recorder = BatchRecorder(engine, batch_size=1000, max_buffer_age_s=None)
    run_id = _start(recorder)
    for i in range(100):
        recorder.add_samples(run_id, float(i), [("a.x", float(i), "good"), ("b.y", float(i), "good")])
    recorder.flush()
    export = CsvExport(engine, run_id, chunk_rows=30)
    pieces = iter(export)
    next(pieces)
    assert engine.pool.checkedout() == 0  # the first read gave its connection back
    if engine.dialect.name == "sqlite":  # no reader's snapshot stands in the way of a full checkpoint
        with engine.connect() as conn:
            busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        assert busy == 0
    # the historian writes while the export is under way: what lies ahead of the export shows
    for i in range(100, 110):
        recorder.add_samples(run_id, float(i), [("a.x", float(i), "good"), ("b.y", float(i), "good")])
    recorder.flush()
    rows = list(csv.reader(io.StringIO("".join(pieces))))
    assert export.samples == 2 * 110 and len(rows) == 2 * 110 - 30
    assert [(r[2], r[3]) for r in rows if float(r[0]) >= 100] == (
        [("a.x", f"{i}.0") for i in range(100, 110)] + [("b.y", f"{i}.0") for i in range(100, 110)])


def test_an_export_of_a_run_without_samples_is_its_header_and_of_no_run_an_error(engine):
    recorder = BatchRecorder(engine, batch_size=10, max_buffer_age_s=None)
    run_id = _start(recorder)
    assert "".join(CsvExport(engine, run_id)) == "t_s,timestamp,tag,value,quality\r\n"
    assert "".join(CsvExport(engine, run_id, layout="wide")) == "timestamp,t_s\r\n"
    with pytest.raises(LookupError):
        CsvExport(engine, run_id + 100)
    with pytest.raises(ValueError, match="layout"):
        CsvExport(engine, run_id, layout="tall")


def test_a_session_reads_the_chunks_in_its_own_transaction(session, engine):
    recorder = BatchRecorder(engine, batch_size=10, max_buffer_age_s=None)
    run_id = _start(recorder)
    for i in range(12):
        recorder.add_samples(run_id, float(i), [("a.x", float(i), "good")])
    recorder.flush()
    out = io.StringIO()
    assert export_csv(session, run_id, out, chunk_rows=5, tags=["a.x", "missing"]) == 12
    assert len(out.getvalue().splitlines()) == 13
