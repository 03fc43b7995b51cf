"""Hold and Unhold: motion goes to its safe value and comes back, everything else keeps going."""

from controller.engine.states import Command, UnitState
from controller.recipe.model import SetAction

PUMP_SPEED = "pump.speed_setpoint_rpm"  # HoldAction.SAFE
HEATER = "tank.heater_output_pct"  # HoldAction.KEEP


async def test_hold_takes_the_pump_to_its_safe_speed_and_keeps_the_heater(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), SetAction(HEATER, 40.0)))
    await rig.start()
    assert rig.transport.value(PUMP_SPEED) == 30.0 and rig.transport.value(HEATER) == 40.0
    rig.transport.clear_log()

    rig.command(Command.HOLD)
    await rig.scan()

    assert rig.state is UnitState.HELD
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 0.0})]
    assert rig.transport.value(HEATER) == 40.0


async def test_a_held_unit_writes_nothing_while_it_waits(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), SetAction(HEATER, 40.0)))
    await rig.start()
    rig.command(Command.HOLD)
    await rig.scan()
    rig.transport.clear_log()

    await rig.scan(5)

    assert rig.state is UnitState.HELD
    assert rig.transport.writes == []


async def test_unhold_restores_the_speed_the_pump_had_when_it_was_held(rig):
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), SetAction(HEATER, 40.0)))
    await rig.start()
    rig.command(Command.HOLD)
    await rig.scan(3)
    rig.transport.clear_log()

    rig.command(Command.UNHOLD)
    await rig.scan()

    assert rig.state is UnitState.EXECUTE
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]
    assert rig.transport.value(HEATER) == 40.0
    assert rig.engine.progress.index == 0  # the same step goes on


async def test_a_hold_freezes_the_step_timer(rig):
    rig.load(rig.step("soak", SetAction(HEATER, 40.0), until="true", hold_for_s=5.0),
             rig.step("next", SetAction(HEATER, 10.0)))
    await rig.start()
    await rig.scan(2)
    progress = rig.engine.progress
    before = (progress.elapsed_s, progress.condition_true_s)

    rig.command(Command.HOLD)
    await rig.scan(20)  # held far longer than the soak
    rig.command(Command.UNHOLD)
    await rig.scan()  # Unholding

    assert rig.state is UnitState.EXECUTE
    assert rig.engine.step.name == "soak"
    assert (progress.elapsed_s, progress.condition_true_s) == before
