"""Watching the loops every scan (controller.engine.loop_watch): a measurement that stops
moving while its loop in AUTO moves the output is alarmed FROZEN_<LOOP>; a heater at full
output whose measurement stays below the setpoint and does not rise is alarmed
HEATER_SATURATED_<LOOP>, in whichever step (or hold) runs the loop. Both priority 2, no
action, cleared when the measurement moves (rises) again.

The rig's tank loop: tank.temperature_c 0-150 degC (noise band 0.15 degC; a heater is 1.5 degC
below its setpoint when more than that, rising when 0.3 degC up in HEATER_AFTER_S, rising
again after an alarm when 1.5 degC up), heater output 0-100 % (a few percent: 3 %); the fake
plant's temperature moves only when a test sets it. The heater is judged through a filter of
HEATER_FILTER_S: full output shows there within a few of them."""

import re

import pytest

from controller.engine.alarms import AlarmState
from controller.engine.loop_watch import (
    FROZEN_AFTER_S,
    HEATER_AFTER_S,
    HEATER_FILTER_S,
    LoopWatch,
    WatchedLoop,
    is_heating_loop,
)
from controller.engine.states import Command, UnitState
from controller.recipe.control import LoopDefinition
from controller.recipe.model import AlarmAction, LoopAction, LoopMode, SetAction
from drivers.profiles import measured, setpoint
from drivers.transport import Quality

TEMPERATURE = "tank.temperature_c"
HEATER = "tank.heater_output_pct"
FROZEN = "FROZEN_TANK_TEMPERATURE"
SATURATED = "HEATER_SATURATED_TANK_TEMPERATURE"
FILTER_SETTLED_S = int(4 * HEATER_FILTER_S)


def annunciated(rig) -> dict[str, AlarmState]:
    return {a.definition.alarm_id: a.state for a in rig.engine.alarms.annunciated()}


def active(rig, alarm_id: str) -> bool:
    return alarm_id in rig.engine.alarms and rig.engine.alarms.get(alarm_id).active


async def heat_to(rig, setpoint_c: float) -> None:
    rig.load(rig.step("heat", LoopAction("tank_temperature", LoopMode.AUTO, setpoint=setpoint_c)))
    await rig.start()


async def scan_with(rig, values: list[float], scans: int) -> None:
    """``scans`` scans, the measurement taking ``values`` in turn."""
    for i in range(scans):
        rig.transport.set(TEMPERATURE, values[i % len(values)])
        await rig.scan()


# ------------------------------------------------------------------ frozen measurement

async def test_a_measurement_that_does_not_answer_its_loop_moving_the_output_is_alarmed_as_frozen(rig):
    rig.transport.set(TEMPERATURE, 79.0)  # stuck 1 K below the setpoint
    await heat_to(rig, 80.0)
    await rig.scan(10)  # the loop winds its output up, 0.5 % a scan: past a few percent of its span
    assert rig.engine.outputs[HEATER] > 5.0

    await rig.scan(int(FROZEN_AFTER_S) - 10)
    assert not active(rig, FROZEN)  # the measurement is given FROZEN_AFTER_S to answer
    await rig.scan(10)

    alarm = rig.engine.alarms.get(FROZEN)
    assert alarm.active and alarm.definition.priority == 2 and alarm.definition.action is AlarmAction.NONE
    assert re.search(r"tank\.temperature_c has not moved beyond 0\.15 degC for 30\d s", alarm.definition.message)
    assert rig.state is UnitState.EXECUTE


async def test_a_measurement_that_moves_only_within_the_noise_band_is_still_frozen(rig):
    await heat_to(rig, 80.0)

    await scan_with(rig, [70.0, 70.1, 70.05], int(FROZEN_AFTER_S) + 5)

    assert active(rig, FROZEN)


async def test_a_measurement_that_moves_beyond_the_noise_band_is_alive(rig):
    await heat_to(rig, 80.0)

    await scan_with(rig, [70.0, 70.2], 3 * int(FROZEN_AFTER_S))

    assert not active(rig, FROZEN)


async def test_a_steady_measurement_under_a_steady_output_is_not_frozen(rig):
    rig.transport.set(TEMPERATURE, 80.0)  # at the setpoint: the loop leaves its output alone
    await heat_to(rig, 80.0)

    await rig.scan(3 * int(FROZEN_AFTER_S))

    assert annunciated(rig) == {}


async def test_a_measurement_pinned_at_the_end_of_its_range_is_not_frozen(rig):
    rig.transport.set(TEMPERATURE, 0.0)  # below the instrument's range: the process, not the sensor
    await heat_to(rig, 80.0)

    await rig.scan(int(FROZEN_AFTER_S) + 60)

    assert not active(rig, FROZEN)


async def test_the_frozen_alarm_clears_when_the_measurement_moves_again(rig):
    rig.transport.set(TEMPERATURE, 79.0)
    await heat_to(rig, 80.0)
    await rig.scan(int(FROZEN_AFTER_S) + 20)
    assert active(rig, FROZEN)

    rig.transport.set(TEMPERATURE, 79.5)
    await rig.scan()

    assert annunciated(rig)[FROZEN] is AlarmState.RTN_UNACKNOWLEDGED


