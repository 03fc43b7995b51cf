"""The foaming line's recipe block (seed 001): the polymer fed and its blowing agents; its
shape, and its compile with the derived throughput and gas ratios."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from controller.lines.common import GEAR_PUMP_VOLUMETRIC_EFFICIENCY
from controller.recipe.context import CompileContext
from controller.recipe.model import CompiledRecipe
from controller.recipe.schema import RecipeSpec, StrictSpec
from drivers.definition import LineDefinition
from simulator.physics import foam, materials

BLOWING_AGENT_PUMPS = {"co2": "co2_pump", "carbondioxide": "co2_pump", "water": "water_pump", "h2o": "water_pump"}


def normalised_name(name: str | None) -> str:
    """Letters and digits only, lower case: how material names are compared."""
    return "".join(ch for ch in (name or "").lower() if ch.isalnum())


class BlowingAgentSpec(StrictSpec):
    """One cell-forming fluid of a foaming recipe (seed 001), percent by weight of the melt."""

    name: str
    wt_pct: float


class MaterialsSpec(StrictSpec):
    """What a foaming recipe (seed 001) feeds: the polymer and its blowing agents."""

    polymer: str
    blowing_agents: list[BlowingAgentSpec] = Field(default_factory=list)
    description: str = ""



class FoamProductSpec(StrictSpec):
    """The product class a foaming recipe makes (seed 001): ``microfiltration`` (claim 2,
    0.05-30 µm) or ``macrofiltration`` (claim 3, > 30-200 µm), both with claim 1's >= 75 %
    void and >= 80 % open cells. The foam soft sensor checks its estimate against it."""

    pore_class: str
    description: str = ""


class FoamingRecipeSpec(RecipeSpec):
    materials: MaterialsSpec | None = None
    foam_product: FoamProductSpec | None = None


@dataclass(frozen=True, slots=True)
class FoamingBlock:
    """A foaming recipe's own block, compiled: the polymer fed and its blowing agents."""

    polymer: str
    blowing_agents: tuple[BlowingAgentSpec, ...]
    product_class: str | None = None  # a name of simulator.physics.foam.PRODUCT_CLASSES


def foaming_block(recipe: CompiledRecipe) -> FoamingBlock:
    if not isinstance(recipe.block, FoamingBlock):
        raise ValueError(f"recipe {recipe.header.recipe_id} is not a foaming recipe")
    return recipe.block


def compile_foaming_block(spec: RecipeSpec, line: LineDefinition, ctx: CompileContext) -> FoamingBlock | None:
    """polymer_throughput (kg/h) from melt pump 2's speed (``melt_pump_2_speed``) and, per
    blowing agent, ``<agent>_ratio`` (% of the polymer mass, the ratio stations' ratio:
    r = w/(1 − Σw) for loadings w of the total) and ``<agent>_flow`` (g/min), the flow
    that ratio gives at the planned throughput."""
    if not isinstance(spec, FoamingRecipeSpec):
        raise TypeError(f"a foaming recipe's spec, not {type(spec).__name__}")
    if spec.materials is None:
        ctx.error("materials", "S001.polymer", "a foaming recipe needs a materials block (polymer and blowing agents)")
        return None
    product_class = spec.foam_product.pore_class.strip().lower() if spec.foam_product is not None else None
    if product_class is not None and product_class not in foam.PRODUCT_CLASSES:
        ctx.error("foam_product.pore_class", "S001.product_class",
                  f"pore class {product_class!r}: seed 001 claims {', '.join(foam.PRODUCT_CLASSES)} (claims 2-3)")
        product_class = None
    block = FoamingBlock(polymer=spec.materials.polymer, blowing_agents=tuple(spec.materials.blowing_agents),
                         product_class=product_class)
    speed = ctx.parameters.get("melt_pump_2_speed")
    if speed is None or speed.unit != "rpm":
        ctx.error("formula.melt_pump_2_speed", "FOAM.throughput",
                  "the formula needs melt_pump_2_speed in rpm: melt pump 2 sets the throughput")
        return block
    if not materials.has_melt_data(spec.materials.polymer):
        return block  # S001.polymer / EQ.melt_data report it
    density_kg_m3 = materials.melt_properties(spec.materials.polymer).melt_density_kg_m3
    displacement = line.device("melt_pump_2").equipment.get("displacement_cm3_rev", 0.0)
    polymer_kg_h = displacement * 1e-6 * speed.value * 60.0 * GEAR_PUMP_VOLUMETRIC_EFFICIENCY * density_kg_m3
    ctx.derive("polymer_throughput", polymer_kg_h, "kg/h")
    total = sum(agent.wt_pct for agent in spec.materials.blowing_agents) / 100.0
    if not 0.0 <= total < 0.5:
        ctx.error("materials.blowing_agents", "FOAM.gas_loading",
                  f"blowing agents total {100 * total:g} wt%: expected 0..50")
        return block
    for agent in spec.materials.blowing_agents:
        key = normalised_name(agent.name)
        if key not in BLOWING_AGENT_PUMPS:
            continue  # S001.two_fluids reports it
        fluid = "co2" if BLOWING_AGENT_PUMPS[key] == "co2_pump" else "water"
        ratio_pct = 100.0 * (agent.wt_pct / 100.0) / (1.0 - total)  # g of agent per 100 g of polymer
        ctx.derive(f"{fluid}_ratio", ratio_pct, "percent")
        ctx.derive(f"{fluid}_flow", polymer_kg_h * 1000.0 / 60.0 * ratio_pct / 100.0, "g/min")
    return block
