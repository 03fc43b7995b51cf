"""What the engine needs from soft sensors and from the line kind that makes them.

A soft sensor writes derived tags into the process image (``device.tag`` like any tag,
each declared on the line definition as a ``drivers.definition.DerivedTag``), so
conditions, alarms, the historian and the API treat them as measurements. The engine
names no line kind: the kind (``controller.lines``) hands it the recipe's soft sensors and
the alarms that depend on the recipe through :class:`RecipeExtensions`.
"""

from __future__ import annotations

from typing import Protocol

from controller.recipe.control import StandingAlarm
from controller.recipe.model import CompiledRecipe
from drivers.definition import LineDefinition


class SoftSensor(Protocol):
    @property
    def addresses(self) -> tuple[str, ...]:
        """The derived tags this sensor writes (each declared on the line definition)."""
        ...

    def update(self, image: dict[str, float], dt_s: float) -> None: ...


class RecipeExtensions(Protocol):
    def soft_sensors(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[SoftSensor]:
        """The soft sensors a run of ``recipe`` needs, in evaluation order."""
        ...

    def recipe_alarms(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[StandingAlarm]:
        """Alarms and interlocks whose limits come from the recipe (e.g. a gas interlock
        at the recipe's factor of the single-phase pressure)."""
        ...
