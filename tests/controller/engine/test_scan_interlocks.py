"""Standing alarms with force_safe (interlocks): forced in the scan they trip, held safe while
latched whatever a loop or a step asks, released only after clearing AND acknowledgement,
and the PID loop picks up from the safe value (no bump)."""

from dataclasses import replace

import pytest

from controller.engine.alarms import AlarmState
from controller.engine.states import Command, CommandRejected, UnitState
from controller.recipe.control import StandingAlarm
from controller.recipe.model import LoopAction, LoopMode, SetAction

HEATER = "tank.heater_output_pct"  # safe 0 %
COOLING = "tank.cooling_valve_pct"  # safe 100 % (fails open)
PUMP_SPEED = "pump.speed_setpoint_rpm"

TANK_DRY = StandingAlarm("TANK_DRY", "Tank level below 10 %: heater and cooling safe", priority=1,
                         condition="tank.level_pct < 10", delay_s=0.0, action="none", force_safe=("tank",))
# loop tank_temperature (conftest): gain 5 %/K, integral time 10 s; at 70 degC against 80 degC
# every 1 s scan adds 5 × 10 × 1/10 = 5 % of heater output
ONE_INCREMENT_PCT = 5.0


@pytest.fixture
async def tripped(make_rig):
    """Heating under the loop at 70 degC, then the tank runs dry: the scan that trips TANK_DRY
    has been run (the transition on the same condition entered step "trim" in it)."""
    rig = make_rig(alarms=(TANK_DRY,))
    rig.transport.set("tank.temperature_c", 70.0)
    rig.load(rig.step("heat", LoopAction("tank_temperature", LoopMode.AUTO, setpoint=80.0), SetAction(COOLING, 0.0),
                      until="tank.level_pct < 10"),
             rig.step("trim", SetAction(COOLING, 20.0)))
    await rig.start()
    await rig.scan(3)
    assert rig.transport.value(HEATER) == 4 * ONE_INCREMENT_PCT
    rig.transport.clear_log()
    rig.transport.set("tank.level_pct", 5.0)
    await rig.scan()
    return rig


async def test_an_interlock_forces_its_outputs_safe_in_the_scan_it_is_raised(tripped):
    rig = tripped
    assert rig.engine.alarms.get("TANK_DRY").state is AlarmState.UNACKNOWLEDGED
    assert rig.engine.step.name == "trim"  # which set the cooling valve to 20 % in this very scan
    assert rig.transport.writes == [("tank", {"heater_output_pct": 0.0, "cooling_valve_pct": 100.0})]


async def test_a_latched_interlock_keeps_its_outputs_safe_though_the_loop_and_the_step_would_write_them(tripped):
    rig = tripped
    rig.transport.clear_log()

    await rig.scan(5)  # still dry; the loop still asks for heat, the step for 20 % cooling
    rig.transport.set("tank.level_pct", 50.0)
    await rig.scan(5)  # cleared but not acknowledged

    assert rig.engine.alarms.get("TANK_DRY").state is AlarmState.RTN_UNACKNOWLEDGED
    assert rig.engine.loops["tank_temperature"].mode is LoopMode.AUTO
    assert rig.transport.writes == []
    assert (rig.transport.value(HEATER), rig.transport.value(COOLING)) == (0.0, 100.0)


async def test_the_loop_output_tracks_the_safe_value_while_forced(tripped):
    rig = tripped
    await rig.scan(3)
    assert rig.engine.loops["tank_temperature"].output == 0.0


async def test_clearing_then_acknowledging_releases_the_interlock_and_the_loop_resumes_from_safe(tripped):
    rig = tripped
    await rig.scan(3)
    rig.transport.set("tank.level_pct", 50.0)
    await rig.scan(2)
    rig.transport.clear_log()

    rig.engine.acknowledge("TANK_DRY", "ann")
    await rig.scan()

    assert rig.engine.alarms.latched_interlocks() == []
    # one PID increment from the safe 0 %, not back to the 20 % it had before the trip; the
    # cooling valve stays at its safe value until something asks for another
    assert rig.transport.writes == [("tank", {"heater_output_pct": ONE_INCREMENT_PCT})]
    await rig.scan()
    assert rig.transport.written(HEATER) == [ONE_INCREMENT_PCT, 2 * ONE_INCREMENT_PCT]


