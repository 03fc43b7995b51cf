"""The registry of line kinds, and the recipe entry point that picks a recipe's kind.

Line kinds are plug-ins: every subpackage of ``controller.lines`` (the built-in kinds), every
entry point in the group ``poreline.line_kinds`` (kinds installed as packages) and every
module named in ``$PORELINE_LINE_KINDS`` (comma-separated; a kind of a site's own, or a
test's) is imported on first use, and each registers itself by subclassing
:class:`LineKind`. A child process (the line runtime ``poreline serve`` starts) inherits the
variable and so knows the same kinds.
"""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
from importlib.metadata import entry_points

from controller.lines.kind import LineKind, NoPlantSettings
from controller.recipe.compiler import compile_recipe_with_warnings, load_recipe_mapping
from controller.recipe.control import LineControl
from controller.recipe.errors import RecipeError, RecipeInvalid
from controller.recipe.model import CompiledRecipe
from drivers.definition import LineDefinition

ENTRY_POINT_GROUP = "poreline.line_kinds"
MODULES_ENV = "PORELINE_LINE_KINDS"


@functools.cache
def _discover() -> None:
    """Import the built-in kinds and the installed ones (once)."""
    for module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
        if module.ispkg:
            importlib.import_module(module.name)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        entry_point.load()
    for module in os.environ.get(MODULES_ENV, "").split(","):
        if module.strip():
            importlib.import_module(module.strip())


def kinds() -> tuple[LineKind, ...]:
    """Every registered line kind, the default first, then by name."""
    _discover()
    return tuple(sorted(LineKind.registry.values(), key=lambda k: (not k.default, k.name)))


def kind_names() -> tuple[str, ...]:
    return tuple(k.name for k in kinds())


def kind_named(name: str) -> LineKind:
    """The registered kind ``name``; ValueError naming the known kinds."""
    _discover()
    kind = LineKind.registry.get(name)
    if kind is None:
        raise ValueError(f"no line kind {name!r} (known: {', '.join(kind_names())})")
    return kind


def default_kind() -> LineKind:
    return kinds()[0]


def builtin_line(name: str) -> tuple[LineDefinition, LineControl]:
    """The built-in line of kind ``name`` with its default controller configuration."""
    kind = kind_named(name)
    definition = kind.definition()
    return definition, kind.control(definition)


def recipe_kind(text: str) -> LineKind:
    """The kind a recipe's header names; RecipeInvalid (``header.line_kind``) otherwise."""
    data, errors = load_recipe_mapping(text)
    if data is None:
        raise RecipeInvalid(errors)
    header = data.get("header")
    name = header.get("line_kind") if isinstance(header, dict) else None
    if not isinstance(name, str):
        raise RecipeInvalid([RecipeError("header.line_kind", "LINE.kind",
                                         f"the header names no line_kind (known: {', '.join(kind_names())})")])
    try:
        return kind_named(name)
    except ValueError as exc:
        raise RecipeInvalid([RecipeError("header.line_kind", "LINE.kind", str(exc))]) from None


def compile_text(text: str, definition: LineDefinition | None = None,
                 control: LineControl | None = None) -> tuple[CompiledRecipe, list[RecipeError]]:
    """Compile a recipe for ``definition`` (a recipe for another kind is refused at
    ``header.line_kind``) or, without one, for the built-in line of the kind its header
    names; returns the recipe and its warnings, raises RecipeInvalid with every error."""
    kind = kind_named(definition.kind) if definition is not None else recipe_kind(text)
    definition = definition if definition is not None else kind.definition()
    control = control if control is not None else kind.control(definition)
    return compile_recipe_with_warnings(text, kind, definition, control)


def compile_for_line(text: str, definition: LineDefinition | None = None,
                     control: LineControl | None = None) -> CompiledRecipe:
    return compile_text(text, definition, control)[0]


__all__ = [
    "ENTRY_POINT_GROUP",
    "LineKind",
    "NoPlantSettings",
    "builtin_line",
    "compile_for_line",
    "compile_text",
    "default_kind",
    "kind_named",
    "kind_names",
    "kinds",
    "recipe_kind",
]
