"""The procedure: steps run in order, each on its own transition."""

from controller.engine.states import Command, UnitState
from controller.recipe.model import SetAction

PUMP_SPEED = "pump.speed_setpoint_rpm"


async def test_steps_run_in_order_each_applying_its_actions_when_entered(rig):
    rig.load(rig.step("fill", SetAction(PUMP_SPEED, 30.0), until="tank.level_pct > 80"),
             rig.step("drain", SetAction(PUMP_SPEED, 10.0), until="tank.level_pct < 20", hold_for_s=2.0))
    await rig.start()
    assert rig.transport.written(PUMP_SPEED) == [30.0]

    rig.transport.set("tank.level_pct", 85.0)
    await rig.scan()
    assert (rig.engine.step.name, rig.transport.written(PUMP_SPEED)) == ("drain", [30.0, 10.0])

    rig.transport.set("tank.level_pct", 15.0)
    await rig.scan(5)
    assert rig.state is UnitState.COMPLETE
    assert [(e.name, e.outcome) for e in rig.engine.step_log] == [("fill", "complete"), ("drain", "complete")]


async def test_the_first_step_waits_on_its_own_transition_not_on_the_last_steps(rig):
    # the last step's condition (pump not running) is already true before the run starts,
    # as it is for any "stop and wait until stopped" final step
    rig.load(rig.step("fill", SetAction(PUMP_SPEED, 30.0), until="tank.level_pct > 80"),
             rig.step("mix"),
             rig.step("drain", SetAction(PUMP_SPEED, 0.0), until="pump.running < 0.5"))
    rig.command(Command.START)

    await rig.scan(2)  # Starting, then the first Execute scan

    assert [(e.name, e.outcome) for e in rig.engine.step_log] == [("fill", "")]
    assert rig.engine.step.name == "fill"
