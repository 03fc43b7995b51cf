"""Soft sensors through the line kind's extensions: a sensor may only write derived tags the
line declares (refused at load otherwise); a declared one is computed every scan, sampled
with the device tags and usable in transitions and alarms like a measurement."""

from dataclasses import dataclass, field

import pytest

from controller.engine.states import Command, UnitState
from controller.recipe.control import StandingAlarm
from controller.recipe.model import CompiledRecipe, SetAction
from drivers.definition import LineDefinition

HEATER = "tank.heater_output_pct"
HEAT_USED = "tank.heat_used_kj"  # declared on the test line as a DerivedTag


@dataclass
class HeatMeter:
    """Heater energy: kJ += heater kW × output/100 × dt (reading the heater's readback)."""

    heater_kw: float
    address: str = HEAT_USED
    used_kj: float = 0.0
    updates: list[float] = field(default_factory=list)

    @property
    def addresses(self) -> tuple[str, ...]:
        return (self.address,)

    def update(self, image: dict[str, float], dt_s: float) -> None:
        self.updates.append(dt_s)
        self.used_kj += self.heater_kw * image.get(HEATER, 0.0) / 100.0 * dt_s
        image[self.address] = self.used_kj


@dataclass
class Extensions:
    """What a line kind hands the engine for each recipe (RecipeExtensions)."""

    address: str = HEAT_USED
    alarms: tuple[StandingAlarm, ...] = ()
    made: list[HeatMeter] = field(default_factory=list)

    def soft_sensors(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[HeatMeter]:
        meter = HeatMeter(definition.device("tank").equipment["heater_power_kw"], self.address)
        self.made.append(meter)
        return [meter]

    def recipe_alarms(self, recipe: CompiledRecipe, definition: LineDefinition) -> list[StandingAlarm]:
        return list(self.alarms)


@pytest.mark.parametrize("address", ["tank.energy_kwh", "tank.temperature_c"],
                         ids=["undeclared tag", "a measured tag"])
def test_a_sensor_writing_a_tag_not_declared_as_derived_is_refused_at_load(make_rig, address):
    rig = make_rig(extensions=Extensions(address=address))

    with pytest.raises(ValueError, match=f"undeclared tags: {address}"):
        rig.load(rig.step("run", SetAction(HEATER, 50.0)))

    assert rig.engine.recipe is None


async def test_a_declared_derived_tag_is_computed_every_scan(make_rig):
    extensions = Extensions()
    rig = make_rig(extensions=extensions)
    rig.transport.set(HEATER, 50.0)  # 2 kW × 50 % = 1 kJ every second
    rig.load(rig.step("run"))

    await rig.scan(5)

    assert extensions.made[0].updates == [1.0] * 5
    assert rig.engine.image[HEAT_USED] == pytest.approx(5.0)
    assert rig.engine.derived_addresses == (HEAT_USED,)


async def test_a_derived_tag_is_sampled_with_the_device_tags(make_rig, recorder):
    rig = make_rig(extensions=Extensions(), recorder=recorder, sample_period_s=1.0)
    rig.transport.set(HEATER, 50.0)
    rig.load(rig.step("run"))
    await rig.start()
    await rig.scan(3)

    tags = [tag for tag, _, _ in recorder.samples[-1][1]]
    assert tags == rig.engine.line.definition.device_addresses() + [HEAT_USED]
    assert recorder.sampled(HEAT_USED) == [(t_s, pytest.approx(t_s + 1.0), "good") for t_s in (0.0, 1.0, 2.0, 3.0, 4.0)]


async def test_a_step_transition_can_wait_on_a_derived_tag(make_rig, recorder):
    rig = make_rig(extensions=Extensions(), recorder=recorder, sample_period_s=1.0)
    rig.load(rig.step("heat", SetAction(HEATER, 50.0), until=f"{HEAT_USED} >= 5"),
             rig.step("done", SetAction(HEATER, 0.0), until="true", hold_for_s=2.0))
    rig.command(Command.START)

    final = await rig.engine.run(max_duration_s=60.0)

    assert final is UnitState.COMPLETE
    log = rig.engine.step_log
    assert [(e.name, e.outcome) for e in log] == [("heat", "complete"), ("done", "complete")]
    heat_used = {t_s: value for t_s, value, _ in recorder.sampled(HEAT_USED)}
    assert heat_used[log[0].ended_s] >= 5.0 > heat_used[log[0].ended_s - 1.0]


async def test_a_recipe_alarm_from_the_extensions_can_watch_a_derived_tag(make_rig):
    budget = StandingAlarm("HEAT_BUDGET", "Heater energy above 3 kJ", priority=2, condition=f"{HEAT_USED} > 3",
                           delay_s=0.0, action="hold")
    rig = make_rig(extensions=Extensions(alarms=(budget,)))
    rig.load(rig.step("heat", SetAction(HEATER, 50.0)))
    await rig.start()

    await rig.scan(4)

    assert rig.state is UnitState.HELD
    assert rig.engine.alarms.get("HEAT_BUDGET").raised_t_s == 5.0  # 1 kJ/s from t = 2 s on


def test_a_condition_on_a_derived_tag_no_sensor_of_this_run_computes_is_refused_at_load(rig):
    with pytest.raises(ValueError, match=f"recipe conditions name {HEAT_USED}"):
        rig.load(rig.step("heat", SetAction(HEATER, 50.0), until=f"{HEAT_USED} >= 5"))