async def test_acknowledging_while_still_dry_keeps_the_interlock_until_the_condition_clears(tripped):
    rig = tripped
    rig.engine.acknowledge("TANK_DRY", "ann")
    rig.transport.clear_log()
    await rig.scan(3)
    assert rig.transport.writes == []  # acknowledged, but still dry

    rig.transport.set("tank.level_pct", 50.0)
    await rig.scan()  # clears: released in this same scan

    assert rig.engine.alarms.get("TANK_DRY").state is AlarmState.NORMAL
    assert rig.transport.writes == [("tank", {"heater_output_pct": ONE_INCREMENT_PCT})]


async def test_an_interlock_naming_one_output_forces_only_that_output(make_rig):
    rig = make_rig(alarms=(StandingAlarm("TANK_DRY", "dry", 1, "tank.level_pct < 10", 0.0, "none",
                                         force_safe=(HEATER,)),))
    rig.load(rig.step("run", SetAction(HEATER, 40.0), SetAction(COOLING, 30.0), SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    rig.transport.clear_log()

    rig.transport.set("tank.level_pct", 5.0)
    await rig.scan()

    assert rig.transport.writes == [("tank", {"heater_output_pct": 0.0})]


# -------------------------------------------------------------------------------------------
# DESIGN.md "Alarms and interlocks": "A latched trip is released only by acknowledgement after
# its condition has cleared; commands that would restart motion (start, unhold, reset) are
# refused while a trip is latched, naming it" and "Shelving ... change[s] what an operator is
# shown, never what the control system does: a shelved alarm still holds/aborts the run and
# still latches its interlock."


async def test_a_shelved_interlock_is_not_released_without_an_acknowledgement(tripped):
    rig = tripped
    now_s = rig.clock.now_s()
    rig.engine.alarms.shelve("TANK_DRY", now_s, now_s + 600.0, "ann")  # the API allows it: the alarm is active
    rig.transport.clear_log()

    rig.transport.set("tank.level_pct", 50.0)
    await rig.scan(3)  # cleared while shelved; nobody acknowledged anything

    assert [d.alarm_id for d in rig.engine.alarms.latched_interlocks()] == ["TANK_DRY"]
    assert rig.transport.writes == []


async def test_a_shelved_alarm_still_holds_the_run_when_it_is_raised_again(make_rig):
    tank_hot = StandingAlarm("TANK_HOT", "Tank above 90 degC", priority=2, condition="tank.temperature_c > 90",
                             delay_s=0.0, action="hold")
    rig = make_rig(alarms=(tank_hot,))
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    rig.transport.set("tank.temperature_c", 95.0)
    await rig.scan()
    assert rig.state is UnitState.HELD
    rig.engine.acknowledge("TANK_HOT", "ann")
    now_s = rig.clock.now_s()
    rig.engine.alarms.shelve("TANK_HOT", now_s, now_s + 600.0, "ann")  # active and acknowledged
    rig.transport.set("tank.temperature_c", 80.0)
    await rig.scan()  # cleared while shelved: normal
    rig.command(Command.UNHOLD)
    await rig.scan()
    assert rig.state is UnitState.EXECUTE

    rig.transport.set("tank.temperature_c", 95.0)
    await rig.scan()

    assert rig.state is UnitState.HELD
    assert rig.transport.value(PUMP_SPEED) == 0.0


async def test_unhold_is_refused_while_an_interlock_is_latched_naming_it(make_rig):
    tank_dry_hold = StandingAlarm("TANK_DRY", "Tank level below 10 %", priority=1, condition="tank.level_pct < 10",
                                  delay_s=0.0, action="hold", force_safe=("tank",))
    rig = make_rig(alarms=(tank_dry_hold,))
    rig.load(rig.step("run", SetAction(HEATER, 40.0), SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    rig.transport.set("tank.level_pct", 5.0)
    await rig.scan()
    assert rig.state is UnitState.HELD

    with pytest.raises(CommandRejected, match="TANK_DRY"):
        rig.command(Command.UNHOLD)
    await rig.scan()
    assert rig.state is UnitState.HELD
    assert rig.transport.value(PUMP_SPEED) == 0.0


PUMP_STALLED = StandingAlarm("PUMP_STALLED", "pump stalled", priority=1, condition="pump.speed_rpm < 1",
                             delay_s=0.0, action="hold", force_safe=("pump",))


async def test_after_a_tripped_pump_is_acknowledged_unhold_runs_it_at_its_recipe_speed_again(make_rig):
    """The sequence that lost production silently: a pump trip holds the run, unhold is tried
    before the acknowledgement (refused, naming the trip), the trip is acknowledged once its
    condition cleared, and unhold brings the pump back to the speed the step commanded."""
    rig = make_rig(alarms=(PUMP_STALLED,))
    rig.transport.set("pump.speed_rpm", 30.0)
    rig.load(rig.step("produce", SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    await rig.scan()
    assert rig.transport.value(PUMP_SPEED) == 30.0

    rig.transport.set("pump.speed_rpm", 0.0)  # the pump jams
    await rig.scan(2)
    assert rig.state is UnitState.HELD and rig.transport.value(PUMP_SPEED) == 0.0
    with pytest.raises(CommandRejected, match="interlock PUMP_STALLED is tripped"):
        rig.command(Command.UNHOLD)

    rig.transport.set("pump.speed_rpm", 30.0)  # freed (the plant's own readback)
    await rig.scan()
    with pytest.raises(CommandRejected, match="interlock PUMP_STALLED is latched: acknowledge it"):
        rig.command(Command.UNHOLD)
    rig.engine.acknowledge("PUMP_STALLED", "ann")
    rig.command(Command.UNHOLD)
    await rig.scan(2)

    assert rig.state is UnitState.EXECUTE
    assert rig.transport.value(PUMP_SPEED) == 30.0  # the step's speed, not the hold snapshot's 0


async def test_production_with_outputs_forced_safe_is_recorded_as_a_deviation_until_the_run_executes_again(
        make_rig, recorder):
    """The record of the tripped-pump sequence: from the scan the trip forced the pump to 0 rpm
    until the scan the run executed again with nothing forced, with the interlock and the output."""
    rig = make_rig(alarms=(PUMP_STALLED,), recorder=recorder)
    rig.transport.set("pump.speed_rpm", 30.0)
    rig.load(replace(rig.step("produce", SetAction(PUMP_SPEED, 30.0)), production=True))
    await rig.start()
    await rig.scan(3)
    rig.transport.set("pump.speed_rpm", 0.0)  # the pump jams
    await rig.scan()
    tripped_s = rig.clock.now_s() - rig.engine.scan_period_s
    await rig.scan(4)
    rig.transport.set("pump.speed_rpm", 30.0)
    rig.engine.acknowledge("PUMP_STALLED", "ann")
    await rig.scan(2)  # released, still held: still not producing to the recipe
    assert rig.engine.deviations == [] and recorder.deviations == []
    rig.command(Command.UNHOLD)
    await rig.scan(2)
    resumed_s = rig.engine.step_log[-1].started_s  # unhold: the step goes on (its log entry is the same)

    assert rig.state is UnitState.EXECUTE
    (deviation,) = rig.engine.deviations
    assert deviation.alarm_ids == ("PUMP_STALLED",) and deviation.outputs == (PUMP_SPEED,)
    assert deviation.started_t_s == tripped_s
    assert tripped_s + 6 <= deviation.ended_t_s <= tripped_s + 8 and resumed_s < deviation.started_t_s
    assert recorder.deviations == [(deviation.started_t_s, deviation.ended_t_s, ["PUMP_STALLED"], [PUMP_SPEED])]


async def test_a_trip_outside_production_is_no_deviation_and_one_open_at_the_end_closes_with_the_run(
        make_rig, recorder):
    rig = make_rig(alarms=(PUMP_STALLED,), recorder=recorder)
    rig.load(rig.step("warm up", SetAction(PUMP_SPEED, 30.0)))  # not a production step
    await rig.start()
    await rig.scan(2)  # pump.speed_rpm reads 0: tripped at once
    assert rig.engine.alarms.get("PUMP_STALLED").active and rig.engine.deviations == []

    rig = make_rig(alarms=(PUMP_STALLED,), recorder=recorder)
    rig.transport.set("pump.speed_rpm", 30.0)
    rig.load(replace(rig.step("produce", SetAction(PUMP_SPEED, 30.0)), production=True))
    await rig.start()
    await rig.scan()
    rig.transport.set("pump.speed_rpm", 0.0)
    await rig.scan(3)
    rig.command(Command.ABORT)
    await rig.scan(2)

    assert rig.state is UnitState.ABORTED
    (deviation,) = rig.engine.deviations
    assert deviation.ended_t_s == recorder.ended[-1][2]  # closed with the record
