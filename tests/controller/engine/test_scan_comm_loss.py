"""Quality on comm loss and return: a device whose readings go bad raises its COMM alarm and
holds the run (the default comm_loss_action), what is sampled meanwhile says it is stale,
and when the link returns the device's outputs are written again."""

import pytest

from controller.engine.alarms import AlarmState
from controller.engine.states import Command, CommandRejected, UnitState
from controller.recipe.control import StandingAlarm
from controller.recipe.model import AlarmAction, SetAction
from drivers.transport import Quality

PUMP_SPEED = "pump.speed_setpoint_rpm"
HEATER = "tank.heater_output_pct"


def annunciated(rig) -> dict[str, AlarmState]:
    return {a.definition.alarm_id: a.state for a in rig.engine.alarms.annunciated()}


@pytest.fixture
async def running(make_rig, recorder):
    """Pump at 30 rpm, heater at 40 %, samples every scan."""
    rig = make_rig(recorder=recorder, sample_period_s=1.0)
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0), SetAction(HEATER, 40.0)))
    rig.transport.set("tank.temperature_c", 65.0)
    await rig.start()
    await rig.scan(2)
    rig.transport.clear_log()
    return rig


@pytest.mark.parametrize("quality", [Quality.BAD_COMM, None], ids=["bad_comm", "stale (modbus default)"])
async def test_a_device_that_stops_answering_raises_its_comm_alarm_and_holds_the_run(running, recorder, quality):
    rig = running
    rig.transport.fail_reads("tank", error="no response (timeout)", quality=quality)
    rig.transport.fail_writes("tank")

    await rig.scan()
    assert rig.engine.quality["tank"] is not Quality.GOOD  # bad from the first failed read ...
    assert rig.state is UnitState.EXECUTE and "COMM_TANK" not in annunciated(rig)  # ... a trip from the second
    await rig.scan()

    alarm = rig.engine.alarms.get("COMM_TANK")
    assert alarm.definition.priority == 1 and "timeout" in alarm.definition.message
    assert (alarm.raised_t_s, "unacknowledged") in [(t_s, state) for _, alarm_id, state, t_s in recorder.alarms
                                                     if alarm_id == "COMM_TANK"]
    assert rig.state is UnitState.HELD
    assert rig.transport.writes == [("pump", {"speed_setpoint_rpm": 0.0})]  # the pump's link still works


async def test_one_lost_poll_is_not_a_trip(running, recorder):
    rig = running
    rig.transport.fail_reads("tank", error="no response (timeout)")
    await rig.scan()
    rig.transport.restore("tank")
    await rig.scan(3)

    assert rig.state is UnitState.EXECUTE
    assert [alarm_id for _, alarm_id, _, _ in recorder.alarms] == []
    assert rig.engine.quality["tank"] is Quality.GOOD


async def test_the_comm_alarm_stays_active_while_the_device_is_lost(running, recorder):
    rig = running
    rig.transport.fail_reads("tank")
    await rig.scan(3)

    assert rig.engine.alarms.get("COMM_TANK").active
    assert annunciated(rig) == {"COMM_TANK": AlarmState.UNACKNOWLEDGED}
    assert [state for _, alarm_id, state, _ in recorder.alarms if alarm_id == "COMM_TANK"] == ["unacknowledged"]
    rig.engine.acknowledge("COMM_TANK", "ann")
    await rig.scan()
    assert annunciated(rig) == {"COMM_TANK": AlarmState.ACKNOWLEDGED}  # still lost: still shown


async def test_samples_of_a_lost_device_carry_the_stale_quality_and_its_last_good_value(running, recorder):
    rig = running
    lost_at_s = rig.clock.now_s()
    rig.transport.fail_reads("tank", quality=Quality.BAD_COMM)
    await rig.scan(3)
    rig.transport.set("tank.temperature_c", 99.0)  # the plant moves on, unseen
    await rig.scan(2)

    during = [(value, quality) for t_s, value, quality in recorder.sampled("tank.temperature_c") if t_s >= lost_at_s]
    assert during == [(65.0, "stale")] * 5
    assert {quality for t_s, _, quality in recorder.sampled("pump.speed_rpm") if t_s >= lost_at_s} == {"good"}
    before = [quality for t_s, _, quality in recorder.sampled("tank.temperature_c") if t_s < lost_at_s]
    assert before and set(before) == {"good"}


async def test_when_the_link_returns_the_devices_outputs_are_written_again(running, recorder):
    rig = running
    rig.transport.fail_reads("tank")
    rig.transport.fail_writes("tank")
    await rig.scan(4)
    assert rig.transport.refused == []  # nothing of the tank changed meanwhile: nothing to write

    rig.transport.restore("tank")
    rig.transport.set(HEATER, 0.0)  # say its watchdog drove it safe while we could not see it
    returned_at_s = rig.clock.now_s()
    await rig.scan()

    assert rig.transport.writes_to("tank") == [{"heater_output_pct": 40.0, "cooling_valve_pct": 100.0}]
    assert annunciated(rig) == {"COMM_TANK": AlarmState.RTN_UNACKNOWLEDGED}
    assert rig.state is UnitState.HELD  # back, but the operator decides when to go on
    assert [q for t_s, _, q in recorder.sampled("tank.temperature_c") if t_s >= returned_at_s] == ["good"]

    await rig.scan(3)
    assert len(rig.transport.writes_to("tank")) == 1  # once, then write-on-change again
    with pytest.raises(CommandRejected, match="COMM_TANK is not acknowledged"):
        rig.command(Command.UNHOLD)  # the loss must be acknowledged before the line moves again
    rig.engine.acknowledge("COMM_TANK", "ann")
    rig.command(Command.UNHOLD)
    await rig.scan()
    assert rig.transport.value(PUMP_SPEED) == 30.0


async def test_with_comm_loss_action_none_the_run_goes_on_and_only_annunciates(make_rig):
    rig = make_rig(comm_loss_action=AlarmAction.NONE)
    rig.load(rig.step("run", SetAction(PUMP_SPEED, 30.0)))
    await rig.start()

    rig.transport.fail_reads("tank")
    await rig.scan(3)

    assert "COMM_TANK" in annunciated(rig)
    assert rig.state is UnitState.EXECUTE
    assert rig.transport.value(PUMP_SPEED) == 30.0


# -------------------------------------------------------------------------------------------
# A device that never answered at all (its PLC is off when the runtime starts): the Modbus and
# OPC UA transports report it BAD_COMM with no values from the first read on.


async def test_a_device_that_never_answers_raises_its_comm_alarm(rig):
    rig.transport.fail_reads("tank", error="connection refused")

    await rig.scan()
    assert rig.engine.quality["tank"] is Quality.BAD_COMM and "COMM_TANK" not in annunciated(rig)
    await rig.scan()  # the second failed read in a row

    assert "COMM_TANK" in annunciated(rig)


async def test_a_standing_alarm_on_a_device_that_never_answered_does_not_stop_the_scan(make_rig):
    rig = make_rig(alarms=(StandingAlarm("TANK_DRY", "Tank level below 10 %", 1, "tank.level_pct < 10", 0.0, "hold",
                                         force_safe=("tank",)),))
    rig.transport.fail_reads("tank", error="connection refused")

    await rig.scan(3)  # the other devices are read, written and watched as usual

    assert rig.engine.scan_count == 3
    assert rig.transport.heartbeats == [1, 2, 3]
