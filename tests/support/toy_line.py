"""A toy third line kind, defined entirely under tests/: a heated coating tank and a metering
pump. Importing this module registers it (``LineKind`` subclasses register themselves), the
proof that a new kind needs no edit of any module outside its own package.

It has two devices, one loop (tank temperature by heater output), one rule (``TOY.bath_max``),
one soft sensor with a derived tag (``tank.heat_used_kwh``), a small plant model on the
simulator's plant skeleton and one fault (a failed heater). Every number is a toy's: the
model is simple enough to check by hand, not a real process.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from controller.engine.production import ProductQuantity
from controller.engine.soft_sensors import SoftSensor
from controller.lines.kind import LineKind
from controller.recipe.context import CompileContext
from controller.recipe.control import LineControl, LoopDefinition, StandingAlarm
from controller.recipe.errors import RecipeError
from controller.recipe.model import CompiledRecipe, LoopAction
from controller.recipe.rules import RecipeFacts, Rule
from controller.recipe.schema import RecipeSpec, StrictSpec
from drivers.definition import DerivedTag, DeviceSpec, LineDefinition
from drivers.profiles import DeviceProfile, HoldAction, derived, measured, setpoint, status
from simulator.faults import SENSOR_FAULT, FaultSpec, PlantFaults
from simulator.plant import SimulatedPlant

KIND = "toy_coater"
HEATER_KW = 2.0
BATH_MAX_C = 60.0  # the toy rule: the coating bath is never heated above this

TANK = DeviceProfile(
    kind="toy_tank", description="Heated coating tank", opcua_type="ToyTankType",
    tags=(
        measured("temperature_c", "degC", 0.0, 100.0, "Bath temperature", "Temperature/ActualValue"),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater output", "Temperature/Output", safe_value=0.0),
    ),
)
PUMP = DeviceProfile(
    kind="toy_pump", description="Coating metering pump", opcua_type="ToyPumpType",
    tags=(
        setpoint("speed_setpoint_rpm", "rpm", 0.0, 60.0, "Speed setpoint", "Drive/SetValue", safe_value=0.0,
                 hold_action=HoldAction.SAFE),
        measured("speed_rpm", "rpm", 0.0, 60.0, "Speed", "Drive/ActualValue"),
        status("running", "Turning", "Drive/Running"),
    ),
)


def toy_line(name: str = "toy-1") -> LineDefinition:
    return LineDefinition(
        kind=KIND, name=name,
        devices=(DeviceSpec("tank", TANK, {"heater_power_kw": HEATER_KW, "volume_l": 20.0}),
                 DeviceSpec("pump", PUMP, {})),
        derived=(DerivedTag("tank", derived("heat_used_kwh", "kWh", 0.0, 1.0e6,
                                            "Heater energy since the run started"), "HeatMeter (tests)"),),
    )


# ------------------------------------------------------------------ recipe block and rule
class BathSpec(StrictSpec):
    volume_l: float = Field(gt=0)


class ToyRecipeSpec(RecipeSpec):
    bath: BathSpec


@dataclass(frozen=True, slots=True)
class ToyBlock:
    volume_l: float


def bath_max(facts: RecipeFacts) -> list[RecipeError]:
    """TOY.bath_max: the tank loop's setpoints stay at or below BATH_MAX_C."""
    return [RecipeError(f"{step.field}.actions", "TOY.bath_max",
                        f"step {step.name}: bath setpoint {ra.action.setpoint:g} degC is above {BATH_MAX_C:g} degC")
            for step in facts.steps for ra in step.actions
            if isinstance(ra.action, LoopAction) and ra.action.setpoint is not None
            and ra.action.setpoint > BATH_MAX_C]


# ------------------------------------------------------------------ soft sensor
@dataclass(slots=True)
class HeatMeter:
    """Integrates the heater's electrical power: kWh = kW x output x h."""

    heater_kw: float
    used_kwh: float = field(default=0.0)

    @property
    def addresses(self) -> tuple[str, ...]:
        return ("tank.heat_used_kwh",)

    def update(self, image: dict[str, float], dt_s: float) -> None:
        self.used_kwh += self.heater_kw * image.get("tank.heater_output_pct", 0.0) / 100.0 * dt_s / 3600.0
        image["tank.heat_used_kwh"] = self.used_kwh


# ------------------------------------------------------------------ plant model and fault
class ToyFaults(PlantFaults):
    offered: ClassVar[tuple[FaultSpec, ...]] = (
        SENSOR_FAULT, FaultSpec("heater", "the heater delivers no power", frozenset({"toy_tank"})),
    )

    def __init__(self, line: LineDefinition) -> None:
        super().__init__(line)
        self.heater_failed = False

    def _inject(self, spec: FaultSpec, device: str, tag: str | None) -> None:
        self.heater_failed = True

    def _clear(self, device: str | None) -> None:
        self.heater_failed = False

    def _describe(self) -> list[str]:
        return ["tank heater failed"] if self.heater_failed else []


