"""ISA-18.2 alarm states, on-delay and latching interlocks."""

import pytest

from controller.engine.alarms import AlarmManager, AlarmState
from controller.recipe.model import AlarmAction, AlarmDefinition, Condition


def high_temperature(delay_s: float = 5.0, force_safe: tuple[str, ...] = ()) -> AlarmDefinition:
    return AlarmDefinition(
        alarm_id="TEMP_HIGH", message="too hot", priority=1,
        condition=Condition("t.x > 50", frozenset({"t.x"}), lambda image: image["t.x"] > 50),
        delay_s=delay_s, action=AlarmAction.HOLD, force_safe=force_safe)


def test_alarm_raises_only_after_its_on_delay_and_returns_its_action():
    alarms = AlarmManager()
    alarms.define(high_temperature(delay_s=5.0))
    actions = [alarms.evaluate({"t.x": 60.0}, t, 1.0, None) for t in range(7)]
    raised_at = [t for t, a in enumerate(actions) if a]
    assert raised_at == [5]
    assert actions[5] == [AlarmAction.HOLD]
    assert alarms.get("TEMP_HIGH").state is AlarmState.UNACKNOWLEDGED


def test_isa_18_2_cycle_ack_then_clear_returns_to_normal():
    alarms = AlarmManager()
    alarms.define(high_temperature(delay_s=0.0))
    alarms.evaluate({"t.x": 60.0}, 0, 1.0, None)
    alarms.acknowledge("TEMP_HIGH", 1, "ann")
    assert alarms.get("TEMP_HIGH").state is AlarmState.ACKNOWLEDGED
    alarms.evaluate({"t.x": 40.0}, 2, 1.0, None)
    assert alarms.get("TEMP_HIGH").state is AlarmState.NORMAL


def test_isa_18_2_cycle_clear_then_ack_passes_through_rtn_unacknowledged():
    alarms = AlarmManager()
    alarms.define(high_temperature(delay_s=0.0))
    alarms.evaluate({"t.x": 60.0}, 0, 1.0, None)
    alarms.evaluate({"t.x": 40.0}, 1, 1.0, None)
    assert alarms.get("TEMP_HIGH").state is AlarmState.RTN_UNACKNOWLEDGED
    alarms.acknowledge("TEMP_HIGH", 2, "ann")
    assert alarms.get("TEMP_HIGH").state is AlarmState.NORMAL
    with pytest.raises(ValueError, match="nothing to acknowledge"):
        alarms.acknowledge("TEMP_HIGH", 3, "ann")


def test_interlock_stays_latched_until_cleared_and_acknowledged():
    alarms = AlarmManager()
    alarms.define(high_temperature(delay_s=0.0, force_safe=("heater",)))
    alarms.evaluate({"t.x": 60.0}, 0, 1.0, None)
    alarms.evaluate({"t.x": 40.0}, 1, 1.0, None)
    assert [d.alarm_id for d in alarms.latched_interlocks()] == ["TEMP_HIGH"]
    alarms.acknowledge("TEMP_HIGH", 2, "ann")
    assert alarms.latched_interlocks() == []


def test_shelved_alarm_is_not_annunciated_until_the_shelve_expires_but_still_acts():
    alarms = AlarmManager()
    alarms.define(high_temperature(delay_s=0.0))
    alarms.shelve("TEMP_HIGH", 0, until_s=10, user="ann")
    assert alarms.evaluate({"t.x": 60.0}, 1, 1.0, None) == [AlarmAction.HOLD]  # shelving hides, never disarms
    assert alarms.annunciated() == []
    alarms.evaluate({"t.x": 60.0}, 10, 1.0, None)
    assert [a.definition.alarm_id for a in alarms.annunciated()] == ["TEMP_HIGH"]
    assert alarms.get("TEMP_HIGH").state is AlarmState.UNACKNOWLEDGED
    assert [(e.state, e.user, e.note) for e in alarms.events] == [
        (AlarmState.SHELVED, "ann", ""), (AlarmState.UNACKNOWLEDGED, "", ""),
        (AlarmState.UNACKNOWLEDGED, "system", "shelve expired")]
