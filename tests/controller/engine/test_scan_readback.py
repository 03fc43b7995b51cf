"""Readback verification: every reading carries the readback of the outputs; an output that
reads back different from what was last written, beyond its resolution, for
READBACK_MISMATCH_SCANS scans of GOOD readings is alarmed (READBACK_<DEVICE>_<TAG>,
priority 2, no action) and written again; the alarm clears when it reads back as written.
A plant that restarted, with or without losing the link, gets every output back."""

import pytest

from controller.engine.alarms import AlarmState
from controller.engine.readback import READBACK_MISMATCH_SCANS
from controller.engine.states import UnitState
from controller.recipe.model import AlarmAction, LoopAction, LoopMode, RatioAction, SetAction
from drivers.transport import Quality

PUMP_SPEED = "pump.speed_setpoint_rpm"  # 0-60 rpm: resolution 1e-6 + 1e-4 x 60 = 0.006 rpm
HEATER = "tank.heater_output_pct"
COOLING = "tank.cooling_valve_pct"
DOSING = "dosing.flow_setpoint_g_min"
PUMP_ALARM = "READBACK_PUMP_SPEED_SETPOINT_RPM"


def annunciated(rig) -> dict[str, AlarmState]:
    return {a.definition.alarm_id: a.state for a in rig.engine.alarms.annunciated()}


@pytest.fixture
async def pumping(make_rig, recorder):
    rig = make_rig(recorder=recorder)
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    await rig.start()
    await rig.scan(2)
    rig.transport.clear_log()
    return rig


async def test_a_setpoint_changed_behind_the_controllers_back_is_alarmed_and_rewritten(pumping, recorder):
    rig = pumping
    rig.transport.set(PUMP_SPEED, 12.0)  # someone at the drive's own panel, within its limits

    await rig.scan(READBACK_MISMATCH_SCANS - 1)
    assert rig.transport.writes == [] and PUMP_ALARM not in annunciated(rig)  # a lagging readback is no change yet

    await rig.scan()
    alarm = rig.engine.alarms.get(PUMP_ALARM)
    assert alarm.active and alarm.definition.priority == 2 and alarm.definition.action is AlarmAction.NONE
    message = alarm.definition.message
    assert PUMP_SPEED in message and "12 rpm" in message and "30 rpm" in message
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]
    assert rig.state is UnitState.EXECUTE  # no action: the operator is told, the run goes on

    await rig.scan()
    assert annunciated(rig) == {PUMP_ALARM: AlarmState.RTN_UNACKNOWLEDGED}  # reads back as written again
    assert [state for _, alarm_id, state, _ in recorder.alarms if alarm_id == PUMP_ALARM] == [
        "unacknowledged", "rtn_unacknowledged"]
    await rig.scan(5)
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]  # once: write-on-change again


@pytest.mark.parametrize("readback", [30.0 + 30.0 * 6e-8, 30.0 + 0.005, 30.0 - 0.005],
                         ids=["float32 rounding", "just inside the resolution", "just inside, below"])
async def test_a_readback_within_the_tags_resolution_is_as_written(pumping, readback):
    rig = pumping
    rig.transport.set(PUMP_SPEED, readback)

    await rig.scan(3 * READBACK_MISMATCH_SCANS)

    assert rig.transport.writes == [] and annunciated(rig) == {}


async def test_a_readback_just_beyond_the_resolution_is_a_change(pumping):
    rig = pumping
    rig.transport.set(PUMP_SPEED, 30.0 + 0.007)

    await rig.scan(READBACK_MISMATCH_SCANS)

    assert PUMP_ALARM in annunciated(rig)
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 30.0})]


async def test_a_readback_off_for_fewer_scans_than_the_limit_is_not_alarmed(pumping):
    rig = pumping
    rig.transport.set(PUMP_SPEED, 12.0)
    await rig.scan(READBACK_MISMATCH_SCANS - 1)
    rig.transport.set(PUMP_SPEED, 30.0)  # the plant's own copy caught up
    await rig.scan(READBACK_MISMATCH_SCANS - 1)
    rig.transport.set(PUMP_SPEED, 12.0)  # and again: the count started afresh
    await rig.scan(READBACK_MISMATCH_SCANS - 1)

    assert rig.transport.writes == [] and annunciated(rig) == {}


async def test_an_output_the_plant_keeps_overriding_is_written_again_every_few_scans_under_one_alarm(pumping,
                                                                                                    recorder):
    rig = pumping
    rig.transport.on_write(lambda device, values: rig.transport.set(PUMP_SPEED, 12.0))  # a local override wins
    rig.transport.set(PUMP_SPEED, 12.0)

    await rig.scan(3 * READBACK_MISMATCH_SCANS)

    assert rig.transport.written(PUMP_SPEED) == [30.0] * 3
    assert [state for _, alarm_id, state, _ in recorder.alarms if alarm_id == PUMP_ALARM] == ["unacknowledged"]
    assert rig.engine.alarms.get(PUMP_ALARM).active


