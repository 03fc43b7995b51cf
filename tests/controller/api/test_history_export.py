"""GET /runs/{id}/record.csv and /record-wide.csv stream the run's samples as CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from controller.store import BatchRecorder, create_engine_for

ORIGIN = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
TAGS = ["quench_bath.temperature_c", "support_belt.line_speed_m_min", "dope_pump_1.speed_rpm"]
INSTANTS = 4000  # x 3 tags: 12 000 samples, a few chunks


def _seed(url: str) -> int:
    engine = create_engine_for(url)
    try:
        recorder = BatchRecorder(engine, batch_size=5000, max_buffer_age_s=None)
        run_id = recorder.start_run("export", 1, "casting", {}, "op", True, time_origin=ORIGIN)
        for i in range(INSTANTS):
            recorder.add_samples(run_id, 5.0 * i, [
                (TAGS[0], 20.0 + i / 100.0, "good"),
                (TAGS[1], None if i == 7 else 2.5, "bad" if i == 7 else "good"),
                (TAGS[2], 30.0, "stale" if i == 9 else "good"),
            ])
        recorder.end_run(run_id, "Complete", 5.0 * INSTANTS)
        return run_id
    finally:
        engine.dispose()


def _table(url: str, run_id: int) -> list[tuple[float, str, float | None, str]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(  # type: ignore[misc]
                text("SELECT t_s, tag, value, quality FROM samples WHERE run_id = :r ORDER BY tag, t_s, id"),
                {"r": run_id})]
    finally:
        engine.dispose()


def _viewer(client, api, url: str) -> dict[str, str]:
    result = api.cli("users", "create", "viewer", "--role", "viewer", "--password-stdin", "--database", url,
                     stdin=api.PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    return api.login(client, "viewer")


def test_the_long_csv_streams_every_sample_of_the_run(client, api, database_url):
    viewer = _viewer(client, api, database_url)
    run_id = _seed(database_url)
    response = client.get(f"/runs/{run_id}/record.csv", headers=viewer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="run-{run_id}.csv"'
    assert "content-length" not in response.headers  # streamed, not built whole
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["t_s", "timestamp", "tag", "value", "quality"]
    assert [(float(t), tag, None if v == "" else float(v), q) for t, _ts, tag, v, q in rows[1:]] == \
        _table(database_url, run_id)
    assert datetime.fromisoformat(rows[-1][1]) == ORIGIN + timedelta(seconds=5.0 * (INSTANTS - 1))


def test_the_wide_csv_has_a_timestamp_and_a_column_per_tag(client, api, database_url):
    viewer = _viewer(client, api, database_url)
    run_id = _seed(database_url)
    response = client.get(f"/runs/{run_id}/record-wide.csv", headers=viewer)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="run-{run_id}-wide.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["timestamp", "t_s", *sorted(TAGS)]
    assert len(rows) == 1 + INSTANTS
    column = {tag: 2 + k for k, tag in enumerate(sorted(TAGS))}
    assert rows[1 + 3] == [(ORIGIN + timedelta(seconds=15)).isoformat(), "15.0", "30.0", "20.03", "2.5"]
    assert rows[1 + 7][column[TAGS[1]]] == ""  # null, bad
    assert rows[1 + 9][column[TAGS[2]]] == ""  # stale: not shown as a good value
    assert [float(r[1]) for r in rows[1:]] == [5.0 * i for i in range(INSTANTS)]


def test_csv_exports_need_a_login_and_an_existing_run(client, api, database_url):
    viewer = _viewer(client, api, database_url)
    for path in ("record.csv", "record-wide.csv"):
        assert client.get(f"/runs/1/{path}").status_code == 401
        missing = client.get(f"/runs/999999/{path}", headers=viewer)
        assert missing.status_code == 404 and "run 999999 not found" in missing.text
