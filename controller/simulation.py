"""Build the built-in simulated plant for a recipe: plant, transport, line, engine.

Used by ``poreline run``, the tests and the benchmarks, so that all of them drive the
very same controller code against the very same plant models.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.engine.scan import Engine
from controller.line_config import LineControl, line_control
from controller.recipe.model import CompiledRecipe, DopeLayer
from controller.engine.recording import RunRecorder
from drivers.clock import Clock, VirtualClock
from drivers.line import Line
from drivers.lines import LineDefinition, casting_line, foaming_line
from drivers.sim_transport import SimTransport
from simulator.casting.plant import CastingPlant, DopeCharge
from simulator.foaming.plant import FoamingPlant

AMBIENT_C = 20.0  # simulator ambient; the plant starts at ambient

Plant = CastingPlant | FoamingPlant  # the simulated plants, one per line kind


@dataclass(slots=True)
class SimulatedLine:
    definition: LineDefinition
    control: LineControl
    plant: Plant
    clock: Clock
    line: Line
    engine: Engine


def line_for_kind(kind: str) -> tuple[LineDefinition, LineControl]:
    """The built-in line of a kind, with its controller configuration."""
    if kind == "casting":
        definition = casting_line()
    elif kind == "foaming":
        definition = foaming_line()
    else:
        raise ValueError(f"no built-in line of kind {kind!r} (known: casting, foaming)")
    return definition, line_control(definition)


def dope_charge(layer: DopeLayer) -> DopeCharge:
    """The dope charged into a layer's vessel before titration."""
    return DopeCharge(
        polymer=layer.polymer, solvent=layer.solvent, non_solvent=layer.non_solvent,
        polymer_wt_pct=layer.charge_polymer_wt_pct, mass_kg=layer.charge_kg, temperature_c=AMBIENT_C,
    )


def prepare_plant(plant: Plant, recipe: CompiledRecipe) -> None:
    """What operators do before a run. Casting: charge each layer's vessel, fill the quench
    bath. Foaming: feed the recipe's polymer (``materials.polymer``, PSU if not given)."""
    if isinstance(plant, FoamingPlant):
        plant.set_polymer(str(recipe.materials.get("polymer", "PSU")))
        return
    for layer in recipe.layers:
        plant.charge_dope(layer.vessel, dope_charge(layer))
    quench = recipe.materials.get("quench", {})
    plant.fill_quench_bath(float(quench.get("dmf_wt_pct", 0.0)))


def build_plant(definition: LineDefinition, recipe: CompiledRecipe | None = None, seed: int = 0) -> Plant:
    """The simulated plant of the line's kind, prepared for ``recipe`` when one is given
    (the one place that maps a line kind to its plant model: ``poreline run``, ``poreline
    sim serve`` and the tests all build plants here)."""
    if recipe is not None and recipe.header.line_kind != definition.kind:
        raise ValueError(f"recipe {recipe.header.recipe_id} is for a {recipe.header.line_kind} line, "
                         f"{definition.name} is a {definition.kind} line")
    plant: Plant
    if definition.kind == "foaming":
        plant = FoamingPlant(definition, seed=seed)
    elif definition.kind == "casting":
        plant = CastingPlant(definition, seed=seed)
    else:
        raise ValueError(f"no simulated plant for line kind {definition.kind!r} (known: casting, foaming)")
    if recipe is not None:
        prepare_plant(plant, recipe)
    return plant


def build_simulated_line(
    recipe: CompiledRecipe,
    *,
    seed: int = 0,
    scan_period_s: float = 1.0,
    sample_period_s: float = 10.0,
    recorder: RunRecorder | None = None,
    clock: Clock | None = None,
    operator: str = "operator",
) -> SimulatedLine:
    definition, control = line_for_kind(recipe.header.line_kind)
    clock = clock if clock is not None else VirtualClock()
    plant = build_plant(definition, recipe, seed)
    transport = SimTransport(plant, clock, tuple(d.name for d in definition.devices))
    line = Line(definition, [transport])
    engine = Engine(line, control, clock, scan_period_s=scan_period_s,
                    sample_period_s=sample_period_s, recorder=recorder, operator=operator)
    engine.load(recipe)
    return SimulatedLine(definition, control, plant, clock, line, engine)