async def test_a_loop_not_in_auto_is_not_watched_for_a_frozen_measurement(rig):
    rig.transport.set(TEMPERATURE, 60.0)
    rig.load(rig.step("manual", LoopAction("tank_temperature", LoopMode.MANUAL, output=10.0)))
    await rig.start()

    for output in range(10, 100, 2):  # the operator moves the heater by hand; the reading never moves
        rig.engine.set_loop(LoopAction("tank_temperature", LoopMode.MANUAL, output=float(output)), "ann")
        await rig.scan(10)

    assert not active(rig, FROZEN)


async def test_a_reading_that_is_not_good_is_not_judged_frozen(make_rig):
    rig = make_rig(comm_loss_action=AlarmAction.NONE)
    rig.transport.set(TEMPERATURE, 79.0)
    await heat_to(rig, 80.0)
    rig.transport.fail_reads("tank", quality=Quality.STALE)  # the last good value, again and again

    await rig.scan(2 * int(FROZEN_AFTER_S))

    assert set(annunciated(rig)) == {"COMM_TANK"}


async def test_the_noise_band_and_the_time_are_set_per_loop(make_rig):
    rig = make_rig(loop_watch={"tank_temperature": LoopWatch(frozen_band=0.5, frozen_after_s=60.0)})
    await heat_to(rig, 80.0)

    await scan_with(rig, [70.0, 70.4], 70)

    assert active(rig, FROZEN)
    assert "0.5 degC" in rig.engine.alarms.get(FROZEN).definition.message


async def test_a_measurement_that_answers_within_the_response_time_after_the_output_moved_is_alive(rig):
    """A dead time: steady for long, then the output moves and the measurement answers late."""
    rig.transport.set(TEMPERATURE, 80.0)
    await heat_to(rig, 80.0)
    await rig.scan(2 * int(FROZEN_AFTER_S))  # nothing moves: nothing to judge

    rig.engine.set_loop(LoopAction("tank_temperature", LoopMode.AUTO, setpoint=81.0), "ann")
    await rig.scan(int(FROZEN_AFTER_S) - 20)  # the output winds up; the process has not answered yet
    rig.transport.set(TEMPERATURE, 80.3)
    await rig.scan(int(FROZEN_AFTER_S))

    assert not active(rig, FROZEN)


async def test_a_line_kind_gives_a_loop_its_own_watch_settings(make_rig):
    loop = WatchedLoop("tank_temperature", pv=TEMPERATURE, output=HEATER, gain=5.0, integral_time_s=10.0,
                       watch=LoopWatch(frozen_after_s=1800.0))  # e.g. a long dead time
    rig = make_rig(tank_loop=loop)
    rig.transport.set(TEMPERATURE, 79.0)
    await heat_to(rig, 80.0)

    await rig.scan(1790)
    assert not active(rig, FROZEN)
    await rig.scan(20)
    assert active(rig, FROZEN)


def test_watch_settings_for_a_loop_the_line_does_not_have_are_refused(make_rig):
    with pytest.raises(ValueError, match="unknown loops: tank_level"):
        make_rig(loop_watch={"tank_level": LoopWatch()})


# ------------------------------------------------------------------ heater failure

async def test_a_heater_at_full_output_that_does_not_lift_its_measurement_is_alarmed(rig):
    rig.transport.set(TEMPERATURE, 20.0)  # the element is open: the tank stays cold
    await heat_to(rig, 80.0)
    await rig.scan(10)
    assert rig.engine.outputs[HEATER] == 100.0

    await rig.scan(int(HEATER_AFTER_S))
    assert not active(rig, SATURATED)  # full output for less than HEATER_AFTER_S yet (through the filter)
    await rig.scan(FILTER_SETTLED_S)

    alarm = rig.engine.alarms.get(SATURATED)
    assert alarm.active and alarm.definition.priority == 2 and alarm.definition.action is AlarmAction.NONE
    message = alarm.definition.message
    assert "tank_temperature" in message and HEATER in message and TEMPERATURE in message
    assert "20 degC" in message and "80 degC" in message
    assert rig.state is UnitState.EXECUTE


@pytest.mark.parametrize("where", ["the step that switched the loop on", "a later step that does not name it",
                                   "a hold"])
async def test_a_failed_heater_is_alarmed_in_whichever_step_runs_its_loop(rig, where):
    rig.transport.set(TEMPERATURE, 20.0)
    rig.load(rig.step("warm_up", LoopAction("tank_temperature", LoopMode.AUTO, setpoint=80.0),
                      until="tank.level_pct < 10"),
             rig.step("titrate", SetAction("pump.speed_setpoint_rpm", 5.0)))
    await rig.start()
    if where == "a later step that does not name it":
        rig.transport.set("tank.level_pct", 5.0)
        await rig.scan()
        assert rig.engine.step.name == "titrate"
    elif where == "a hold":
        rig.command(Command.HOLD)
        await rig.scan(2)
        assert rig.state is UnitState.HELD

    await rig.scan(int(HEATER_AFTER_S) + FILTER_SETTLED_S)

    assert active(rig, SATURATED)


