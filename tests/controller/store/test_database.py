from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from controller.store import (
    AuditEntry,
    Base,
    Run,
    alembic_config,
    create_engine_for,
    default_database_url,
    upgrade,
)
from controller.store.database import DATABASE_URL_ENV, normalise_url

EXPECTED_TABLES = {
    "users",
    "api_tokens",
    "recipes",
    "recipe_versions",
    "signatures",
    "runs",
    "run_steps",
    "run_commands",
    "alarms",
    "alarm_events",
    "samples",
    "sample_rollups",
    "audit_log",
}


def test_default_url_is_a_sqlite_file_under_var_of_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_database_url() == f"sqlite:///{tmp_path / 'var' / 'poreline.db'}"


def test_environment_variable_overrides_the_default(monkeypatch):
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://plant@db.example/poreline")
    assert default_database_url() == "postgresql://plant@db.example/poreline"
    assert normalise_url(default_database_url()).drivername == "postgresql+psycopg"


def test_sqlite_engine_creates_the_directory_and_sets_wal_foreign_keys_and_busy_timeout(tmp_path):
    db_file = tmp_path / "nested" / "dir" / "poreline.db"
    engine = create_engine_for(f"sqlite:///{db_file}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
        assert db_file.parent.is_dir()
    finally:
        engine.dispose()


def _head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrations_apply_to_an_empty_database_and_are_idempotent(database_url):
    engine = create_engine_for(database_url)
    try:
        assert not (EXPECTED_TABLES & set(inspect(engine).get_table_names()))
        upgrade(database_url)
        assert set(inspect(engine).get_table_names()) >= EXPECTED_TABLES
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == _head_revision()

        now = datetime.now(UTC)
        with Session(engine) as s, s.begin():
            s.add(
                Run(recipe_id="r", recipe_version=1, line_kind="casting", parameters={}, operator="op",
                    time_origin=now, started_at=now)
            )
        upgrade(database_url)  # second time: nothing to do, data kept
        with Session(engine) as s:
            assert s.execute(select(Run.recipe_id)).scalars().all() == ["r"]
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == _head_revision()
    finally:
        engine.dispose()


def test_upgrading_to_minute_rollups_fills_them_from_the_stored_samples(database_url):
    engine = create_engine_for(database_url)
    try:
        upgrade(database_url, "0002")  # a database from before the rollups, with samples in it
        now = datetime.now(UTC)
        run_id = insert_old_run(engine, now)  # the schema of 0002: no model of today fits it
        samples = [(-0.5, 4.0), (0.0, 1.0), (59.9, 3.0), (60.0, None), (61.0, -2.0), (125.0, None)]
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO samples (run_id, t_s, tag, value, quality) VALUES (:r, :t, 'a.b', :v, 'good')"),
                         [{"r": run_id, "t": t, "v": v} for t, v in samples])
        upgrade(database_url)
        with engine.connect() as conn:
            rollups = conn.execute(text("SELECT minute, value_count, value_sum, value_min, value_max "
                                        "FROM sample_rollups WHERE run_id = :r AND tag = 'a.b' ORDER BY minute"),
                                   {"r": run_id}).all()
        assert [tuple(row) for row in rollups] == [(-1, 1, 4.0, 4.0, 4.0), (0, 2, 4.0, 1.0, 3.0),
                                                   (1, 1, -2.0, -2.0, -2.0), (2, 0, 0.0, None, None)]
    finally:
        engine.dispose()


def insert_old_run(engine, now: datetime, line_kind: str = "casting") -> int:
    """A run row as a database before migration 0004 (no line id) holds it."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO runs (recipe_id, recipe_version, line_kind, parameters, operator, simulated, "
                          "time_origin, started_at) VALUES ('r', 1, :k, '{}', 'op', false, :t, :t)"),
                     {"k": line_kind, "t": now})
        return int(conn.execute(text("SELECT max(id) FROM runs")).scalar_one())


def test_upgrading_to_line_identity_gives_old_runs_and_alarms_the_line_of_their_kind(database_url):
    engine = create_engine_for(database_url)
    try:
        upgrade(database_url, "0003")
        now = datetime.now(UTC)
        first = insert_old_run(engine, now, "casting")
        second = insert_old_run(engine, now, "foaming")
        with engine.begin() as conn:
            for run_id in (first, second, None):
                conn.execute(text("INSERT INTO alarms (run_id, alarm_id, message, priority, state, condition_active, "
                                  "raised_t_s) VALUES (:r, 'A', 'm', '1', 'unacknowledged', true, 0)"), {"r": run_id})
        upgrade(database_url)
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT id, line_id FROM runs ORDER BY id")).all()
            alarms = conn.execute(text("SELECT run_id, line_id FROM alarms ORDER BY id")).all()
        assert [tuple(r) for r in runs] == [(first, "casting-1"), (second, "foaming-1")]
        # a run-less alarm: the line of the newest run
        assert [tuple(a) for a in alarms] == [(first, "casting-1"), (second, "foaming-1"), (None, "foaming-1")]
    finally:
        engine.dispose()


def test_models_and_migrations_describe_the_same_schema(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_upgrade_needs_no_alembic_ini_in_the_working_directory(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert not Path("alembic.ini").exists()
    upgrade(f"sqlite:///{tmp_path / 'db' / 'p.db'}")
    engine = create_engine_for(f"sqlite:///{tmp_path / 'db' / 'p.db'}")
    try:
        assert "audit_log" in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_timestamps_come_back_as_utc_aware_datetimes(session):
    cest = timezone(timedelta(hours=2))
    local = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=cest)
    session.add(
        Run(recipe_id="r", recipe_version=1, line_kind="casting", parameters={"a": 1}, operator="op",
            time_origin=local, started_at=local)
    )
    session.commit()
    session.expunge_all()
    origin = session.execute(select(Run.time_origin)).scalar_one()
    assert origin.tzinfo is not None and origin.utcoffset() == timedelta(0)
    assert origin == datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)


def test_naive_datetimes_are_refused(session):
    session.add(
        AuditEntry(id=1, at=datetime(2025, 1, 1), actor="a", action="x", subject="s", details={},
                   prev_hash="0" * 64, hash="1" * 64)
    )
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_sqlite_transactions_see_a_stable_snapshot(tmp_path):
    """SQLAlchemy emits BEGIN itself, so a reading transaction is isolated from
    commits made meanwhile by another connection (pysqlite's legacy mode is not)."""
    url = f"sqlite:///{tmp_path / 'snap.db'}"
    upgrade(url)
    engine = create_engine_for(url)
    try:
        with engine.connect() as reader:
            reader.begin()
            before = reader.execute(text("SELECT count(*) FROM runs")).scalar()
            with engine.begin() as writer:
                writer.execute(
                    text(
                        "INSERT INTO runs (recipe_id, recipe_version, line_kind, parameters, operator, simulated,"
                        " time_origin, started_at) VALUES ('r', 1, 'c', '{}', 'o', 0,"
                        " '2025-01-01 00:00:00.000000', '2025-01-01 00:00:00.000000')"
                    )
                )
            assert reader.execute(text("SELECT count(*) FROM runs")).scalar() == before
    finally:
        engine.dispose()


def test_postgresql_connections_time_out_and_keep_the_urls_options(postgres_schema_url):
    url = postgres_schema_url()  # its options select a schema
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "30s"
            assert conn.exec_driver_sql("SHOW search_path").scalar().startswith("t_")
    finally:
        engine.dispose()
