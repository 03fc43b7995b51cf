"""Build the built-in simulated plant for a recipe: plant, transport, line, engine.

Used by ``poreline run``, the tests and the benchmarks, so that all of them drive the
very same controller code against the very same plant models.
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.engine import Engine
from controller.line_config import LineControl, casting_control, foaming_control
from controller.procedure import CompiledRecipe, DopeLayer
from controller.recording import RunRecorder
from drivers.clock import Clock, VirtualClock
from drivers.line import Line
from drivers.lines import LineDefinition, casting_line, foaming_line
from drivers.sim_transport import SimTransport
from simulator.casting import CastingPlant, DopeCharge
from simulator.foaming import FoamingPlant

AMBIENT_C = 20.0  # simulator ambient; the plant starts at ambient


@dataclass(slots=True)
class SimulatedLine:
    definition: LineDefinition
    control: LineControl
    plant: CastingPlant | FoamingPlant
    clock: Clock
    line: Line
    engine: Engine


def line_for_kind(kind: str) -> tuple[LineDefinition, LineControl]:
    """The built-in line of a kind, with its controller configuration."""
    if kind == "casting":
        definition = casting_line()
        return definition, casting_control(definition)
    if kind == "foaming":
        definition = foaming_line()
        return definition, foaming_control(definition)
    raise ValueError(f"no built-in line of kind {kind!r} (known: casting, foaming)")


def dope_charge(layer: DopeLayer) -> DopeCharge:
    """The dope charged into a layer's vessel before titration."""
    return DopeCharge(
        polymer=layer.polymer, solvent=layer.solvent, non_solvent=layer.non_solvent,
        polymer_wt_pct=layer.charge_polymer_wt_pct, mass_kg=layer.charge_kg, temperature_c=AMBIENT_C,
    )


def prepare_plant(plant: CastingPlant, recipe: CompiledRecipe) -> None:
    """What operators do before a run: charge each layer's vessel, fill the quench bath."""
    for layer in recipe.layers:
        plant.charge_dope(layer.vessel, dope_charge(layer))
    quench = recipe.materials.get("quench", {})
    plant.fill_quench_bath(float(quench.get("dmf_wt_pct", 0.0)))


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
    plant: CastingPlant | FoamingPlant
    if recipe.header.line_kind == "foaming":
        plant = FoamingPlant(definition, seed=seed, polymer=str(recipe.materials.get("polymer", "PSU")))
    else:
        plant = CastingPlant(definition, seed=seed)
        prepare_plant(plant, recipe)
    transport = SimTransport(plant, clock, tuple(d.name for d in definition.devices))
    line = Line(definition, [transport])
    engine = Engine(line, control, clock, scan_period_s=scan_period_s,
                    sample_period_s=sample_period_s, recorder=recorder, operator=operator)
    engine.load(recipe)
    return SimulatedLine(definition, control, plant, clock, line, engine)
