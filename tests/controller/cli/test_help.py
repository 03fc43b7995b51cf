"""Every command's ``--help`` prints its help: typer renders help text as rich markup, so a
bracket in it (``[/PATH]``) once turned ``poreline line run --help`` into an error."""

from __future__ import annotations

import typer
from typer.main import get_command
from typer.testing import CliRunner

from controller.cli.main import app


def command_paths(group: typer.core.TyperGroup | object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, command in getattr(group, "commands", {}).items():
        paths += command_paths(command, (*prefix, name))
    return paths


def test_every_command_prints_its_help() -> None:
    runner = CliRunner()
    paths = command_paths(get_command(app))
    assert ("line", "run") in paths and ("report",) in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"poreline {' '.join(path)} --help: {result.output}"
        assert "Usage:" in result.output, path
