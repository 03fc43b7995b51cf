"""Recipes: YAML -> validated ``CompiledRecipe`` (see ``compiler`` and ``rules``)."""

from controller.recipe.compiler import (
    check_recipe,
    compile_recipe,
    compile_recipe_with_warnings,
    compile_standing_alarms,
    load_recipe_file,
)
from controller.recipe.errors import RecipeError, RecipeInvalid, format_errors

__all__ = [
    "RecipeError",
    "RecipeInvalid",
    "check_recipe",
    "compile_recipe",
    "compile_recipe_with_warnings",
    "compile_standing_alarms",
    "format_errors",
    "load_recipe_file",
]
