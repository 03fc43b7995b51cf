"""Ramps: an output moves at its rate every scan, stops exactly at its target, and stands
still while the unit is held."""

from controller.engine.states import Command, UnitState
from controller.recipe.model import RampAction, SetAction

PUMP_SPEED = "pump.speed_setpoint_rpm"  # HoldAction.SAFE
HEATER = "tank.heater_output_pct"  # HoldAction.KEEP


async def test_a_ramp_moves_its_rate_times_the_scan_period_every_scan(make_rig):
    rig = make_rig(scan_period_s=0.5)
    rig.load(rig.step("spin up", RampAction(PUMP_SPEED, target=10.0, rate_per_s=4.0)))
    await rig.start()
    await rig.scan(3)

    assert rig.transport.written(PUMP_SPEED) == [2.0, 4.0, 6.0, 8.0]


async def test_a_ramp_stops_exactly_at_its_target(rig):
    rig.load(rig.step("spin up", RampAction(PUMP_SPEED, target=10.0, rate_per_s=4.0)))
    await rig.start()
    await rig.scan(10)

    assert rig.transport.written(PUMP_SPEED) == [4.0, 8.0, 10.0]  # no overshoot, then nothing more to write
    assert rig.engine.outputs[PUMP_SPEED] == 10.0


async def test_a_ramp_down_stops_exactly_at_its_target(rig):
    rig.transport.set(HEATER, 50.0)
    rig.load(rig.step("cool down", RampAction(HEATER, target=35.0, rate_per_s=6.0)))
    await rig.start()
    await rig.scan(5)

    assert rig.transport.written(HEATER) == [44.0, 38.0, 35.0]


async def test_a_ramp_is_frozen_while_the_unit_is_held(rig):
    rig.load(rig.step("heat up", RampAction(HEATER, target=50.0, rate_per_s=5.0)))
    await rig.start()
    await rig.scan(2)
    assert rig.transport.written(HEATER) == [5.0, 10.0, 15.0]

    rig.command(Command.HOLD)
    await rig.scan(10)
    assert rig.state is UnitState.HELD
    assert rig.transport.written(HEATER) == [5.0, 10.0, 15.0]

    rig.command(Command.UNHOLD)
    await rig.scan(3)  # Unholding, then on from where it stood
    assert rig.transport.written(HEATER) == [5.0, 10.0, 15.0, 20.0, 25.0]


async def test_a_pump_held_mid_ramp_goes_safe_and_ramps_on_from_where_it_was(rig):
    rig.load(rig.step("spin up", RampAction(PUMP_SPEED, target=20.0, rate_per_s=4.0)))
    await rig.start()
    await rig.scan()  # 4, 8 rpm

    rig.command(Command.HOLD)
    await rig.scan(5)
    rig.command(Command.UNHOLD)
    await rig.scan(5)

    assert rig.transport.written(PUMP_SPEED) == [4.0, 8.0, 0.0, 8.0, 12.0, 16.0, 20.0]


async def test_a_set_in_a_later_step_ends_the_ramp(rig):
    rig.load(rig.step("spin up", RampAction(PUMP_SPEED, target=40.0, rate_per_s=4.0), until="tank.temperature_c > 30"),
             rig.step("steady", SetAction(PUMP_SPEED, 10.0)))
    await rig.start()
    rig.transport.set("tank.temperature_c", 35.0)
    await rig.scan(5)

    assert rig.transport.written(PUMP_SPEED) == [4.0, 10.0]  # the set wins in the scan the step changes
