"""What the ``poreline`` commands share: the console, reading and compiling a recipe file
with every error printed, choosing a line kind, and clock-time formatting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from controller.cli.errors import fail
from controller.lines import LineKind, default_kind, kind_named
from controller.recipe.errors import RecipeInvalid, format_errors
from controller.recipe.limits import MAX_RECIPE_BYTES, RecipeTextError, decode_recipe_bytes
from controller.recipe.model import CompiledRecipe

console = Console()

RecipePath = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                            help="Recipe YAML file")]
LineOption = Annotated[str | None, typer.Option(
    "--line", help="Line kind (default: the built-in default kind; `poreline kinds` lists them)")]


def read_recipe_file(path: Path) -> str:
    """The text of a recipe file; RecipeTextError naming the file when it is too large or
    not UTF-8 (the first byte that is not), OSError when it cannot be read."""
    size = path.stat().st_size
    if size > MAX_RECIPE_BYTES:  # not read at all
        raise RecipeTextError(f"{path}: the recipe is {size} bytes; at most {MAX_RECIPE_BYTES} are allowed")
    try:
        return decode_recipe_bytes(path.read_bytes())
    except RecipeTextError as exc:
        raise RecipeTextError(f"{path}: {exc}") from None


def compile_recipe_file(path: Path) -> CompiledRecipe:
    """The compiled recipe; exits 1 with every error (field, rule, message, one line each)
    otherwise, or with one line when the file cannot be read as a recipe."""
    from controller.lines import compile_for_line

    try:
        text = read_recipe_file(path)
    except (RecipeTextError, OSError) as exc:
        fail(str(exc) if isinstance(exc, RecipeTextError) else f"{path}: {exc.strerror or exc}", 1)
    try:
        return compile_for_line(text)
    except RecipeInvalid as exc:
        console.print(f"[red]{path}: {len(exc.errors)} error(s)[/red]", highlight=False, soft_wrap=True)
        console.print(format_errors(exc.errors), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def line_kind(name: str | None) -> LineKind:
    """The named kind (the default kind for None); exits 2 naming the known kinds."""
    try:
        return default_kind() if name is None else kind_named(name)
    except ValueError as exc:
        fail(str(exc), 2)


def hms(t_s: float) -> str:
    t = int(t_s)
    return f"{t // 3600:d}:{t % 3600 // 60:02d}:{t % 60:02d}"
