"""The extrusion-foaming line (seed 001) as a line kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from controller.engine.production import ProductQuantity
from controller.engine.soft_sensors import SoftSensor
from controller.lines.companion import CompanionModel
from controller.lines.foaming import definition as foaming_definition
from controller.lines.foaming.control import FoamingPlantSettings, foaming_control
from controller.lines.foaming.euromap84 import euromap84
from controller.lines.foaming.recipe import (
    BlowingAgentSpec,
    FoamingBlock,
    FoamingRecipeSpec,
    compile_foaming_block,
    foaming_block,
)
from controller.lines.foaming.rules import RULES
from controller.lines.foaming.soft_sensors import foaming_interlocks, foaming_soft_sensors
from controller.lines.kind import LineKind
from controller.recipe.context import CompileContext
from controller.recipe.control import LineControl, StandingAlarm
from controller.recipe.model import CompiledRecipe
from controller.recipe.rules import Rule
from controller.recipe.schema import RecipeSpec
from drivers.definition import LineDefinition

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant

THROUGHPUT = "melt_pump_1.throughput_kg_h"


class FoamingLine(LineKind):
    name: ClassVar[str] = foaming_definition.KIND
    description: ClassVar[str] = ("extruder -> CO2/water injection -> melt pump 1 -> cooling mixer -> melt pump 2 -> "
                                  "wide-slit die (seed 001)")
    recipe_spec: ClassVar[type[RecipeSpec]] = FoamingRecipeSpec
    rules: ClassVar[tuple[Rule, ...]] = RULES
    plant_settings: ClassVar[type[BaseModel]] = FoamingPlantSettings
    summary_tags: ClassVar[tuple[str, ...]] = (
        THROUGHPUT, "die.foam_void_fraction_pct", "die.foam_cell_density_per_cm3", "die.foam_cell_size_um",
        "die.foam_open_cell_pct", "die.foam_pore_spread_pct", "die.foam_in_spec", "die.melt_pressure_bar",
        "die.pressure_drop_rate_gpa_s",
        "heat_exchanger.melt_outlet_temperature_c", "melt_pump_2.inlet_pressure_bar")
    machine_speed_tag: ClassVar[str] = THROUGHPUT
    # what a foaming engineer watches (seed 001): throughput, the extruder's melt, the pressure held
    # above the single-phase limit through the second mixing stage, the cooled melt and the die
    report_trends: ClassVar[tuple[tuple[str, str], ...]] = (
        (THROUGHPUT, ""),
        ("extruder.screw_speed_rpm", "extruder.screw_speed_setpoint_rpm"),
        ("extruder.melt_pressure_bar", ""),
        ("melt_pump_2.inlet_pressure_bar", ""),
        ("heat_exchanger.melt_outlet_temperature_c", ""),
        ("die.melt_pressure_bar", ""),
    )

    def definition(self, name: str | None = None) -> LineDefinition:
        return foaming_definition.foaming_line(name=name or "foaming-1")

    def control(self, definition: LineDefinition, settings: BaseModel | None = None) -> LineControl:
        chosen = settings if isinstance(settings, FoamingPlantSettings) else FoamingPlantSettings()
        return foaming_control(definition, melt_overpressure_trip_bar=chosen.melt_overpressure_trip_bar)

    def compile_block(self, spec: RecipeSpec, line: LineDefinition, control: LineControl,
                      ctx: CompileContext) -> object | None:
        return compile_foaming_block(spec, line, ctx)

    def block_document(self, block: object) -> dict[str, Any]:
        if not isinstance(block, FoamingBlock):
            raise TypeError(f"a foaming block, not {type(block).__name__}")
        return {"polymer": block.polymer, "blowing_agents": [a.model_dump() for a in block.blowing_agents],
                "product_class": block.product_class}

    def block_from_document(self, document: dict[str, Any]) -> object:
        return FoamingBlock(polymer=str(document["polymer"]), blowing_agents=tuple(
            BlowingAgentSpec.model_validate(a) for a in document["blowing_agents"]),
            product_class=document.get("product_class"))

    def soft_sensors(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[SoftSensor]:
        return foaming_soft_sensors(recipe, definition)

    def recipe_alarms(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[StandingAlarm]:
        return foaming_interlocks(recipe)

    def product_quantity(self, means: Mapping[str, float], production_s: float,
                         image: Mapping[str, float]) -> ProductQuantity:
        return ProductQuantity("Foam produced", means.get(THROUGHPUT, 0.0) * production_s / 3600.0, "kg",
                               "of polymer")

    def build_plant(self, definition: LineDefinition, seed: int = 0) -> SimulatedPlant:
        from simulator.foaming.plant import FoamingPlant  # the simulator: only when a simulated line is built

        return FoamingPlant(definition, seed=seed)

    def prepare_plant(self, plant: SimulatedPlant, recipe: CompiledRecipe) -> None:
        """Feed the recipe's polymer to the hopper."""
        from simulator.foaming.plant import FoamingPlant

        if not isinstance(plant, FoamingPlant):
            raise TypeError(f"a foaming recipe prepares a foaming plant, not {type(plant).__name__}")
        plant.set_polymer(foaming_block(recipe).polymer)

    def companion_model(self, definition: LineDefinition) -> CompanionModel | None:
        """EUROMAP 84: an ExtrusionLine with its extruder, melt pumps and die (controller.lines.foaming.euromap84)."""
        return euromap84(definition, THROUGHPUT)
