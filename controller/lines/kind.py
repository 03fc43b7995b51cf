"""A line kind: everything that makes casting differ from foaming, declared in one object.

Each kind subclasses :class:`LineKind` and so registers itself under its ``name`` (the
FastCS pattern: ``fastcs.transports.Transport`` plug-ins register by subclassing). Generic
code (engine, recipe language, store, API, CLI) asks the registry
(:mod:`controller.lines`) and never names a kind. A kind declares:

- its line definition (devices, equipment data, derived tags) and control configuration
  (loops, ratio stations, standing alarms and interlocks), with the settings a plant file
  may override (``plant_settings``);
- its recipe blocks (``recipe_spec``), how to compile them and its process rules;
- the soft sensors and the recipe-dependent alarms of a run (``RecipeExtensions``);
- how to build and prepare its simulated plant (the simulator is imported only here, and
  only when a simulated line is built);
- its run summary: the tags averaged over production and how much product a run made;
- the key tags its batch report trends, with their setpoints;
- the OPC UA companion specification its line fits, if any, and how (``companion_model``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from controller.engine.production import ProductQuantity
from controller.engine.soft_sensors import SoftSensor
from controller.lines.companion import CompanionModel
from controller.recipe.context import CompileContext
from controller.recipe.control import LineControl, StandingAlarm
from controller.recipe.model import CompiledRecipe
from controller.recipe.rules import Rule
from controller.recipe.schema import RecipeSpec
from drivers.definition import LineDefinition

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant


class NoPlantSettings(BaseModel):
    """A kind whose plant files set nothing of its control configuration."""

    model_config = ConfigDict(extra="forbid")


class LineKind(ABC):
    """One kind of line. Subclasses with a ``name`` register themselves."""

    name: ClassVar[str]
    description: ClassVar[str]
    recipe_spec: ClassVar[type[RecipeSpec]]
    rules: ClassVar[tuple[Rule, ...]] = ()
    # The plant file's ``interlocks:`` block on this kind of line (trip settings that
    # belong to the plant: its rupture discs, pump ratings).
    plant_settings: ClassVar[type[BaseModel]] = NoPlantSettings
    # Tags averaged over the production steps in the run summary.
    summary_tags: ClassVar[tuple[str, ...]] = ()
    # The key tags a batch report trends, each with the setpoint tag drawn beside it ("" for none);
    # empty: the report trends the summary tags.
    report_trends: ClassVar[tuple[tuple[str, str], ...]] = ()
    # The tag SCADA sees as the machine's speed (PackML CurMachSpeed): line speed, throughput.
    machine_speed_tag: ClassVar[str] = ""
    # The kind a command line uses when none is named (one built-in kind says so).
    default: ClassVar[bool] = False

    registry: ClassVar[dict[str, LineKind]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("name")
        if name is None:
            return  # an abstract intermediate class
        if name in LineKind.registry and type(LineKind.registry[name]) is not cls:
            raise ValueError(f"line kind {name!r} registered twice ({type(LineKind.registry[name]).__qualname__} "
                             f"and {cls.__qualname__})")
        LineKind.registry[name] = cls()

    # ------------------------------------------------------------------ the line
    @abstractmethod
    def definition(self, name: str | None = None) -> LineDefinition:
        """The built-in line of this kind (``name``: the line id, e.g. ``casting-1``)."""

    def process_stages(self, definition: LineDefinition) -> tuple[tuple[str, ...], ...]:
        """The line's devices in process order, as stages of devices side by side (the HMI's
        schematic). By default the definition's device order is the process order, and
        neighbouring devices of one type (one pump per layer) form one stage; a kind whose
        definition is ordered otherwise overrides this."""
        stages: list[list[str]] = []
        previous = None
        for device in definition.devices:
            if stages and device.profile.kind == previous:
                stages[-1].append(device.name)
            else:
                stages.append([device.name])
            previous = device.profile.kind
        return tuple(tuple(stage) for stage in stages)

    @abstractmethod
    def control(self, definition: LineDefinition, settings: BaseModel | None = None) -> LineControl:
        """The controller configuration of ``definition``; ``settings`` is a plant file's
        ``plant_settings`` (None: the kind's defaults). Raises ValueError for settings
        that do not fit the line."""

    def settings(self, raw: Mapping[str, object]) -> BaseModel:
        """A plant file's ``interlocks:`` block validated for this kind (pydantic errors)."""
        return self.plant_settings.model_validate(dict(raw))

    # ---------------------------------------------------------------- recipes
    def reserved_parameter(self, name: str) -> str:
        return ""

    @abstractmethod
    def compile_block(self, spec: RecipeSpec, line: LineDefinition, control: LineControl,
                      ctx: CompileContext) -> object | None:
        """This kind's recipe blocks compiled (see ``controller.recipe.kind.RecipeKind``)."""

    @abstractmethod
    def block_document(self, block: object) -> dict[str, Any]:
        """The compiled blocks as JSON-able data (``controller.recipe.document``)."""

    @abstractmethod
    def block_from_document(self, document: dict[str, Any]) -> object:
        """The compiled blocks back from :meth:`block_document`'s data."""

    # ---------------------------------------------------------------- a run
    def soft_sensors(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[SoftSensor]:
        return []

    def recipe_alarms(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[StandingAlarm]:
        return []

    @abstractmethod
    def product_quantity(self, means: Mapping[str, float], production_s: float,
                         image: Mapping[str, float]) -> ProductQuantity:
        """How much product a run made, from the production means and the final image."""

    # ------------------------------------------------------------- the simulator
    @abstractmethod
    def build_plant(self, definition: LineDefinition, seed: int = 0) -> SimulatedPlant:
        """The simulated plant of this kind (imports the simulator)."""

    def prepare_plant(self, plant: SimulatedPlant, recipe: CompiledRecipe) -> None:  # noqa: B027 - optional hook
        """What operators do before a run (e.g. charge the dope vessels); nothing by default."""

    # ------------------------------------------------------------------ SCADA
    def companion_model(self, definition: LineDefinition) -> CompanionModel | None:
        """The line as instances of an OPC UA companion specification's types, served beside
        its PackML unit (:mod:`controller.lines.companion`); None: the kind fits none."""
        return None
