"""A tiny line on a fake transport, for engine tests without a plant.

The line (kind ``test-line``): a heated tank (temperature and level measured, heater output
driven by a PID loop, a cooling valve that fails open), a pump (speed setpoint that goes
safe on hold, speed measured, running status), a feed flow meter and a dosing pump whose
flow setpoint a ratio station holds at a ratio of the feed flow, and one derived tag
(``tank.heat_used_kj``) for soft sensors. Every number is a test's, not a process's.

``make_rig(...)`` builds an ``Engine`` on that line with a ``FakeTransport`` and a
``VirtualClock``; ``Rig.scan()`` runs one scan and advances the clock one scan period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from fake_transport import FakeTransport

from controller.engine.loop_watch import LoopWatch
from controller.engine.scan import Engine
from controller.engine.soft_sensors import RecipeExtensions
from controller.engine.states import Command, UnitState
from controller.recipe.conditions import compile_condition
from controller.recipe.control import LineControl, LoopDefinition, RatioDefinition, StandingAlarm
from controller.recipe.model import (
    Action,
    AlarmAction,
    CompiledRecipe,
    OnTimeout,
    RecipeHeader,
    Specification,
    Step,
    Transition,
)
from drivers.clock import VirtualClock
from drivers.definition import DerivedTag, DeviceSpec, LineDefinition
from drivers.line import Line
from drivers.profiles import DeviceProfile, HoldAction, derived, measured, setpoint, status

KIND = "test-line"

TANK = DeviceProfile(
    kind="test_tank", description="Heated tank", opcua_type="TestTankType",
    tags=(
        measured("temperature_c", "degC", 0.0, 150.0, "Temperature", "Temperature/ActualValue"),
        measured("level_pct", "percent", 0.0, 100.0, "Level", "Level/ActualValue"),
        setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater output", "Temperature/Output", safe_value=0.0),
        setpoint("cooling_valve_pct", "percent", 0.0, 100.0, "Cooling valve (fails open)", "Cooling/Output",
                 safe_value=100.0),
    ),
)
PUMP = DeviceProfile(
    kind="test_pump", description="Transfer pump", opcua_type="TestPumpType",
    tags=(
        setpoint("speed_setpoint_rpm", "rpm", 0.0, 60.0, "Speed setpoint", "Drive/SetValue", safe_value=0.0,
                 hold_action=HoldAction.SAFE),
        measured("speed_rpm", "rpm", 0.0, 60.0, "Speed", "Drive/ActualValue"),
        status("running", "Turning", "Drive/Running"),
    ),
)
FLOW_METER = DeviceProfile(
    kind="test_flow_meter", description="Feed flow meter", opcua_type="TestFlowMeterType",
    tags=(measured("flow_kg_h", "kg/h", 0.0, 100.0, "Mass flow", "Flow/ActualValue"),),
)
DOSING_PUMP = DeviceProfile(
    kind="test_dosing_pump", description="Additive dosing pump", opcua_type="TestDosingPumpType",
    tags=(
        setpoint("flow_setpoint_g_min", "g/min", 0.0, 50.0, "Flow setpoint", "Flow/SetValue", safe_value=0.0,
                 hold_action=HoldAction.SAFE),
        measured("flow_g_min", "g/min", 0.0, 50.0, "Flow", "Flow/ActualValue"),
    ),
)
HEAT_USED = DerivedTag("tank", derived("heat_used_kj", "kJ", 0.0, 1.0e9, "Heater energy since load"),
                       "heat meter (tests)")

DEFINITION = LineDefinition(
    kind=KIND, name="test-1",
    devices=(DeviceSpec("tank", TANK, {"heater_power_kw": 2.0}), DeviceSpec("pump", PUMP),
             DeviceSpec("feed", FLOW_METER), DeviceSpec("dosing", DOSING_PUMP)),
    derived=(HEAT_USED,),
)

TANK_LOOP = LoopDefinition("tank_temperature", pv="tank.temperature_c", output="tank.heater_output_pct",
                           gain=5.0, integral_time_s=10.0)
G_MIN_PER_KG_H_PCT = 1000.0 / 60.0 / 100.0  # kg/h x % -> g/min
DOSING_RATIO = RatioDefinition("dosing", wild="feed.flow_kg_h", output="dosing.flow_setpoint_g_min",
                               ratio_unit="%", scale=G_MIN_PER_KG_H_PCT)

# what the fake plant reports before a test changes anything
PLANT_AT_REST = {"tank.temperature_c": 20.0, "tank.level_pct": 50.0}


@dataclass
class FakeRecorder:
    """A RunRecorder (controller.engine.recording) that keeps everything in lists."""

    runs: list[dict[str, Any]] = field(default_factory=list)
    steps: list[tuple[str, int, str | float]] = field(default_factory=list)
    commands: list[tuple[str, str, bool, str]] = field(default_factory=list)
    alarms: list[tuple[int | None, str, str, float]] = field(default_factory=list)
    samples: list[tuple[float, list[tuple[str, float | None, str]]]] = field(default_factory=list)
    ended: list[tuple[int, str, float]] = field(default_factory=list)
    deviations: list[tuple[float, float, list[str], list[str]]] = field(default_factory=list)
    quality: list[dict[str, Any]] = field(default_factory=list)

    def start_run(self, recipe_id: str, recipe_version: int, line_kind: str, parameters: Mapping[str, Any],
                  operator: str, simulated: bool, *, line_id: str) -> int:
        self.runs.append({"recipe_id": recipe_id, "line_kind": line_kind, "operator": operator, "line_id": line_id})
        return len(self.runs)

    def log_step_started(self, run_id: int, index: int, name: str, t_s: float) -> None:
        self.steps.append(("started", index, name))

    def log_step_ended(self, run_id: int, index: int, t_s: float, outcome: str) -> None:
        self.steps.append(("ended", index, outcome))

    def log_command(self, run_id: int, command: str, user: str, t_s: float, accepted: bool, reason: str) -> None:
        self.commands.append((command, user, accepted, reason))

    def log_alarm(self, run_id: int | None, alarm_id: str, message: str, priority: int, state: str,
                  t_s: float, *, line_id: str, user: str | None = None, note: str | None = None,
                  shelved_until_t_s: float | None = None) -> None:
        self.alarms.append((run_id, alarm_id, state, t_s))

    def add_samples(self, run_id: int, t_s: float, samples: list[tuple[str, float | None, str]]) -> None:
        self.samples.append((t_s, list(samples)))

    def log_deviation(self, run_id: int, started_t_s: float, ended_t_s: float, alarm_ids: list[str],
                      outputs: list[str]) -> None:
        self.deviations.append((started_t_s, ended_t_s, alarm_ids, outputs))

    def record_quality(self, run_id: int, quality: dict[str, Any]) -> None:
        self.quality.append(quality)

    def flush(self) -> None:
        pass

    def end_run(self, run_id: int, final_state: str, t_s: float) -> None:
        self.ended.append((run_id, final_state, t_s))

    def sampled(self, address: str) -> list[tuple[float, float | None, str]]:
        """(t_s, value, quality) of every sample of ``address``, in order."""
        return [(t_s, value, quality) for t_s, batch in self.samples
                for tag, value, quality in batch if tag == address]


@dataclass
class Rig:
    engine: Engine
    transport: FakeTransport
    clock: VirtualClock

    async def scan(self, count: int = 1) -> None:
        """``count`` scans, each followed by one scan period of virtual time."""
        await self.engine.line.connect()
        for _ in range(count):
            await self.engine.scan()
            self.clock.advance_to(self.clock.now_s() + self.engine.scan_period_s)

    def step(self, name: str, *actions: Action, until: str = "false", hold_for_s: float = 0.0,
             timeout_s: float = 1.0e6, on_timeout: OnTimeout = OnTimeout.HOLD) -> Step:
        condition = compile_condition(until, known_addresses=DEFINITION.addresses(), parameters={})
        return Step(name, "", tuple(actions), Transition(condition, hold_for_s, timeout_s, on_timeout))

    def load(self, *steps: Step, specification: tuple[Specification, ...] = ()) -> CompiledRecipe:
        recipe = CompiledRecipe(
            header=RecipeHeader(recipe_id="test-recipe", name="Test recipe", version=1, line_kind=KIND,
                                product="test product"),
            parameters={}, block=None, steps=steps, alarms=(), yaml_text="", specification=specification)
        self.engine.load(recipe)
        return recipe

    def command(self, command: Command) -> None:
        self.engine.request(command, "tester")

    async def start(self) -> None:
        """Start the loaded recipe: one scan in Starting, one that enters the first step."""
        self.command(Command.START)
        await self.scan(2)
        assert self.engine.state is UnitState.EXECUTE and self.engine.progress.index == 0

    @property
    def state(self) -> UnitState:
        return self.engine.state


MakeRig = Callable[..., Rig]


@pytest.fixture
def make_rig() -> MakeRig:
    def make(*, alarms: tuple[StandingAlarm, ...] = (), extensions: RecipeExtensions | None = None,
             recorder: FakeRecorder | None = None, scan_period_s: float = 1.0, sample_period_s: float = 1.0,
             comm_loss_action: AlarmAction = AlarmAction.HOLD,
             loop_watch: Mapping[str, LoopWatch] | None = None, tank_loop: LoopDefinition = TANK_LOOP) -> Rig:
        clock = VirtualClock()
        transport = FakeTransport(DEFINITION, clock=clock)
        for address, value in PLANT_AT_REST.items():
            transport.set(address, value)
        control = LineControl(loops=(tank_loop,), alarms=alarms, ratios=(DOSING_RATIO,))
        engine = Engine(Line(DEFINITION, [transport]), control, clock, scan_period_s=scan_period_s,
                        sample_period_s=sample_period_s, recorder=recorder, operator="tester",
                        comm_loss_action=comm_loss_action, extensions=extensions, loop_watch=loop_watch)
        return Rig(engine, transport, clock)

    return make


@pytest.fixture
def rig(make_rig: MakeRig) -> Rig:
    return make_rig()


@pytest.fixture
def recorder() -> FakeRecorder:
    return FakeRecorder()
