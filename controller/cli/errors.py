"""Every error of the ``poreline`` command is one readable line on stderr and a non-zero
exit code, never a traceback.

``PorelineGroup`` is the group of the ``poreline`` app: it runs the command in typer's
non-standalone mode and turns what escapes into one line: usage errors (a bad option
value, a missing file, an unknown command) as typer words them, errors a user can fix (a recipe that
is not UTF-8, a bad plant file, a database that cannot be reached) as their message,
anything else as its type and message with the hint to set ``PORELINE_DEBUG=1`` for the
traceback (with it set, the exception is re-raised).
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

DEBUG_ENV = "PORELINE_DEBUG"
PROGRAM = "poreline"


class CliError(Exception):
    """An error the user can fix; the message is the whole line."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of spaces folded into single spaces."""
    return " ".join(text.split())


def error_line(message: str) -> str:
    return f"{PROGRAM}: error: {one_line(message)}"


def fail(message: str, exit_code: int = 2) -> NoReturn:
    """Print ``message`` as the one error line and exit with ``exit_code``."""
    typer.echo(error_line(message), err=True)
    raise typer.Exit(exit_code)


def known_error(exc: BaseException) -> str | None:
    """The message of an error the user can fix, None for an unexpected one (a bug)."""
    from pydantic import ValidationError
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from controller.assembly import PlantConfigError
    from controller.recipe.limits import RecipeTextError

    if isinstance(exc, (CliError, RecipeTextError, PlantConfigError)):
        return str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 at byte {exc.start}: save the file as UTF-8"
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}"
    if isinstance(exc, ArgumentError):
        return f"the database URL is not understood ({exc}): give --database or PORELINE_DATABASE_URL as a SQLAlchemy URL"
    if isinstance(exc, DBAPIError):
        reason = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        return (f"the database cannot be used: {reason}; check --database or PORELINE_DATABASE_URL "
                "and that the database server is running")
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors())
    return None


def _is_usage_error(exc: BaseException) -> bool:
    """A usage error of typer's (vendored) click: bad option value, missing argument,
    unknown command; it carries the context of the command it was raised for."""
    return isinstance(exc, TyperException) and getattr(exc, "ctx", None) is not None


def report(exc: BaseException) -> int:
    """Print the one line for ``exc`` and return the exit code."""
    if isinstance(exc, TyperException):  # typer's ClickException and its usage errors
        if type(exc).__name__ == "NoArgsIsHelpError":  # no command given: typer printed the help raising it
            return 2
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if _is_usage_error(exc) and ctx is not None else ""
        typer.echo(error_line(exc.format_message() + hint), err=True)
        return exc.exit_code
    if isinstance(exc, typer.Abort):
        typer.echo(error_line("aborted"), err=True)
        return 1
    message = known_error(exc)
    if message is not None:
        typer.echo(error_line(message), err=True)
        return exc.exit_code if isinstance(exc, CliError) else 1
    typer.echo(error_line(f"unexpected {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback, "
                          "and report it)"), err=True)
    return 1


class PorelineGroup(TyperGroup):
    """The ``poreline`` group: one error line instead of click's usage box or a traceback."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                standalone_mode=False, **extra)
        try:
            result = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
            code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        except Exception as exc:
            if os.environ.get(DEBUG_ENV, "").strip() not in ("", "0") and known_error(exc) is None \
                    and not isinstance(exc, (TyperException, typer.Abort)):
                raise
            code = report(exc)
        gc.freeze()  # the command is done: no final collection over every module it loaded (~0.5 s at exit)
        sys.exit(code)
