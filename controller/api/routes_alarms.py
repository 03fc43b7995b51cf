"""Alarms: active list, acknowledge, shelve with expiry, history (ISA-18.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import LineRuntime, db_session
from controller.api.errors import AUTH, R404, R409, R503
from controller.api.schemas import ActiveAlarmOut, AlarmEventOut, AlarmHistoryOut, ShelveRequest
from controller.store import alarms as alarm_store

router = APIRouter(prefix="/alarms", tags=["alarms"])

AlarmId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$", description="Alarm id")]


@router.get("/active", response_model=list[ActiveAlarmOut], summary="Annunciated and shelved alarms",
            responses=AUTH | R503)
async def active(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> list[ActiveAlarmOut]:
    return [ActiveAlarmOut(**a) for a in runtime.status()["alarms"]]


@router.post("/{alarm_id}/acknowledge", response_model=list[ActiveAlarmOut],
             summary="Acknowledge an alarm (returns the active list)", responses=AUTH | R404 | R409 | R503)
async def acknowledge(alarm_id: AlarmId, runtime: LineRuntime,
                      user: auth.CurrentUser = Depends(auth.operator)) -> list[ActiveAlarmOut]:
    status_now = await runtime.call("acknowledge", alarm_id=alarm_id, user=user.username)
    return [ActiveAlarmOut(**a) for a in status_now["alarms"]]


@router.post("/{alarm_id}/shelve", response_model=list[ActiveAlarmOut],
             summary="Shelve an alarm for duration_s wall seconds (ISA-18.2: it still acts; interlocks and "
                     "priority-1 alarms by engineers only); returns the active list",
             responses=AUTH | R404 | R409 | R503)
async def shelve(alarm_id: AlarmId, body: ShelveRequest, runtime: LineRuntime,
                 user: auth.CurrentUser = Depends(auth.operator)) -> list[ActiveAlarmOut]:
    status_now = await runtime.call("shelve", alarm_id=alarm_id, user=user.username,
                                    role=user.role, duration_s=body.duration_s, reason=body.reason)
    return [ActiveAlarmOut(**a) for a in status_now["alarms"]]


@router.get("/history", response_model=list[AlarmHistoryOut], summary="Alarm occurrences, newest first",
            responses=AUTH)
def history(
    _: auth.CurrentUser = Depends(auth.viewer),
    session: Session = Depends(db_session),
    run_id: Annotated[int | None, Query(ge=1, le=2_000_000_000, description="Only this run")] = None,
    alarm_id: Annotated[str | None, Query(max_length=100, description="Only this alarm")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many")] = 1000,
) -> list[AlarmHistoryOut]:
    rows = alarm_store.alarm_history(session, run_id=run_id, alarm_id=alarm_id, limit=limit)
    return [
        AlarmHistoryOut(
            run_id=a.run_id, alarm_id=a.alarm_id, message=a.message, priority=a.priority, state=a.state,
            raised_t_s=a.raised_t_s, cleared_t_s=a.cleared_t_s, acknowledged_by=a.acknowledged_by,
            shelved_until_t_s=a.shelved_until_t_s,
            events=[AlarmEventOut(t_s=e.t_s, state=e.state, actor=e.actor, note=e.note) for e in a.events],
        )
        for a in rows
    ]