class ToyPlant(SimulatedPlant):
    """Tank: C·dT/dt = P·u − UA·(T − T_amb); pump: first-order speed (τ = 2 s)."""

    CAPACITY_J_K: ClassVar[float] = 20.0 * 4186.0  # 20 L of water
    UA_W_K: ClassVar[float] = 10.0
    AMBIENT_C: ClassVar[float] = 20.0
    PUMP_TIME_CONSTANT_S: ClassVar[float] = 2.0

    def __init__(self, line: LineDefinition, seed: int = 0, step_s: float = 1.0) -> None:
        self.temperature_c = self.AMBIENT_C
        self.speed_rpm = 0.0
        super().__init__(line, seed=seed, step_s=step_s, faults=ToyFaults(line))

    def _truth(self, device: str) -> Mapping[str, float]:
        if device == "tank":
            return {"temperature_c": self.temperature_c}
        return {"speed_rpm": self.speed_rpm, "running": 1.0 if self.speed_rpm > 0.1 else 0.0}

    def _step(self, dt: float) -> None:
        faults = self.faults
        assert isinstance(faults, ToyFaults)
        u = 0.0 if faults.heater_failed else self.commands["tank"]["heater_output_pct"] / 100.0
        power_w = HEATER_KW * 1000.0 * u - self.UA_W_K * (self.temperature_c - self.AMBIENT_C)
        self.temperature_c += power_w * dt / self.CAPACITY_J_K
        lag = 1.0 - math.exp(-dt / self.PUMP_TIME_CONSTANT_S)
        self.speed_rpm += (self.commands["pump"]["speed_setpoint_rpm"] - self.speed_rpm) * lag


# ------------------------------------------------------------------ the registration
class ToyCoater(LineKind):
    name: ClassVar[str] = KIND
    description: ClassVar[str] = "toy: heated coating tank -> metering pump (tests only)"
    recipe_spec: ClassVar[type[RecipeSpec]] = ToyRecipeSpec
    rules: ClassVar[tuple[Rule, ...]] = (bath_max,)
    summary_tags: ClassVar[tuple[str, ...]] = ("pump.speed_rpm",)

    def definition(self, name: str | None = None) -> LineDefinition:
        return toy_line(name or "toy-1")

    def control(self, definition: LineDefinition, settings: BaseModel | None = None) -> LineControl:
        return LineControl(
            loops=(LoopDefinition("tank_temperature", "tank.temperature_c", "tank.heater_output_pct",
                                  gain=20.0, integral_time_s=300.0),),
            alarms=(StandingAlarm("TANK_HOT", "Coating bath above 80 degC", 1, "tank.temperature_c > 80", 5.0,
                                  "hold", force_safe=("tank.heater_output_pct",)),))

    def compile_block(self, spec: RecipeSpec, line: LineDefinition, control: LineControl,
                      ctx: CompileContext) -> object | None:
        assert isinstance(spec, ToyRecipeSpec)
        return ToyBlock(spec.bath.volume_l)

    def block_document(self, block: object) -> dict[str, Any]:
        assert isinstance(block, ToyBlock)
        return {"volume_l": block.volume_l}

    def block_from_document(self, document: dict[str, Any]) -> object:
        return ToyBlock(float(document["volume_l"]))

    def soft_sensors(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[SoftSensor]:
        return [HeatMeter(definition.device("tank").equipment["heater_power_kw"])]

    def product_quantity(self, means: Mapping[str, float], production_s: float,
                         image: Mapping[str, float]) -> ProductQuantity:
        return ProductQuantity("Coating pumped", means.get("pump.speed_rpm", 0.0) * production_s / 60.0, "rev")

    def build_plant(self, definition: LineDefinition, seed: int = 0) -> SimulatedPlant:
        return ToyPlant(definition, seed=seed)


TOY_RECIPE = """
header: {id: toy-coat, name: Toy coating, version: 1, line_kind: toy_coater, product: toy film}
formula:
  bath_temperature: {value: "40 degC", low: "20 degC", high: "60 degC"}
bath: {volume_l: 20}
procedure:
  - step: heat
    actions:
      - {loop: tank_temperature, mode: auto, setpoint: bath_temperature}
    transition: {condition: "tank.temperature_c > bath_temperature - 1", hold_for: "30 s", timeout: "2 h",
                 on_timeout: hold}
  - step: coat
    production: true
    actions:
      - {set: pump.speed_setpoint_rpm, value: "30 rpm"}
    transition: {condition: "tank.heat_used_kwh > 0.05 and pump.running > 0.5", hold_for: "1 min",
                 timeout: "1 h", on_timeout: hold}
  - step: stop
    actions:
      - {set: pump.speed_setpoint_rpm, value: "0 rpm"}
      - {loop: tank_temperature, mode: "off"}
    transition: {condition: "pump.running < 0.5", hold_for: "5 s", timeout: "5 min", on_timeout: continue}
"""
