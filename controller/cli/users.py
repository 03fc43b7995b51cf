"""``poreline users ...`` besides ``create``: list, deactivate and activate, reset a password,
unlock, revoke every token of a user; and how every command reads a new password.

A password is never an argument (it would land in the shell history and the process
list): it is prompted for (hidden, typed twice), or read from a file (``--password-file``)
or standard input (``--password-stdin``), one line either way.  It meets the one policy
of the CLI and the API (:func:`controller.store.users.check_password_policy`).  Every
change is audited with the actor ``cli``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from controller.cli.common import console
from controller.cli.errors import error_line

if TYPE_CHECKING:
    from controller.store import User

__all__ = ["PasswordFile", "PasswordStdin", "read_new_password", "register"]

CLI_ACTOR = "cli"

PasswordFile = Annotated[Path | None, typer.Option(
    "--password-file", dir_okay=False, metavar="PATH",
    help="Read the password from this file (one line; make it readable by you only)")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from standard input (one line), e.g. from a secrets manager")]
Database = Annotated[str | None, typer.Option(
    "--database", "-d", envvar="PORELINE_DATABASE_URL",
    help="SQLAlchemy URL of the database (default sqlite:///var/poreline.db)")]
Username = Annotated[str, typer.Argument(help="User name")]


def error_exit(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as the one error line on stderr; the caller raises the returned Exit."""
    typer.echo(error_line(message), err=True)
    return typer.Exit(code)


def _one_line(text: str, source: str) -> str:
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if "\n" in text or "\r" in text:
        raise error_exit(f"{source}: the password must be a single line")
    return text


def read_new_password(password_file: Path | None, password_stdin: bool) -> str:
    """The new password from the file, standard input or a hidden prompt (typed twice);
    exit 2 with one line when it cannot be read or does not meet the policy."""
    from controller.store.users import PasswordPolicyError, check_password_policy

    if password_file is not None and password_stdin:
        raise error_exit("give --password-file or --password-stdin, not both")
    if password_file is not None:
        try:
            password = _one_line(password_file.read_text(encoding="utf-8"), "--password-file")
        except OSError as exc:
            raise error_exit(f"--password-file: cannot read {password_file}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise error_exit(f"--password-file: {password_file} is not UTF-8 text") from None
    elif password_stdin:
        password = _one_line(sys.stdin.read(), "--password-stdin")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_policy(password)
    except PasswordPolicyError as exc:
        raise error_exit(str(exc)) from None
    return password


def existing_database(database: str | None) -> str:
    """The database URL; a SQLite file that does not exist is refused (never created empty)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from controller.store import default_database_url

    url = database or default_database_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise error_exit(f"--database: {url!r} is not a database URL (e.g. sqlite:///var/poreline.db)") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:") and not Path(parsed.database).is_file():
        raise error_exit(f"no database at {parsed.database}; give --database (or PORELINE_DATABASE_URL)")
    return url


@contextmanager
def _writer(database: str | None) -> Iterator[Session]:
    """A writing session on the (migrated) database; an absent SQLite file is refused, not created."""
    from sqlalchemy.exc import SQLAlchemyError

    from controller.store import create_engine_for, session_factory, upgrade
    from controller.store.database import writer

    url = existing_database(database)
    engine = create_engine_for(url)
    try:
        upgrade(engine)
        with session_factory(writer(engine))() as session:
            yield session
    except SQLAlchemyError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise error_exit(f"database {shown}: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def _change(database: str | None, username: str, change: Callable[[Session, User], str]) -> None:
    """Apply ``change`` to the user in one transaction; it audits and returns what to print."""
    from controller.store import users

    with _writer(database) as session:
        user = users.get_user(session, username)
        if user is None:
            raise error_exit(f"no user {username!r}; `poreline users list` lists them", 1)
        done = change(session, user)
        session.commit()
    console.print(done, highlight=False)


def users_list(database: Database = None) -> None:
    """List users: role, active, locked."""
    from sqlalchemy import select

    from controller.store import User, lockout

    with _writer(database) as session:
        rows = session.execute(select(User).order_by(User.id)).scalars().all()
    for u in rows:
        locked = f", locked until {u.locked_until:%Y-%m-%d %H:%M} UTC" if lockout.is_locked(u.locked_until) else ""
        console.print(f"{u.username}: {u.role}{'' if u.active else ', deactivated'}{locked}", highlight=False)


def users_deactivate(username: Username, database: Database = None) -> None:
    """Deactivate a user: no more logins, every token revoked."""
    from controller.store import audit, users

    def change(session: Session, user: User) -> str:
        revoked = users.set_active(session, user, False)
        audit.append(session, CLI_ACTOR, "user.deactivated", f"user {user.username}", {"tokens_revoked": revoked})
        return f"deactivated {user.username} ({revoked} token(s) revoked)"

    _change(database, username, change)


def users_activate(username: Username, database: Database = None) -> None:
    """Reactivate a user (old tokens stay revoked)."""
    from controller.store import audit, users

    def change(session: Session, user: User) -> str:
        users.set_active(session, user, True)
        audit.append(session, CLI_ACTOR, "user.activated", f"user {user.username}", {})
        return f"activated {user.username}"

    _change(database, username, change)


def users_reset_password(username: Username, password_file: PasswordFile = None,
                         password_stdin: PasswordStdin = False, database: Database = None) -> None:
    """Set a user's new password: every token of theirs is revoked and the account unlocked."""
    from controller.store import audit, lockout, users

    password_hash = users.hash_password(read_new_password(password_file, password_stdin))

    def change(session: Session, user: User) -> str:
        users.set_password_hash(session, user, password_hash)
        revoked = users.revoke_user_tokens(session, user)
        was_locked = lockout.unlock(session, user)
        audit.append(session, CLI_ACTOR, "user.password_reset", f"user {user.username}",
                     {"tokens_revoked": revoked, "was_locked": was_locked})
        return f"password of {user.username} reset ({revoked} token(s) revoked)"

    _change(database, username, change)


def users_unlock(username: Username, database: Database = None) -> None:
    """Unlock a user locked after wrong passwords."""
    from controller.store import audit, lockout

    def change(session: Session, user: User) -> str:
        failed = user.failed_logins
        was_locked = lockout.unlock(session, user)
        audit.append(session, CLI_ACTOR, "user.unlocked", f"user {user.username}",
                     {"was_locked": was_locked, "failed_logins": failed})
        return f"unlocked {user.username}" if was_locked else f"{user.username} was not locked (failure count cleared)"

    _change(database, username, change)


def users_revoke_tokens(username: Username, database: Database = None) -> None:
    """Revoke every token of a user (logged out everywhere)."""
    from controller.store import audit, users

    def change(session: Session, user: User) -> str:
        revoked = users.revoke_user_tokens(session, user)
        audit.append(session, CLI_ACTOR, "user.tokens_revoked", f"user {user.username}", {"tokens_revoked": revoked})
        return f"revoked {revoked} token(s) of {user.username}"

    _change(database, username, change)


def register(user_app: typer.Typer) -> None:
    """Add the commands to ``poreline users`` (``create`` is in :mod:`controller.cli.admin`)."""
    user_app.command("list")(users_list)
    user_app.command("deactivate")(users_deactivate)
    user_app.command("activate")(users_activate)
    user_app.command("reset-password")(users_reset_password)
    user_app.command("unlock")(users_unlock)
    user_app.command("revoke-tokens")(users_revoke_tokens)