async def test_raised_again_after_it_cleared_the_alarm_names_the_values_of_the_new_occasion(pumping):
    rig = pumping
    rig.transport.set(PUMP_SPEED, 12.0)
    await rig.scan(READBACK_MISMATCH_SCANS + 1)
    rig.transport.set(PUMP_SPEED, 18.5)
    await rig.scan(READBACK_MISMATCH_SCANS)

    alarm = rig.engine.alarms.get(PUMP_ALARM)
    assert alarm.active and "18.5 rpm" in alarm.definition.message and "12 rpm" not in alarm.definition.message


async def test_a_stale_readback_is_not_taken_for_a_change(make_rig):
    """A device whose reads fail but whose writes go through: its STALE reading still shows the
    old setpoint; that is the COMM alarm's business, not a change behind the controller's back."""
    rig = make_rig(comm_loss_action=AlarmAction.NONE)
    rig.load(rig.step("slow", SetAction(PUMP_SPEED, 30.0), until="tank.level_pct < 10"),
             rig.step("fast", SetAction(PUMP_SPEED, 45.0)))
    await rig.start()
    await rig.scan()  # the last GOOD reading carries 30 rpm
    rig.transport.fail_reads("pump", quality=Quality.STALE)
    rig.transport.set("tank.level_pct", 5.0)

    await rig.scan(3 * READBACK_MISMATCH_SCANS)

    assert rig.engine.step.name == "fast" and rig.transport.value(PUMP_SPEED) == 45.0
    assert rig.engine.image[PUMP_SPEED] == 30.0  # the stale readback
    assert set(annunciated(rig)) == {"COMM_PUMP"}


@pytest.fixture
async def everything_on(make_rig):
    """A loop in AUTO saturated at full heat (20 degC against 80), a set cooling valve, the pump
    at 30 rpm and the dosing ratio station following 40 kg/h of feed (the run settled)."""
    rig = make_rig(comm_loss_action=AlarmAction.NONE)
    rig.transport.set("feed.flow_kg_h", 40.0)
    rig.load(rig.step("run", LoopAction("tank_temperature", LoopMode.AUTO, setpoint=80.0), SetAction(COOLING, 20.0),
                      SetAction(PUMP_SPEED, 30.0), RatioAction("dosing", on=True, output=DOSING, ratio=3.0)))
    await rig.start()
    await rig.scan(60)
    commanded = {HEATER: 100.0, COOLING: 20.0, PUMP_SPEED: 30.0, DOSING: rig.engine.outputs[DOSING]}
    assert commanded[DOSING] > 10.0
    assert {address: rig.transport.value(address) for address in commanded} == commanded
    rig.transport.clear_log()
    return rig, commanded


async def test_a_plant_that_restarted_without_losing_the_link_gets_every_output_written_again(everything_on):
    rig, commanded = everything_on
    rig.transport.restart()  # every PLC back at its safe values; the readings never stopped being GOOD

    await rig.scan(READBACK_MISMATCH_SCANS)

    assert {address: rig.transport.value(address) for address in commanded} == commanded
    assert sorted(rig.transport.written(a)[0] for a in commanded) == sorted(commanded.values())
    assert set(annunciated(rig)) == {"READBACK_TANK_HEATER_OUTPUT_PCT", "READBACK_TANK_COOLING_VALVE_PCT",
                                     PUMP_ALARM, "READBACK_DOSING_FLOW_SETPOINT_G_MIN"}
    await rig.scan()
    assert set(annunciated(rig).values()) == {AlarmState.RTN_UNACKNOWLEDGED}
    assert rig.state is UnitState.EXECUTE


async def test_a_plant_that_restarted_while_the_link_was_down_gets_every_output_written_when_it_returns(
        everything_on):
    rig, commanded = everything_on
    for device in ("tank", "pump", "dosing"):
        rig.transport.fail_reads(device)
        rig.transport.fail_writes(device)
    await rig.scan(3)
    rig.transport.restart()  # its watchdog saw no heartbeat and drove it safe
    rig.transport.restore()

    await rig.scan()  # the very scan the link returns, no waiting for a readback count

    assert {address: rig.transport.value(address) for address in commanded} == commanded
    assert rig.transport.writes_to("tank") == [{"heater_output_pct": 100.0, "cooling_valve_pct": 20.0}]
    assert rig.transport.writes_to("pump") == [{"speed_setpoint_rpm": 30.0}]
    assert rig.transport.written(DOSING) == [commanded[DOSING]]
    await rig.scan(READBACK_MISMATCH_SCANS)
    assert not [alarm_id for alarm_id in annunciated(rig) if alarm_id.startswith("READBACK_")]
