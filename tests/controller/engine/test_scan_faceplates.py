"""Loop faceplates (Engine.set_loop): an engineer's mode, setpoint or manual output applies at
once and is logged with its user and reason; refused, and logged as refused, where it would
act past what keeps the line safe: a latched interlock on the loop's output, a hold that keeps
the output's drive safe, a unit whose outputs are all held safe; a setpoint outside the
measurement's range or an output outside the loop's limits is an error naming them."""

import pytest

from controller.engine import FaceplateRefused
from controller.engine.states import Command, UnitState
from controller.recipe.control import LoopDefinition, StandingAlarm
from controller.recipe.model import LoopAction, LoopMode

LOOP = "tank_temperature"
HEATER = "tank.heater_output_pct"  # safe 0 %
TANK_DRY = StandingAlarm("TANK_DRY", "Tank level below 10 %: heater safe", priority=1,
                         condition="tank.level_pct < 10", delay_s=0.0, action="none", force_safe=("tank",))


@pytest.fixture
async def heating(make_rig, recorder):
    """A run heating the tank (20 degC) to 80 degC under the loop in auto."""
    rig = make_rig(alarms=(TANK_DRY,), recorder=recorder)
    rig.load(rig.step("heat", LoopAction(LOOP, LoopMode.AUTO, setpoint=80.0)))
    await rig.start()
    await rig.scan(2)
    return rig


async def test_a_manual_output_is_written_next_scan_and_auto_takes_over_from_it_bumplessly(heating, recorder):
    rig = heating
    rig.engine.set_loop(LoopAction(LOOP, LoopMode.MANUAL, output=30.0), "erin", reason="trial heat-up")
    await rig.scan()
    assert rig.transport.value(HEATER) == 30.0
    plate = rig.engine.faceplate(LOOP)
    assert (plate.mode, plate.output, plate.setpoint, plate.measurement) == (LoopMode.MANUAL, 30.0, 80.0,
                                                                             "tank.temperature_c")
    assert recorder.commands[-1] == ("loop tank_temperature manual output 30", "erin", True, "trial heat-up")

    rig.transport.set("tank.temperature_c", 81.0)
    rig.engine.set_loop(LoopAction(LOOP, LoopMode.AUTO, setpoint=82.0), "erin", reason="back to auto")
    await rig.scan()
    # from 30 %: the first scan in auto adds the integral action on the 1 K error (5 %/K x 1 s / 10 s),
    # no proportional kick
    assert rig.transport.value(HEATER) == pytest.approx(30.0 + 5.0 * 1.0 / 10.0 * 1.0, abs=1e-9)


async def test_a_loop_whose_output_a_latched_interlock_forces_safe_may_only_be_switched_off(heating, recorder):
    rig = heating
    rig.transport.set("tank.level_pct", 5.0)
    await rig.scan()
    assert rig.engine.faceplate(LOOP).forced_by == ("TANK_DRY",)

    with pytest.raises(FaceplateRefused, match="forced safe by latched interlock TANK_DRY"):
        rig.engine.set_loop(LoopAction(LOOP, LoopMode.MANUAL, output=50.0), "erin", reason="force it")
    await rig.scan()
    assert rig.transport.value(HEATER) == 0.0 and rig.engine.loops[LOOP].mode is LoopMode.AUTO  # nothing changed
    assert recorder.commands[-1] == ("loop tank_temperature manual output 50", "erin", False, "force it")

    rig.engine.set_loop(LoopAction(LOOP, LoopMode.OFF), "erin", reason="heater off while dry")
    assert rig.engine.loops[LOOP].mode is LoopMode.OFF and recorder.commands[-1][2] is True


async def test_a_loop_driving_an_output_the_hold_keeps_safe_is_not_moved_while_held(make_rig):
    pump_loop = LoopDefinition("pump_speed", pv="pump.speed_rpm", output="pump.speed_setpoint_rpm", gain=0.5,
                               integral_time_s=5.0)
    rig = make_rig(tank_loop=pump_loop)
    rig.load(rig.step("pump", LoopAction("pump_speed", LoopMode.AUTO, setpoint=30.0)))
    await rig.start()
    rig.command(Command.HOLD)
    await rig.scan(2)
    assert rig.state is UnitState.HELD and rig.engine.faceplate("pump_speed").held_safe

    with pytest.raises(FaceplateRefused, match="held safe while the unit is Held; unhold first"):
        rig.engine.set_loop(LoopAction("pump_speed", LoopMode.MANUAL, output=40.0), "erin")
    await rig.scan()
    assert rig.transport.value("pump.speed_setpoint_rpm") == 0.0


async def test_nothing_moves_a_loop_while_the_unit_holds_every_output_safe(heating):
    rig = heating
    rig.command(Command.STOP)
    await rig.scan(2)
    assert rig.state is UnitState.STOPPED
    with pytest.raises(FaceplateRefused, match="the unit is Stopped: every output is held safe; reset it first"):
        rig.engine.set_loop(LoopAction(LOOP, LoopMode.MANUAL, output=10.0), "erin")


async def test_a_setpoint_outside_the_measurements_range_or_an_output_outside_the_loops_limits_is_refused(heating):
    rig = heating
    with pytest.raises(ValueError, match=r"setpoint: 200 is outside tank.temperature_c's range 0..150 degC"):
        rig.engine.set_loop(LoopAction(LOOP, LoopMode.AUTO, setpoint=200.0), "erin")
    with pytest.raises(ValueError, match=r"output: 120 is outside the loop's limits 0..100"):
        rig.engine.set_loop(LoopAction(LOOP, LoopMode.MANUAL, output=120.0), "erin")
    with pytest.raises(ValueError, match=r"output: a loop takes an output in manual only, not in off"):
        rig.engine.set_loop(LoopAction(LOOP, LoopMode.OFF, output=50.0), "erin")  # off is the safe value
    with pytest.raises(KeyError, match="no loop 'nope'"):
        rig.engine.set_loop(LoopAction("nope", LoopMode.OFF), "erin")
    assert rig.engine.faceplate(LOOP).setpoint == 80.0 and rig.engine.loops[LOOP].mode is LoopMode.AUTO
