"""What the recipe compiler needs from a line kind: the YAML blocks the kind adds to every
recipe (its ``RecipeSpec`` subclass), how to compile them, and its process rules.

``controller.lines`` implements it once per kind; the compiler names no kind.
"""

from __future__ import annotations

from typing import Protocol

from controller.recipe.context import CompileContext
from controller.recipe.control import LineControl
from controller.recipe.rules import Rule
from controller.recipe.schema import RecipeSpec
from drivers.definition import LineDefinition


class RecipeKind(Protocol):
    @property
    def recipe_spec(self) -> type[RecipeSpec]:
        """The recipe's shape on this kind of line: the generic blocks and the kind's own."""
        ...

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The kind's process rules, run after the generic ones."""
        ...

    def reserved_parameter(self, name: str) -> str:
        """Why a formula may not define ``name`` (the kind derives it), or '' when it may."""
        ...

    def compile_block(self, spec: RecipeSpec, line: LineDefinition, control: LineControl,
                      ctx: CompileContext) -> object | None:
        """The kind's blocks compiled (e.g. layers with their mass balance), adding any
        derived parameters to ``ctx``; None (with errors in ``ctx``) when they do not compile."""
        ...
