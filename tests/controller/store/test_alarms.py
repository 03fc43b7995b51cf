"""ISA-18.2 state transitions of the alarm journal."""

from __future__ import annotations

import pytest

from controller.store import InvalidAlarmTransitionError, NotFoundError, alarms

HI = ("TIC101.HI", "quench bath temperature high", "high")


def _raise(session, t_s, run_id=None):
    return alarms.raise_alarm(session, *HI, t_s, run_id=run_id)


def _states(alarm):
    return [e.state for e in alarm.events]


def test_raise_acknowledge_clear_returns_to_normal(session):
    a = _raise(session, 10.0)
    assert a.state == "unacknowledged" and a.condition_active
    alarms.acknowledge(session, "TIC101.HI", "oscar", 12.0)
    assert a.state == "acknowledged" and a.acknowledged_by == "oscar" and a.acknowledged_at is not None
    alarms.clear_alarm(session, "TIC101.HI", 20.0)
    assert a.state == "normal" and a.cleared_t_s == 20.0
    session.refresh(a)
    assert _states(a) == ["unacknowledged", "acknowledged", "normal"]
    assert alarms.active_alarms(session) == []


def test_clear_before_acknowledge_is_return_to_normal_unacknowledged(session):
    a = _raise(session, 10.0)
    alarms.clear_alarm(session, "TIC101.HI", 15.0)
    assert a.state == "rtn_unacknowledged" and not a.condition_active
    assert alarms.active_alarms(session) == [a]  # still needs the operator's attention
    alarms.acknowledge(session, "TIC101.HI", "oscar", 16.0)
    assert a.state == "normal"


def test_an_alarm_that_comes_back_before_acknowledgement_re_alarms_the_same_occurrence(session):
    a = _raise(session, 10.0)
    alarms.clear_alarm(session, "TIC101.HI", 15.0)
    again = _raise(session, 17.0)
    assert again.id == a.id and again.state == "unacknowledged" and again.cleared_t_s is None
    assert again.raised_t_s == 10.0


def test_raising_an_alarm_that_returned_to_normal_starts_a_new_occurrence(session):
    first = _raise(session, 10.0)
    alarms.acknowledge(session, "TIC101.HI", "oscar", 11.0)
    alarms.clear_alarm(session, "TIC101.HI", 12.0)
    second = _raise(session, 30.0)
    assert second.id != first.id and second.raised_t_s == 30.0
    assert [h.id for h in alarms.alarm_history(session, alarm_id="TIC101.HI")] == [second.id, first.id]


def test_a_shelved_alarm_stays_shelved_while_its_condition_changes(session):
    a = _raise(session, 10.0)
    alarms.shelve(session, "TIC101.HI", "oscar", 11.0, until_t_s=100.0, reason="sensor swap")
    alarms.clear_alarm(session, "TIC101.HI", 20.0)
    _raise(session, 30.0)
    assert a.state == "shelved" and a.condition_active and a.shelved_until_t_s == 100.0
    assert alarms.expire_shelves(session, 99.0) == []


def test_an_expired_shelf_returns_an_active_alarm_as_unacknowledged(session):
    a = _raise(session, 10.0)
    alarms.shelve(session, "TIC101.HI", "oscar", 11.0, until_t_s=100.0)
    assert alarms.expire_shelves(session, 100.0) == [a]
    assert a.state == "unacknowledged" and a.shelved_until_t_s is None


def test_an_expired_shelf_returns_a_cleared_alarm_to_normal(session):
    a = _raise(session, 10.0)
    alarms.acknowledge(session, "TIC101.HI", "oscar", 10.5)
    alarms.shelve(session, "TIC101.HI", "oscar", 11.0, until_t_s=100.0)
    alarms.clear_alarm(session, "TIC101.HI", 50.0)
    alarms.expire_shelves(session, 120.0)
    assert a.state == "normal"
    session.refresh(a)
    assert _states(a) == ["unacknowledged", "acknowledged", "shelved", "normal"]


def test_unshelve_by_hand(session):
    a = _raise(session, 10.0)
    alarms.shelve(session, "TIC101.HI", "oscar", 11.0, until_t_s=100.0)
    alarms.unshelve(session, "TIC101.HI", "oscar", 12.0)
    assert a.state == "unacknowledged"
    with pytest.raises(InvalidAlarmTransitionError):
        alarms.unshelve(session, "TIC101.HI", "oscar", 13.0)


def test_operations_the_state_machine_does_not_allow_are_refused(session):
    _raise(session, 10.0)
    alarms.acknowledge(session, "TIC101.HI", "oscar", 11.0)
    with pytest.raises(InvalidAlarmTransitionError, match="acknowledged"):
        alarms.acknowledge(session, "TIC101.HI", "oscar", 12.0)
    with pytest.raises(NotFoundError):
        alarms.acknowledge(session, "PIC200.LO", "oscar", 12.0)
    with pytest.raises(ValueError):
        alarms.shelve(session, "TIC101.HI", "oscar", 12.0, until_t_s=5.0)


def test_alarms_of_different_runs_are_separate(session):
    from datetime import UTC, datetime

    from controller.store import Run

    now = datetime.now(UTC)
    run = Run(recipe_id="r", recipe_version=1, line_kind="casting", parameters={}, operator="op",
              time_origin=now, started_at=now)
    session.add(run)
    session.flush()
    in_run = _raise(session, 5.0, run_id=run.id)
    plant = _raise(session, 1_700_000_000.0)
    assert in_run.id != plant.id
    assert alarms.active_alarms(session, run_id=run.id) == [in_run]
    assert alarms.active_alarms(session) == [plant]
    assert len(alarms.active_alarms(session, all_runs=True)) == 2
