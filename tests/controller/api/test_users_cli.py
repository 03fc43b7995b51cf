"""``poreline users ...``: a password is prompted for (hidden, twice) or read from a file or
standard input, never taken as an argument, and meets the one policy of the CLI and the API
(12 characters or more); admins deactivate, reactivate, reset, unlock and revoke from the
command line too, every change audited with the actor ``cli``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.store import ApiToken, AuditEntry, User, create_engine_for, lockout, session_factory, users

GOOD = "a-long-enough-secret"
SHORT = "eleven-char"  # 11 characters


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'poreline.db'}"


@pytest.fixture
def db(url: str) -> Iterator[Session]:
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _user(url: str, username: str) -> User | None:
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            return users.get_user(session, username)
    finally:
        engine.dispose()


def _not_created(url: str, username: str) -> bool:
    """No such user, or no database at all (the password is refused before anything is opened)."""
    return not Path(url.removeprefix("sqlite:///")).exists() or _user(url, username) is None


def _password_works(url: str, username: str, password: str) -> bool:
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            return users.verify_password(session, username, password) is not None
    finally:
        engine.dispose()


def _create(api: ModuleType, url: str, name: str, *args: str, stdin: str | None = None) -> Any:
    return api.cli("users", "create", name, "--role", "operator", *args, "--database", url, stdin=stdin)


def _one_error_line(output: str) -> str:
    lines = output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in output, output
    return lines[0]


def test_the_password_is_prompted_for_hidden_and_twice(api, url):
    result = _create(api, url, "prompted", stdin=f"{GOOD}\n{GOOD}\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "Repeat" in result.output
    assert GOOD not in result.output  # hidden input is not echoed
    assert _password_works(url, "prompted", GOOD)


def test_two_different_entries_at_the_prompt_create_nobody(api, url):
    result = _create(api, url, "typo", stdin=f"{GOOD}\n{GOOD}x\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert _not_created(url, "typo")


def test_the_password_is_read_from_a_file(api, url, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(GOOD + "\n", encoding="utf-8")
    result = _create(api, url, "filed", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    assert GOOD not in result.output
    assert _password_works(url, "filed", GOOD)


def test_the_password_is_read_from_stdin(api, url):
    result = _create(api, url, "piped", "--password-stdin", stdin=GOOD + "\r\n")
    assert result.exit_code == 0, result.output
    assert _password_works(url, "piped", GOOD)


@pytest.mark.parametrize("source", ["prompt", "file", "stdin"])
def test_a_short_password_is_refused_in_one_line_from_every_source(api, url, tmp_path, source):
    if source == "prompt":
        result = _create(api, url, "shorty", stdin=f"{SHORT}\n{SHORT}\n")
    elif source == "file":
        (tmp_path / "short.txt").write_text(SHORT + "\n", encoding="utf-8")
        result = _create(api, url, "shorty", "--password-file", str(tmp_path / "short.txt"))
    else:
        result = _create(api, url, "shorty", "--password-stdin", stdin=SHORT + "\n")
    assert result.exit_code == 2, result.output
    error = result.output.strip().splitlines()[-1]
    assert "at least 12 characters" in error and "Traceback" not in result.output
    assert SHORT not in result.output
    assert _not_created(url, "shorty")


@pytest.mark.parametrize(("args", "stdin", "says"), [
    (["--password", GOOD], None, "No such option"),
    (["--password-stdin"], f"{GOOD}\nsecond line\n", "single line"),
    (["--password-stdin", "--password-file", "secret.txt"], GOOD + "\n", "not both"),
    (["--password-file", "absent.txt"], None, "cannot read"),
])
def test_bad_password_sources_are_refused(api, url, tmp_path, monkeypatch, args, stdin, says):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.txt").write_text(GOOD + "\n", encoding="utf-8")
    result = _create(api, url, "nobody", *args, stdin=stdin)
    assert result.exit_code == 2, result.output
    assert says in result.output and GOOD not in result.output and "Traceback" not in result.output
    assert _not_created(url, "nobody")


def _audit_rows(url: str) -> list[AuditEntry]:
    engine = create_engine_for(url)
    try:
        with session_factory(engine)() as session:
            return list(session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars())
    finally:
        engine.dispose()


def test_admin_commands_deactivate_activate_reset_unlock_and_revoke(api, url, db):
    assert _create(api, url, "op", "--password-stdin", stdin=GOOD + "\n").exit_code == 0
    op = users.get_user(db, "op")
    assert op is not None
    tokens = [users.issue_token(db, op) for _ in range(2)]
    db.commit()

    revoked = api.cli("users", "revoke-tokens", "op", "--database", url)
    assert revoked.exit_code == 0 and "revoked 2 token(s) of op" in revoked.output, revoked.output
    assert all(users.resolve_token(db, t) is None for t in tokens)

    fresh = users.issue_token(db, op)
    db.commit()
    off = api.cli("users", "deactivate", "op", "--database", url)
    assert off.exit_code == 0 and "deactivated op" in off.output, off.output
    assert not _password_works(url, "op", GOOD)
    listed = api.cli("users", "list", "--database", url)
    assert "op: operator, deactivated" in listed.output, listed.output
    assert api.cli("users", "activate", "op", "--database", url).exit_code == 0
    assert _password_works(url, "op", GOOD)
    db.expire_all()
    assert users.resolve_token(db, fresh) is None  # reactivation brings no token back

    for _ in range(3):
        lockout.record_failure(db, op.id, policy=lockout.LockoutPolicy(max_failures=3))
    db.commit()
    assert "locked until" in api.cli("users", "list", "--database", url).output
    unlocked = api.cli("users", "unlock", "op", "--database", url)
    assert unlocked.exit_code == 0 and "unlocked op" in unlocked.output, unlocked.output
    assert _password_works(url, "op", GOOD)

    short = api.cli("users", "reset-password", "op", "--password-stdin", "--database", url, stdin=SHORT + "\n")
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    assert _password_works(url, "op", GOOD)
    new = "another-long-secret"
    reset = api.cli("users", "reset-password", "op", "--password-stdin", "--database", url, stdin=new + "\n")
    assert reset.exit_code == 0, reset.output
    assert _password_works(url, "op", new) and not _password_works(url, "op", GOOD)

    actions = [(r.actor, r.action, r.subject) for r in _audit_rows(url)]
    for action in ("user.tokens_revoked", "user.deactivated", "user.activated", "user.unlocked",
                   "user.password_reset"):
        assert ("cli", action, "user op") in actions, action
    assert all(new not in str(r.details) and GOOD not in str(r.details) for r in _audit_rows(url))


def test_admin_commands_name_what_is_wrong_in_one_line(api, url, tmp_path):
    missing = f"sqlite:///{tmp_path / 'absent.db'}"
    line = _one_error_line(api.cli("users", "deactivate", "op", "--database", missing).output)
    assert "no database at" in line
    assert not (tmp_path / "absent.db").exists()  # never created empty
    assert _create(api, url, "op", "--password-stdin", stdin=GOOD + "\n").exit_code == 0
    result = api.cli("users", "unlock", "ghost", "--database", url)
    assert result.exit_code == 1 and "no user 'ghost'" in _one_error_line(result.output)


def test_tokens_of_other_users_are_untouched(api, url, db):
    for name in ("op", "other"):
        assert _create(api, url, name, "--password-stdin", stdin=GOOD + "\n").exit_code == 0
    other = users.get_user(db, "other")
    assert other is not None
    kept = users.issue_token(db, other)
    db.commit()
    assert api.cli("users", "revoke-tokens", "op", "--database", url).exit_code == 0
    assert api.cli("users", "deactivate", "op", "--database", url).exit_code == 0
    db.expire_all()
    assert users.resolve_token(db, kept) is not None
    assert db.execute(select(ApiToken).where(ApiToken.revoked_at.is_not(None))).first() is None