async def creep(rig, kelvin_per_300_s: float, periods: int) -> None:
    for period in range(periods):
        rig.transport.set(TEMPERATURE, 20.0 + kelvin_per_300_s * (period + 1))
        await rig.scan(300)


async def test_a_heater_that_lifts_its_measurement_slowly_is_not_alarmed(rig):
    rig.transport.set(TEMPERATURE, 20.0)
    await heat_to(rig, 80.0)

    await creep(rig, 0.4, periods=12)  # 0.8 K in every 600 s: slow, but rising

    assert rig.engine.outputs[HEATER] == 100.0
    assert not active(rig, SATURATED)


async def test_a_heater_that_barely_lifts_its_measurement_is_alarmed_once_for_as_long_as_it_creeps(make_rig,
                                                                                                  recorder):
    rig = make_rig(recorder=recorder)
    rig.transport.set(TEMPERATURE, 20.0)  # e.g. a bath whose make-up water takes what the heater gives
    await heat_to(rig, 80.0)

    await creep(rig, 0.1, periods=36)  # 0.2 K in every 600 s: three hours of it

    assert active(rig, SATURATED)
    assert [state for _, alarm_id, state, _ in recorder.alarms if alarm_id == SATURATED] == ["unacknowledged"]


async def test_the_heater_alarm_clears_when_the_measurement_rises_again(rig):
    rig.transport.set(TEMPERATURE, 20.0)
    await heat_to(rig, 80.0)
    await rig.scan(int(HEATER_AFTER_S) + FILTER_SETTLED_S)
    assert active(rig, SATURATED)

    rig.transport.set(TEMPERATURE, 22.0)  # the element is back
    await rig.scan(FILTER_SETTLED_S)

    assert annunciated(rig)[SATURATED] is AlarmState.RTN_UNACKNOWLEDGED


async def test_the_heater_alarm_clears_when_the_loop_stops_asking_for_full_output(rig):
    rig.transport.set(TEMPERATURE, 20.0)
    await heat_to(rig, 80.0)
    await rig.scan(int(HEATER_AFTER_S) + FILTER_SETTLED_S)

    rig.engine.set_loop(LoopAction("tank_temperature", LoopMode.MANUAL, output=0.0), "ann")
    await rig.scan()

    assert annunciated(rig)[SATURATED] is AlarmState.RTN_UNACKNOWLEDGED


async def test_a_heater_just_short_of_its_setpoint_is_not_alarmed(rig):
    rig.transport.set(TEMPERATURE, 79.0)  # 1 K short: within the 1.5 K band
    await heat_to(rig, 80.0)

    await rig.scan(2 * int(HEATER_AFTER_S) + FILTER_SETTLED_S)

    assert rig.engine.outputs[HEATER] == 100.0
    assert not active(rig, SATURATED)


async def test_a_loop_set_not_to_be_a_heater_is_not_watched_as_one(make_rig):
    rig = make_rig(loop_watch={"tank_temperature": LoopWatch(heating=False)})
    rig.transport.set(TEMPERATURE, 20.0)
    await heat_to(rig, 80.0)

    await rig.scan(2 * int(HEATER_AFTER_S) + FILTER_SETTLED_S)

    assert not active(rig, SATURATED)


PV = measured("temperature_c", "degC", 0.0, 150.0, "Temperature", "T")
PERCENT = setpoint("jacket_output_pct", "percent", -100.0, 100.0, "Split-range jacket", "J", safe_value=0.0)


@pytest.mark.parametrize(("loop", "pv", "output", "heating"), [
    (LoopDefinition("bath", "bath.temperature_c", "bath.heater_output_pct", 1.0, 1.0), PV,
     setpoint("heater_output_pct", "percent", 0.0, 100.0, "Heater", "H", safe_value=0.0), True),
    (LoopDefinition("vessel", "vessel.temperature_c", "vessel.jacket_output_pct", 1.0, 1.0), PV, PERCENT, True),
    (LoopDefinition("cooler", "cooler.temperature_c", "cooler.jacket_output_pct", 1.0, 1.0, direct_acting=True),
     PV, PERCENT, False),
    (LoopDefinition("melt", "hx.temperature_c", "hx.coolant_setpoint_c", 1.0, 1.0), PV,
     setpoint("coolant_setpoint_c", "degC", 0.0, 150.0, "Coolant setpoint", "C", safe_value=20.0), False),
    (LoopDefinition("pressure", "pump.pressure_bar", "pump.speed_pct", 1.0, 1.0),
     measured("pressure_bar", "bar", 0.0, 300.0, "Pressure", "P"),
     setpoint("speed_pct", "percent", 0.0, 100.0, "Speed", "S", safe_value=0.0), False),
], ids=["a heater output", "a split-range jacket that heats when below", "a direct-acting (cooling) loop",
        "a cascade onto a coolant temperature", "a pressure loop"])
def test_which_loops_are_heating_loops(loop, pv, output, heating):
    assert is_heating_loop(loop, pv, output) is heating
