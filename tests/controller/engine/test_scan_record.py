"""What the engine hands the batch record: a run opened before START, the reasons of
commands (the operator's, or the alarm behind a system hold), and no sample after the end."""

from controller.engine.states import Command, UnitState
from controller.recipe.control import StandingAlarm
from controller.recipe.model import SetAction

PUMP_SPEED = "pump.speed_setpoint_rpm"
TANK_HOT = StandingAlarm("TANK_HOT", "Tank above 90 degC", priority=2, condition="tank.temperature_c > 90",
                         delay_s=0.0, action="hold")


async def test_a_run_opened_before_start_is_the_one_recorded(make_rig, recorder):
    rig = make_rig(recorder=recorder)
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    rig.engine.request(Command.START, "ann", run_id=41)  # a runtime opened record 41 off the scan
    await rig.scan(2)
    assert rig.engine.run_id == 41 and recorder.runs == []  # the recorder was not asked to open another


async def test_commands_carry_their_reason_and_a_system_hold_names_its_alarm(make_rig, recorder):
    rig = make_rig(alarms=(TANK_HOT,), recorder=recorder)
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    rig.engine.request(Command.HOLD, "ann", reason="checking the filter")
    await rig.scan()
    rig.engine.request(Command.UNHOLD, "ann")
    await rig.scan(2)
    rig.transport.set("tank.temperature_c", 95.0)
    await rig.scan()

    assert rig.state is UnitState.HELD
    assert [(c, u, ok, why) for c, u, ok, why in recorder.commands if c in ("hold", "unhold")] == [
        ("hold", "ann", True, "checking the filter"), ("unhold", "ann", True, ""),
        ("hold", "system", True, "alarm TANK_HOT")]


async def test_sampling_stops_when_the_run_ends(make_rig, recorder):
    rig = make_rig(recorder=recorder, sample_period_s=1.0)
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), until="true", hold_for_s=2.0))
    await rig.start()
    await rig.scan(4)
    assert rig.state is UnitState.COMPLETE and len(recorder.ended) == 1
    samples_at_end = len(recorder.samples)
    await rig.scan(10)  # the line keeps scanning, Complete, until the next start
    assert len(recorder.samples) == samples_at_end
