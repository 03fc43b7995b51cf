"""The recipe language: YAML shape (``schema``), the compiled form the engine runs
(``model``), units, the safe condition grammar, the compiler and the generic process
rules; a line kind adds its own blocks and rules through ``kind.RecipeKind``."""

from controller.recipe.compiler import (
    check_recipe,
    compile_recipe,
    compile_recipe_with_warnings,
    compile_standing_alarms,
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
]
