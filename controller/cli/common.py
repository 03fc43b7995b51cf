"""What the ``poreline`` commands share: the console, reading and compiling a recipe file
with every error printed, choosing a line kind, and clock-time formatting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from controller.lines import LineKind, default_kind, kind_named
from controller.recipe.errors import RecipeInvalid, format_errors
from controller.recipe.model import CompiledRecipe

console = Console()

RecipePath = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                            help="Recipe YAML file")]
LineOption = Annotated[str | None, typer.Option(
    "--line", help="Line kind (default: the built-in default kind; `poreline kinds` lists them)")]


def compile_recipe_file(path: Path) -> CompiledRecipe:
    """The compiled recipe; exits 1 with every error (field, rule, message) otherwise."""
    from controller.lines import compile_for_line

    text = path.read_text(encoding="utf-8")
    try:
        return compile_for_line(text)
    except RecipeInvalid as exc:
        console.print(f"[red]{path}: {len(exc.errors)} error(s)[/red]")
        console.print(format_errors(exc.errors), markup=False, highlight=False)
        raise typer.Exit(1) from None


def line_kind(name: str | None) -> LineKind:
    """The named kind (the default kind for None); exits 2 naming the known kinds."""
    try:
        return default_kind() if name is None else kind_named(name)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None


def hms(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600:d}:{t % 3600 // 60:02d}:{t % 60:02d}"
