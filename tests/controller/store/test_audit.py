from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from controller.store import AuditEntry, audit, session_factory


def _append_some(session: Session, n: int) -> None:
    for i in range(n):
        audit.append(session, f"user{i % 3}", "recipe.edited", f"recipe r{i}", {"step": i, "gap_um": 150.5 + i})
    session.commit()


def _disable_append_only_guard(engine: Engine) -> None:
    """What a privileged attacker would do before editing the table."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_delete")
        else:
            conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER trg_audit_log_append_only")


def test_an_untouched_chain_verifies(session):
    _append_some(session, 10)
    result = audit.verify(session)
    assert result.ok, result.reason
    assert result.first_bad_id is None
    assert result.rows_checked == 10


def test_each_row_links_to_the_hash_of_the_previous_one(session):
    _append_some(session, 3)
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars().all()
    assert [r.id for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert rows[2].hash == audit.compute_hash(
        rows[1].hash, id=3, at=rows[2].at, actor=rows[2].actor, action=rows[2].action,
        subject=rows[2].subject, details=rows[2].details,
    )


def test_the_database_refuses_update_and_delete(engine, session):
    _append_some(session, 2)
    for statement in ("UPDATE audit_log SET actor = 'mallory' WHERE id = 1", "DELETE FROM audit_log WHERE id = 2"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert audit.verify(session).ok


def test_editing_a_row_with_raw_sql_is_detected_and_the_row_named(engine, session):
    _append_some(session, 8)
    _disable_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 5"))
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_id == 5
    assert "row 5" in result.reason and "edited" in result.reason


def test_editing_details_is_detected(engine, session):
    _append_some(session, 4)
    _disable_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET details = '{\"step\": 2, \"gap_um\": 999}' WHERE id = 3"))
    result = audit.verify(session)
    assert (result.ok, result.first_bad_id) == (False, 3)


def test_deleting_a_row_is_detected_and_the_missing_row_named(engine, session):
    _append_some(session, 8)
    _disable_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 4"))
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_id == 4
    assert "row 4 is missing" in result.reason


def test_renumbering_after_a_delete_still_breaks_the_chain(engine, session):
    _append_some(session, 5)
    _disable_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 3"))
        conn.execute(text("UPDATE audit_log SET id = id - 1 WHERE id IN (4, 5)"))
    result = audit.verify(session)
    assert (result.ok, result.first_bad_id) == (False, 3)


def test_truncating_the_tail_is_detected_against_a_recorded_head(engine, session):
    _append_some(session, 6)
    recorded_head = audit.head(session)
    assert recorded_head is not None and recorded_head[0] == 6
    session.commit()  # end the read transaction (SQLite would keep its snapshot)
    _disable_append_only_guard(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE id = 6"))
    assert audit.verify(session).ok  # the table alone cannot tell
    result = audit.verify(session, expected_head=recorded_head)
    assert (result.ok, result.first_bad_id) == (False, 6)


def test_a_rolled_back_append_leaves_no_gap(session):
    _append_some(session, 2)
    audit.append(session, "alice", "doomed", "x", {})
    session.rollback()
    audit.append(session, "alice", "kept", "x", {})
    session.commit()
    assert session.execute(select(AuditEntry.id).order_by(AuditEntry.id)).scalars().all() == [1, 2, 3]
    assert audit.verify(session).ok


def test_details_that_are_not_json_are_refused(session):
    with pytest.raises(ValueError):
        audit.append(session, "alice", "x", "y", {"bad": float("nan")})


def test_concurrent_appends_never_fork_the_chain(engine):
    make_session = session_factory(engine)
    threads_n, per_thread = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(threads_n)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                with make_session() as s, s.begin():
                    audit.append(s, f"worker{n}", "tick", f"t{i}", {"n": n, "i": i})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with make_session() as s:
        result = audit.verify(s)
        assert result.ok, result.reason
        assert result.rows_checked == threads_n * per_thread
