"""Checkpoints anchor the audit trail outside the database (issue 11, item 6): deleting the
last rows, emptying the table and re-hashing the chain are all detected against a checkpoint
file whose lines are HMAC-signed with a key kept outside the database; a forged line is
refused. PostgreSQL refuses TRUNCATE, and its least-privilege role may only read and append
to the trail. Every test runs on SQLite and PostgreSQL (store conftest) unless it says."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from controller.cli.admin import register
from controller.store import AuditEntry, BatchRecorder, audit, create_engine_for, session_factory, upgrade
from controller.store import audit_checkpoints as anchors

KEY = b"k" * 64


def _append_some(session: Session, n: int) -> None:
    for i in range(n):
        audit.append(session, f"user{i % 3}", "recipe.edited", f"recipe r{i}", {"step": i})
    session.commit()


def _disable_guards(engine: Engine) -> None:
    """What a privileged attacker would do first: the append-only (and no-truncate) triggers off."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER USER")


def _checkpoint_file(session: Session, path: Path, key: bytes = KEY) -> anchors.Checkpoint:
    checkpoint = anchors.take_checkpoint(session, key)
    anchors.append_checkpoint(path, checkpoint)
    session.commit()  # end the read transaction (SQLite would keep its snapshot)
    return checkpoint


def _findings(session: Session, path: Path, key: bytes = KEY) -> list[str]:
    lines, findings = anchors.read_checkpoints(path, key)
    findings += anchors.verify_checkpoints(session, lines, source=path.name)
    session.commit()
    return findings


