"""Alarm journal with ISA-18.2 states.

One :class:`~controller.store.models.Alarm` row per occurrence: it is created
when the alarm is raised and is closed when it reaches ``normal``.  Every
transition is appended to ``alarm_events``.  The process condition
(``condition_active``) is tracked separately from the annunciation state so that
a shelved alarm knows what to become when it is unshelved.

State machine (``t_s`` = run seconds, or Unix seconds for run-less alarms)::

    normal --raise--> unacknowledged --ack--> acknowledged --clear--> normal
                      unacknowledged --clear--> rtn_unacknowledged --ack--> normal
                      rtn_unacknowledged --raise--> unacknowledged (re-alarm)
    unacknowledged | acknowledged | rtn_unacknowledged --shelve(until)--> shelved
    shelved --unshelve / expiry--> unacknowledged if the condition is active, else normal

Raise/clear while shelved only update ``condition_active``.  The engine owns
the live alarm logic; these functions persist it and are safe to call from the
REST API (acknowledge, shelve).  Functions flush but never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from controller.store.errors import InvalidAlarmTransitionError, NotFoundError
from controller.store.models import Alarm, AlarmEvent, AlarmState, utc_now

__all__ = [
    "InvalidAlarmTransitionError",
    "acknowledge",
    "active_alarms",
    "alarm_history",
    "clear_alarm",
    "expire_shelves",
    "open_occurrence",
    "raise_alarm",
    "shelve",
    "unshelve",
]

_U = AlarmState.UNACKNOWLEDGED.value
_A = AlarmState.ACKNOWLEDGED.value
_RTN = AlarmState.RTN_UNACKNOWLEDGED.value
_S = AlarmState.SHELVED.value
_N = AlarmState.NORMAL.value


def open_occurrence(session: Session, alarm_id: str, run_id: int | None = None) -> Alarm | None:
    """The occurrence of ``alarm_id`` that has not returned to normal, if any."""
    run_clause = Alarm.run_id.is_(None) if run_id is None else Alarm.run_id == run_id
    return session.execute(
        select(Alarm)
        .where(Alarm.alarm_id == alarm_id, run_clause, Alarm.state != _N)
        .order_by(Alarm.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _require_open(session: Session, alarm_id: str, run_id: int | None) -> Alarm:
    alarm = open_occurrence(session, alarm_id, run_id)
    if alarm is None:
        where = f" in run {run_id}" if run_id is not None else ""
        raise NotFoundError(f"alarm {alarm_id!r}{where} is not active")
    return alarm


def _move(session: Session, alarm: Alarm, state: str, t_s: float, actor: str | None, note: str | None = None) -> Alarm:
    alarm.state = state
    session.add(AlarmEvent(alarm_pk=alarm.id, t_s=t_s, state=state, actor=actor, note=note))
    session.flush()
    return alarm


def raise_alarm(
    session: Session,
    alarm_id: str,
    message: str,
    priority: str,
    t_s: float,
    *,
    run_id: int | None = None,
) -> Alarm:
    """The alarm condition became active."""
    alarm = open_occurrence(session, alarm_id, run_id)
    if alarm is None:
        alarm = Alarm(
            run_id=run_id,
            alarm_id=alarm_id,
            message=message,
            priority=priority,
            state=_U,
            condition_active=True,
            raised_t_s=t_s,
        )
        session.add(alarm)
        session.flush()
        return _move(session, alarm, _U, t_s, None, message)
    alarm.condition_active = True
    if alarm.state == _RTN:  # returned to normal, then came back before anyone acknowledged
        alarm.cleared_t_s = None
        return _move(session, alarm, _U, t_s, None, "re-alarm")
    session.flush()
    return alarm  # already unacknowledged / acknowledged / shelved


def clear_alarm(session: Session, alarm_id: str, t_s: float, *, run_id: int | None = None) -> Alarm | None:
    """The alarm condition returned to normal.  ``None`` if the alarm was not active."""
    alarm = open_occurrence(session, alarm_id, run_id)
    if alarm is None or not alarm.condition_active:
        return alarm
    alarm.condition_active = False
    alarm.cleared_t_s = t_s
    if alarm.state == _U:
        return _move(session, alarm, _RTN, t_s, None)
    if alarm.state == _A:
        return _move(session, alarm, _N, t_s, None)
    session.flush()
    return alarm  # shelved: stays shelved, condition noted


def acknowledge(
    session: Session,
    alarm_id: str,
    user: str,
    t_s: float,
    *,
    run_id: int | None = None,
    at: datetime | None = None,
) -> Alarm:
    """Operator acknowledgement: unacknowledged -> acknowledged, rtn_unacknowledged -> normal."""
    alarm = _require_open(session, alarm_id, run_id)
    if alarm.state not in (_U, _RTN):
        raise InvalidAlarmTransitionError(f"alarm {alarm_id!r} is {alarm.state}; only unacknowledged alarms can be acknowledged")
    alarm.acknowledged_by = user
    alarm.acknowledged_at = at or utc_now()
    return _move(session, alarm, _A if alarm.state == _U else _N, t_s, user)


def shelve(
    session: Session,
    alarm_id: str,
    user: str,
    t_s: float,
    until_t_s: float,
    *,
    run_id: int | None = None,
    reason: str | None = None,
) -> Alarm:
    """Shelve an active alarm until ``until_t_s`` (same time base as ``t_s``)."""
    if until_t_s <= t_s:
        raise ValueError("a shelf must expire after it starts (until_t_s > t_s)")
    alarm = _require_open(session, alarm_id, run_id)
    if alarm.state == _S:
        raise InvalidAlarmTransitionError(f"alarm {alarm_id!r} is already shelved")
    alarm.shelved_by = user
    alarm.shelved_until_t_s = until_t_s
    return _move(session, alarm, _S, t_s, user, reason)


def _unshelve(session: Session, alarm: Alarm, t_s: float, actor: str | None, note: str) -> Alarm:
    alarm.shelved_until_t_s = None
    return _move(session, alarm, _U if alarm.condition_active else _N, t_s, actor, note)


def unshelve(session: Session, alarm_id: str, user: str, t_s: float, *, run_id: int | None = None) -> Alarm:
    """Return a shelved alarm to service: unacknowledged if still active, else normal."""
    alarm = _require_open(session, alarm_id, run_id)
    if alarm.state != _S:
        raise InvalidAlarmTransitionError(f"alarm {alarm_id!r} is {alarm.state}, not shelved")
    return _unshelve(session, alarm, t_s, user, "unshelved")


def expire_shelves(session: Session, t_s: float, *, run_id: int | None = None) -> list[Alarm]:
    """Unshelve every shelved alarm whose shelf expired at or before ``t_s``."""
    run_clause = Alarm.run_id.is_(None) if run_id is None else Alarm.run_id == run_id
    expired = session.execute(
        select(Alarm).where(run_clause, Alarm.state == _S, Alarm.shelved_until_t_s <= t_s)
    ).scalars()
    return [_unshelve(session, alarm, t_s, None, "shelf expired") for alarm in expired]


def active_alarms(session: Session, *, run_id: int | None = None, all_runs: bool = False) -> Sequence[Alarm]:
    """Occurrences not in ``normal`` (shelved included), oldest first."""
    stmt = select(Alarm).where(Alarm.state != _N).order_by(Alarm.id)
    if not all_runs:
        stmt = stmt.where(Alarm.run_id.is_(None) if run_id is None else Alarm.run_id == run_id)
    return session.execute(stmt).scalars().all()


def alarm_history(
    session: Session,
    *,
    run_id: int | None = None,
    alarm_id: str | None = None,
    limit: int | None = 1000,
) -> Sequence[Alarm]:
    """Occurrences (newest first) with their transition events loaded."""
    stmt = select(Alarm).options(selectinload(Alarm.events)).order_by(Alarm.id.desc())
    if run_id is not None:
        stmt = stmt.where(Alarm.run_id == run_id)
    if alarm_id is not None:
        stmt = stmt.where(Alarm.alarm_id == alarm_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return session.execute(stmt).scalars().all()
