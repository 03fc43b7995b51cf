"""Tampering with an audit row makes `poreline audit verify` fail and name the row."""

from __future__ import annotations

from sqlalchemy import text

from controller.store import create_engine_for


def test_tampered_audit_row_is_named_by_audit_verify(client, database_url, api):
    h = api.create_users(client, database_url)
    assert client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h["eng_a"]).status_code == 201
    assert api.cli("audit", "verify", "--database", database_url).exit_code == 0

    engine = create_engine_for(database_url)
    try:
        with engine.begin() as conn:  # what a privileged attacker would do first
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("DROP TRIGGER trg_audit_log_no_update")
            else:
                conn.exec_driver_sql("ALTER TABLE audit_log DISABLE TRIGGER trg_audit_log_append_only")
            conn.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"))
    finally:
        engine.dispose()

    result = api.cli("audit", "verify", "--database", database_url)
    assert result.exit_code == 1, result.output
    assert "row 3" in result.output and "edited" in result.output
    verify = client.get("/audit/verify", headers=h["view"]).json()
    assert verify["ok"] is False and verify["first_bad_id"] == 3