# ------------------------------------------------------------------ detection
def test_an_untouched_trail_matches_its_checkpoints_also_after_new_rows(session, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    _checkpoint_file(session, path)  # an empty trail: row 0, the genesis hash
    _append_some(session, 3)
    _checkpoint_file(session, path)
    _append_some(session, 2)
    assert _findings(session, path) == []
    first, second = (json.loads(line) for line in path.read_text().splitlines())
    assert (first["id"], first["hash"]) == (0, audit.GENESIS_HASH)
    assert second["id"] == 3 and second["hash"] == session.get(AuditEntry, 3).hash


def test_deleting_the_last_rows_is_detected_against_a_checkpoint(engine, session, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    _append_some(session, 6)
    _checkpoint_file(session, path)
    _disable_guards(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id >= 5"))
    assert audit.verify(session).ok  # the chain alone cannot tell
    session.commit()
    findings = _findings(session, path)
    assert len(findings) == 1
    assert "row 6 existed but the trail ends at row 4" in findings[0] and "truncated" in findings[0]
    assert findings[0].startswith("checkpoints.jsonl line 1 (")


def test_emptying_the_table_is_detected_against_a_checkpoint(engine, session, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    _append_some(session, 4)
    _checkpoint_file(session, path)
    _disable_guards(engine)
    with engine.begin() as conn:  # SQLite has no TRUNCATE: an unqualified DELETE is its truncation
        conn.exec_driver_sql("TRUNCATE audit_log" if engine.dialect.name == "postgresql" else "DELETE FROM audit_log")
    assert audit.verify(session).ok  # an empty chain is a valid chain
    session.commit()
    findings = _findings(session, path)
    assert len(findings) == 1 and "row 4 existed but the trail is empty" in findings[0], findings


def test_a_rehashed_chain_is_detected_against_a_checkpoint(engine, session, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    _append_some(session, 3)
    _checkpoint_file(session, path)
    _append_some(session, 3)
    _checkpoint_file(session, path)
    _disable_guards(engine)
    # row 2 rewritten, and the chain recomputed from it: the table verifies
    rows = [(r.id, r.at, r.actor, r.action, r.subject, r.details, r.hash)
            for r in session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()]
    session.commit()
    prev_hash = rows[0][-1]
    with engine.begin() as conn:
        for row in (SimpleNamespace(id=r[0], at=r[1], actor=r[2], action=r[3], subject=r[4], details=r[5])
                    for r in rows[1:]):
            actor = "mallory" if row.id == 2 else row.actor
            new_hash = audit.compute_hash(prev_hash, id=row.id, at=row.at, actor=actor, action=row.action,
                                          subject=row.subject, details=row.details)
            conn.execute(text("UPDATE audit_log SET actor = :a, prev_hash = :p, hash = :h WHERE id = :i"),
                         {"a": actor, "p": prev_hash, "h": new_hash, "i": row.id})
            prev_hash = new_hash
    assert audit.verify(session).ok
    session.commit()
    findings = _findings(session, path)
    assert len(findings) == 2
    assert findings[0].startswith(f"{path.name} line 1 (") and findings[1].startswith(f"{path.name} line 2 (")
    assert "row 3 has hash" in findings[0] and "re-hashed" in findings[0]
    assert "row 6 has hash" in findings[1] and "rows up to 6 were rewritten" in findings[1]


def test_a_checkpoint_line_with_a_wrong_mac_is_refused(session, tmp_path):
    path = tmp_path / "checkpoints.jsonl"
    _append_some(session, 5)
    _checkpoint_file(session, path)
    genuine = json.loads(path.read_text())
    # an attacker who truncated to row 2 writes a checkpoint that claims row 2 was the head
    forged = dict(genuine, id=2, hash=session.get(AuditEntry, 2).hash)
    other_key = anchors.sign(b"x" * 64, 2, forged["hash"], datetime.fromisoformat(genuine["at"]))
    session.commit()
    with path.open("a") as out:
        out.write(json.dumps(forged) + "\n")  # the genuine line's MAC on other content
        out.write(other_key.to_line() + "\n")  # signed with another key
        out.write("not json\n")
    lines, findings = anchors.read_checkpoints(path, KEY)
    assert [c.line_no for c in lines] == [1]
    assert len(findings) == 3
    assert "line 2: forged or altered checkpoint (its HMAC does not verify with the key) claiming row 2" in findings[0]
    assert "line 3: forged or altered" in findings[1]
    assert "line 4: not a checkpoint" in findings[2]
    with pytest.raises(anchors.CheckpointError, match="not found"):
        anchors.read_checkpoints(tmp_path / "missing.jsonl", KEY)


# ------------------------------------------------------------------ the key
def test_the_key_file_is_created_private_and_refused_when_shared_short_or_missing(tmp_path):
    key_file = tmp_path / "keys" / "checkpoint.key"
    anchors.create_key(key_file)
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    assert len(anchors.read_key(key_file)) == 64
    with pytest.raises(anchors.CheckpointError, match="exists already"):
        anchors.create_key(key_file)
    key_file.chmod(0o644)
    with pytest.raises(anchors.CheckpointError, match=r"readable by other users \(mode 0644\); run: chmod 600"):
        anchors.read_key(key_file)
    short = tmp_path / "short.key"
    short.write_text("abc")
    short.chmod(0o600)
    with pytest.raises(anchors.CheckpointError, match="holds 3 characters, fewer than 32"):
        anchors.read_key(short)
    with pytest.raises(anchors.CheckpointError, match="not found; create it with --create-key"):
        anchors.read_key(tmp_path / "nope.key")


# ------------------------------------------------------------------ the CLI
def _cli(*args: str):
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    return CliRunner().invoke(app, list(args))


def _one_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    return lines[0]


def test_cli_checkpoint_and_verify_detect_truncation_end_to_end(database_url, engine, session, tmp_path):
    key, out = tmp_path / "secret" / "checkpoint.key", tmp_path / "checkpoints.jsonl"
    _append_some(session, 4)
    result = _cli("audit", "checkpoint", "--key-file", str(key), "--create-key", "--out", str(out),
                  "--database", database_url)
    assert result.exit_code == 0, result.output
    assert "created key file" in result.output and "audit row 4" in result.output
    verify = ("audit", "verify", "--checkpoints", str(out), "--key-file", str(key), "--database", database_url)
    result = _cli(*verify)
    assert result.exit_code == 0, result.output
    assert "OK 4 rows verified; 1 checkpoint(s) match" in result.output

    _disable_guards(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 4"))
    result = _cli(*verify)
    assert result.exit_code == 1
    assert "FAILED checkpoints.jsonl line 1" in _one_line(result.output)
    assert "row 4 was deleted from the end (truncated)" in result.output
    assert _cli("audit", "verify", "--database", database_url).exit_code == 0  # without the anchor: unseen

    head = session.get(AuditEntry, 3)
    session.commit()
    result = _cli("audit", "verify", "--head", f"4:{head.hash}", "--database", database_url)
    assert result.exit_code == 1 and "--head 4: row 4 existed" in _one_line(result.output)


def test_cli_errors_are_one_line(tmp_path):
    db = f"sqlite:///{tmp_path / 'poreline.db'}"
    upgrade(db)
    key, out = tmp_path / "checkpoint.key", tmp_path / "checkpoints.jsonl"
    anchors.create_key(key)
    cases = [
        (("audit", "checkpoint", "--database", db), "give --key-file FILE"),
        (("audit", "checkpoint", "--key-file", str(tmp_path / "nope.key"), "--database", db), "not found"),
        (("audit", "verify", "--checkpoints", str(out), "--database", db), "--checkpoints needs --key-file"),
        (("audit", "verify", "--checkpoints", str(out), "--key-file", str(key), "--database", db),
         "checkpoint file"),
        (("audit", "verify", "--database", f"sqlite:///{tmp_path / 'elsewhere.db'}"), "no database at"),
        (("audit", "verify", "--head", "12:abc", "--database", db), "--head: '12:abc' is not ID:HASH"),
    ]
    for args, expected in cases:
        result = _cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in _one_line(result.output), (args, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "elsewhere.db").exists()  # verify never creates an empty database

    _cli("audit", "checkpoint", "--key-file", str(key), "--out", str(out), "--database", db)
    other = tmp_path / "other.key"
    anchors.create_key(other)
    result = _cli("audit", "verify", "--checkpoints", str(out), "--key-file", str(other), "--database", db)
    assert result.exit_code == 1 and "forged or altered checkpoint" in _one_line(result.output)


# ---------------------------------------------- batch report and runtime log
def test_the_runtime_log_and_the_report_get_the_head_when_a_run_ends(engine, session, caplog):
    recorder = BatchRecorder(engine, batch_size=10, max_buffer_age_s=None)
    run_id = recorder.open_run("r", 1, "casting", {}, "op", True, line_id="casting-1", audit_details={})
    with caplog.at_level(logging.INFO, logger="controller.store.batch"):
        recorder.end_run(run_id, "Complete", 12.0)
    head = audit.head(session)
    assert head is not None and recorder.audit_head == head
    assert f"audit checkpoint: run {run_id} Complete; audit trail head row {head[0]} sha256 {head[1]}" in caplog.text


# ---------------------------------------------------------------- PostgreSQL
def _postgresql_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE and no roles")


def test_postgresql_refuses_truncate(engine, session):
    _postgresql_only(engine)
    _append_some(session, 3)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE audit_log")
    assert audit.verify(session).rows_checked == 3


def test_postgresql_application_role_may_only_read_and_append_to_the_trail(engine, session):
    _postgresql_only(engine)
    _append_some(session, 2)
    with engine.connect() as conn:
        rights = {right: conn.execute(text("SELECT has_table_privilege('poreline_app', 'audit_log', :r)"),
                                      {"r": right}).scalar_one()
                  for right in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")}
        assert rights == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False, "TRUNCATE": False}
        # tables of later migrations (0008) got the application's rights too
        assert conn.execute(text("SELECT has_table_privilege('poreline_app', 'run_deviations', 'INSERT')")).scalar()
    with Session(engine) as app, app.begin():
        app.execute(text("SET LOCAL ROLE poreline_app"))
        audit.append(app, "op", "run.hold", "run 1", {"reason": "alarm X"})  # appending works
    for statement in ("DELETE FROM audit_log", "UPDATE audit_log SET actor = 'x'", "TRUNCATE audit_log",
                      "ALTER TABLE audit_log DISABLE TRIGGER USER", "DROP TRIGGER trg_audit_log_no_truncate ON audit_log"):
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner"), engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL ROLE poreline_app")
            conn.exec_driver_sql(statement)
    result = audit.verify(session)
    assert result.ok and result.rows_checked == 3


# ---------------------------------------------------------------- migration
def test_migration_0007_runs_forward_on_a_trail_with_rows(database_url):
    engine = create_engine_for(database_url)
    try:
        upgrade(database_url, "0006")
        with session_factory(engine)() as session:
            _append_some(session, 3)
        upgrade(database_url)
        with session_factory(engine)() as session:
            assert audit.verify(session).rows_checked == 3
            audit.append(session, "op", "after", "upgrade", {})
            session.commit()
            assert audit.verify(session).ok
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                triggers = conn.execute(text("SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass "
                                             "AND NOT tgisinternal ORDER BY tgname")).scalars().all()
            assert triggers == ["trg_audit_log_append_only", "trg_audit_log_no_truncate"]
    finally:
        engine.dispose()
