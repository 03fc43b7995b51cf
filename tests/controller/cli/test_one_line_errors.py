"""Every error of the ``poreline`` command is one readable line on stderr with a non-zero
exit code, never a traceback (issue 11, item 3). The real console script runs in a
subprocess, from a scratch directory, with no database configured."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from paths import RECIPES

from controller.cli.errors import DEBUG_ENV, PorelineGroup
from controller.recipe.limits import MAX_RECIPE_BYTES

POREL = Path(sys.executable).with_name("poreline")
GOOD = RECIPES / "psf-microfilter-example-viii.yaml"


def poreline(cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORELINE_")}
    return subprocess.run([str(POREL), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one stderr line of a failed command (asserting there is exactly one)."""
    assert result.returncode != 0, result
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one error line, got:\n{result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    assert lines[0].startswith("poreline: error: "), lines[0]
    return lines[0]


def test_the_console_script_is_installed() -> None:
    assert POREL.is_file(), f"{POREL}: install the package (make test does)"


def test_a_recipe_that_is_not_utf8_gives_one_line(tmp_path: Path) -> None:
    data = GOOD.read_bytes().replace(b"header:", b"header: # Caf\xe9", 1)
    recipe = tmp_path / "latin1.yaml"
    recipe.write_bytes(data)
    at = data.index(b"\xe9")
    for command in ("validate", "run"):
        result = poreline(tmp_path, command, recipe)
        line = one_error_line(result)
        assert result.returncode == 1
        assert line == f"poreline: error: {recipe}: not UTF-8 at byte {at}: save the recipe as UTF-8"
        assert result.stdout == ""
    assert not (tmp_path / "var").exists(), "nothing was run or stored"


def test_a_recipe_over_the_size_limit_gives_one_line(tmp_path: Path) -> None:
    recipe = tmp_path / "huge.yaml"
    recipe.write_text(GOOD.read_text(encoding="utf-8") + "#" * MAX_RECIPE_BYTES + "\n", encoding="utf-8")
    line = one_error_line(poreline(tmp_path, "validate", recipe))
    assert f"at most {MAX_RECIPE_BYTES} are allowed" in line


@pytest.mark.parametrize(("args", "words"), [
    (("run", GOOD, "--sample-period", "-5"), "'--sample-period'"),
    (("run", GOOD, "--scan-period", "0"), "'--scan-period'"),
    (("run", GOOD, "--seed", "abc"), "'--seed'"),
    (("validate", "no-such-recipe.yaml"), "does not exist"),
    (("validate",), "Missing argument"),
    (("nosuch",), "No such command 'nosuch'"),
    (("profiles", "--format", "xml"), "'--format'"),
    (("sim", "serve", "--modbus-port", "-1"), "'--modbus-port'"),
])
def test_bad_options_give_one_line(tmp_path: Path, args: tuple[str | Path, ...], words: str) -> None:
    result = poreline(tmp_path, *args)
    assert result.returncode == 2
    assert words in one_error_line(result)
    assert not (tmp_path / "var").exists()


def test_a_bad_plant_file_gives_one_line_before_the_database_is_touched(tmp_path: Path) -> None:
    plant = tmp_path / "plant.yaml"
    plant.write_text("line: casting\nendpoints: [{protocol: modbus, host: 127.0.0.1, port: 0}]\n", encoding="utf-8")
    result = poreline(tmp_path, "run", GOOD, "--plant", plant)
    assert result.returncode == 2
    assert "endpoints[0]" in one_error_line(result)  # the field named
    assert not (tmp_path / "var").exists(), "the refused run created a database"


def test_a_database_url_that_is_not_one_gives_one_line(tmp_path: Path) -> None:
    line = one_error_line(poreline(tmp_path, "run", GOOD, "--database", "not-a-url"))
    assert "the database URL is not understood" in line


def test_audit_verify_on_a_missing_database_gives_one_line_and_creates_nothing(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = poreline(elsewhere, "audit", "verify")
    line = one_error_line(result)
    assert f"no database at {elsewhere / 'var' / 'poreline.db'}" in line
    assert not (elsewhere / "var").exists(), "audit verify created the database it was asked to check"

    result = poreline(elsewhere, "audit", "verify", "--database", f"sqlite:///{tmp_path / 'missing.db'}")
    assert "no database at" in one_error_line(result)
    assert not (tmp_path / "missing.db").exists()


# ------------------------------------------------------------------ the group itself
def _app() -> typer.Typer:
    app = typer.Typer(cls=PorelineGroup, add_completion=False)

    @app.command()
    def boom() -> None:
        raise RuntimeError("line one\nline two")

    @app.command()
    def fine() -> None:
        typer.echo("ok")

    return app


def test_an_unexpected_error_is_one_line_naming_it(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        _app()(["boom"], prog_name="poreline")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [f"poreline: error: unexpected RuntimeError: line one line two "
                                f"(set {DEBUG_ENV}=1 for the traceback, and report it)"]


def test_the_debug_switch_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(RuntimeError, match="line one"):
        _app()(["boom"], prog_name="poreline")


def test_success_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _app()(["fine"], prog_name="poreline")
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == "ok\n"
