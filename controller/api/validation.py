"""Recipe text -> compiled recipe, with the CLI's errors (field + rule + message).

Anything the compiler does not anticipate (a YAML that is not a mapping, a crash in a
rule) is reported as a recipe error too, never as a server error.
"""

from __future__ import annotations

import dataclasses
import logging

from controller.lines import compile_text
from controller.recipe import RecipeError, RecipeInvalid
from controller.recipe.compiler import load_yaml
from controller.recipe.model import CompiledRecipe

log = logging.getLogger(__name__)


def header_field(text: str, name: str) -> object:
    """``header.<name>`` of the recipe text (None where the text cannot be read: the compiler
    says why), read with the recipe's own bounded YAML loader."""
    data, errors = load_yaml(text)
    if errors or not isinstance(data, dict) or not isinstance(data.get("header"), dict):
        return None
    return data["header"].get(name)


def compile_recipe_text(text: str) -> tuple[CompiledRecipe, list[RecipeError]]:
    """The compiled recipe and its warnings; raises RecipeInvalid with every error."""
    try:
        compiled, warnings = compile_text(text)
    except RecipeInvalid:
        raise
    except Exception as exc:
        log.warning("recipe compiler failed", exc_info=True)
        raise RecipeInvalid(
            [RecipeError("", "RECIPE.unreadable", f"the recipe could not be read: {type(exc).__name__}: {exc}")]
        ) from None
    return compiled, list(warnings)


def check_recipe_id(text: str, recipe_id: str) -> None:
    found = header_field(text, "id")
    if found != recipe_id:
        raise RecipeInvalid([RecipeError("header.id", "API.recipe_id",
                                         f"header.id is {found!r} but this is recipe {recipe_id!r}")])


def for_version(compiled: CompiledRecipe, version: int) -> CompiledRecipe:
    """The compiled recipe stamped with the stored version number (the batch record's)."""
    return dataclasses.replace(compiled, header=dataclasses.replace(compiled.header, version=version))
