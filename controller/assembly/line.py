"""The one assembly point: a line's engine from (line kind or plant file, recipe, clock,
recorder, options). ``poreline run``, ``run --plant``, ``tune``, the API's line runtime,
the benchmarks and the tests all build lines here.

Without a plant file the line is the kind's built-in line on its simulated plant (prepared
for the recipe, when one is given); with one, the plant file's transports reach the
devices (Modbus/OPC UA) and no simulator is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from controller.assembly.plant_file import assignments, build_transports, load_plant_config, plant_line_control
from controller.engine.recording import RunRecorder
from controller.engine.scan import Engine
from controller.lines import LineKind, default_kind, kind_named
from controller.recipe.control import LineControl
from controller.recipe.model import CompiledRecipe
from drivers.clock import Clock, VirtualClock
from drivers.definition import LineDefinition
from drivers.line import Line
from drivers.sim_transport import SimTransport

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant


@dataclass(slots=True)
class AssembledLine:
    kind: LineKind
    definition: LineDefinition
    control: LineControl
    plant: SimulatedPlant | None  # None: the devices of a plant file
    clock: Clock
    line: Line
    engine: Engine


def resolve_kind(kind: LineKind | str | None, recipe: CompiledRecipe | None,
                 plant_file: Path | str | None) -> LineKind:
    """The kind to build: the recipe's (``kind``, when given too, must agree); else the plant
    file's ``line``; else ``kind``. A plant file for another kind than the recipe's is
    refused when the line is built (``plant_line_control``)."""
    chosen = kind_named(kind) if isinstance(kind, str) else kind
    if recipe is not None:
        recipe_kind = kind_named(recipe.header.line_kind)
        if chosen is not None and chosen is not recipe_kind:
            raise ValueError(f"recipe {recipe.header.recipe_id} is for a {recipe_kind.name} line, not {chosen.name}")
        return recipe_kind
    if plant_file is not None:
        line = load_plant_config(plant_file).line
        if line is not None:
            return kind_named(line)
    if chosen is None:
        raise ValueError("name a line kind, a recipe or a plant file")
    return chosen


def checked_kind(plant_file: Path | str | None, line_kind: str | None) -> LineKind:
    """The kind a runtime will drive: the plant file's ``line`` (else ``line_kind``, else the
    default kind), after checking the plant file can be used for it (every device on exactly
    one endpoint, its interlock settings). Raises PlantConfigError or ValueError naming the
    problem, before anything starts."""
    kind = default_kind() if line_kind is None else kind_named(line_kind)
    if plant_file is None:
        return kind
    kind = resolve_kind(kind, None, plant_file)
    config = load_plant_config(plant_file)
    definition = kind.definition()
    assignments(config, definition, str(plant_file))
    plant_line_control(config, kind, definition, str(plant_file))
    return kind


def simulated_plant(kind: LineKind, definition: LineDefinition, recipe: CompiledRecipe | None = None,
                    seed: int = 0) -> SimulatedPlant:
    """The kind's simulated plant, prepared for ``recipe`` when one is given."""
    if recipe is not None and recipe.header.line_kind != kind.name:
        raise ValueError(f"recipe {recipe.header.recipe_id} is for a {recipe.header.line_kind} line, "
                         f"{definition.name} is a {kind.name} line")
    plant = kind.build_plant(definition, seed)
    if recipe is not None:
        kind.prepare_plant(plant, recipe)
    return plant


def build_line(
    *,
    kind: LineKind | str | None = None,
    recipe: CompiledRecipe | None = None,
    plant_file: Path | str | None = None,
    clock: Clock | None = None,
    recorder: RunRecorder | None = None,
    seed: int = 0,
    scan_period_s: float = 1.0,
    sample_period_s: float = 10.0,
    operator: str = "operator",
    line_name: str | None = None,
) -> AssembledLine:
    """A line and its engine, with ``recipe`` loaded when one is given.

    With ``plant_file``, call it inside the event loop that will run the engine (pymodbus
    clients bind to the running loop); its plant-file errors raise PlantConfigError. The
    default clock is virtual (simulated lines run as fast as they compute)."""
    chosen = resolve_kind(kind, recipe, plant_file)
    definition = chosen.definition(line_name)
    clock = clock if clock is not None else VirtualClock()
    plant: SimulatedPlant | None = None
    if plant_file is not None:
        config = load_plant_config(plant_file)
        control = plant_line_control(config, chosen, definition, str(plant_file))
        line = Line(definition, build_transports(config, definition, clock, str(plant_file)))
    else:
        control = chosen.control(definition)
        plant = simulated_plant(chosen, definition, recipe, seed)
        line = Line(definition, [SimTransport(plant, clock, tuple(d.name for d in definition.devices))])
    engine = Engine(line, control, clock, scan_period_s=scan_period_s, sample_period_s=sample_period_s,
                    recorder=recorder, operator=operator, simulated=plant is not None, extensions=chosen)
    if recipe is not None:
        engine.load(recipe)
    return AssembledLine(chosen, definition, control, plant, clock, line, engine)
