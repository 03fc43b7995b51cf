"""The casting line (seeds 000 and 003) as a line kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from controller.engine.production import ProductQuantity
from controller.engine.soft_sensors import SoftSensor
from controller.lines.casting import definition as casting_definition
from controller.lines.casting.control import casting_control
from controller.lines.casting.recipe import (
    DEFAULT_SPINODAL_MARGIN,
    DERIVED_PARAMETER,
    CastingBlock,
    CastingRecipeSpec,
    DopeLayer,
    QuenchSpec,
    casting_block,
    compile_casting_block,
)
from controller.lines.casting.rules import RULES
from controller.lines.casting.soft_sensors import (
    casting_soft_sensors,
    lifetime_alarms,
    path_estimators,
    quality_estimators,
    spinodal_alarm,
)
from controller.lines.casting.web_estimates import web_estimators
from controller.lines.kind import LineKind
from controller.recipe.context import CompileContext
from controller.recipe.control import LineControl, StandingAlarm
from controller.recipe.model import CompiledRecipe
from controller.recipe.rules import Rule
from controller.recipe.schema import RecipeSpec
from drivers.definition import LineDefinition

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant

# assumption: the simulator's hall is at 20 degC, so a dope is charged at ambient.
CHARGE_TEMPERATURE_C: float = 20.0


class CastingLine(LineKind):
    name: ClassVar[str] = casting_definition.KIND
    description: ClassVar[str] = ("titrated metastable dope -> gear pumps -> casting knife over a moving belt -> "
                                  "quench, wash, dry (seeds 000 and 003)")
    recipe_spec: ClassVar[type[RecipeSpec]] = CastingRecipeSpec
    rules: ClassVar[tuple[Rule, ...]] = RULES
    summary_tags: ClassVar[tuple[str, ...]] = ("support_belt.line_speed_m_min", "casting_knife.wet_thickness_um")
    machine_speed_tag: ClassVar[str] = "support_belt.line_speed_m_min"
    # what a casting engineer watches (seed 000): belt speed and film thickness, the gap and the
    # dope pump that set it, and the quench bath where the membrane forms
    report_trends: ClassVar[tuple[tuple[str, str], ...]] = (
        ("support_belt.line_speed_m_min", "support_belt.line_speed_setpoint_m_min"),
        ("casting_knife.wet_thickness_um", ""),
        ("casting_knife.gap_1_um", "casting_knife.gap_1_setpoint_um"),
        ("dope_pump_1.speed_rpm", "dope_pump_1.speed_setpoint_rpm"),
        ("quench_bath.temperature_c", ""),
    )
    default: ClassVar[bool] = True

    def definition(self, name: str | None = None) -> LineDefinition:
        return casting_definition.casting_line(name=name or "casting-1")

    def control(self, definition: LineDefinition, settings: BaseModel | None = None) -> LineControl:
        return casting_control(definition)

    def reserved_parameter(self, name: str) -> str:
        if DERIVED_PARAMETER.match(name):
            return "names layer_<n>_... are derived from the layers by the compiler"
        return ""

    def compile_block(self, spec: RecipeSpec, line: LineDefinition, control: LineControl,
                      ctx: CompileContext) -> object | None:
        return compile_casting_block(spec, line, ctx)

    def block_document(self, block: object) -> dict[str, Any]:
        if not isinstance(block, CastingBlock):
            raise TypeError(f"a casting block, not {type(block).__name__}")
        return {"layers": [dataclasses.asdict(layer) for layer in block.layers],
                "quench": block.quench.model_dump() if block.quench is not None else None,
                "spinodal_margin": block.spinodal_margin}

    def block_from_document(self, document: dict[str, Any]) -> object:
        quench = document.get("quench")
        return CastingBlock(layers=tuple(DopeLayer(**layer) for layer in document["layers"]),
                            quench=QuenchSpec.model_validate(quench) if quench is not None else None,
                            spinodal_margin=float(document.get("spinodal_margin", DEFAULT_SPINODAL_MARGIN)))

    def soft_sensors(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[SoftSensor]:
        layers = casting_block(recipe).layers
        return [*casting_soft_sensors(layers), *path_estimators(layers, definition), *quality_estimators(layers),
                *web_estimators(layers, definition)]

    def recipe_alarms(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[StandingAlarm]:
        block = casting_block(recipe)
        return lifetime_alarms(block.layers) + [spinodal_alarm(layer, block.spinodal_margin)
                                                for layer in block.layers if layer.non_solvent is not None]

    def product_quantity(self, means: Mapping[str, float], production_s: float,
                         image: Mapping[str, float]) -> ProductQuantity:
        return ProductQuantity("Membrane cast", image.get("support_belt.length_m", 0.0), "m")

    def build_plant(self, definition: LineDefinition, seed: int = 0) -> SimulatedPlant:
        from simulator.casting.plant import CastingPlant  # the simulator: only when a simulated line is built

        return CastingPlant(definition, seed=seed)

    def prepare_plant(self, plant: SimulatedPlant, recipe: CompiledRecipe) -> None:
        """Charge each layer's vessel with its dope before titration, fill the quench bath."""
        from simulator.casting.plant import CastingPlant, DopeCharge

        if not isinstance(plant, CastingPlant):
            raise TypeError(f"a casting recipe prepares a casting plant, not {type(plant).__name__}")
        block = casting_block(recipe)
        for layer in block.layers:
            plant.charge_dope(layer.vessel, DopeCharge(
                polymer=layer.polymer, solvent=layer.solvent, non_solvent=layer.non_solvent,
                polymer_wt_pct=layer.charge_polymer_wt_pct, mass_kg=layer.charge_kg,
                temperature_c=CHARGE_TEMPERATURE_C))
        plant.fill_quench_bath(block.quench.dmf_wt_pct if block.quench is not None else 0.0)
