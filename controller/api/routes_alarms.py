"""Alarms: active list, acknowledge, shelve with expiry, history (ISA-18.2)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import db_session, services
from controller.api.errors import AUTH, R404, R409
from controller.api.schemas import ActiveAlarmOut, AlarmEventOut, AlarmHistoryOut, ShelveRequest
from controller.store import alarms as alarm_store
from controller.store import audit

router = APIRouter(prefix="/alarms", tags=["alarms"])

AlarmId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$", description="Alarm id")]


@router.get("/active", response_model=list[ActiveAlarmOut], summary="Annunciated and shelved alarms",
            responses=AUTH)
async def active(request: Request, _: auth.CurrentUser = Depends(auth.viewer)) -> list[ActiveAlarmOut]:
    return [ActiveAlarmOut(**a) for a in services(request).runtime.active_alarms()]


@router.post("/{alarm_id}/acknowledge", response_model=list[ActiveAlarmOut],
             summary="Acknowledge an alarm (returns the active list)", responses=AUTH | R404 | R409)
async def acknowledge(alarm_id: AlarmId, request: Request, user: auth.CurrentUser = Depends(auth.operator),
                      session: Session = Depends(db_session)) -> list[ActiveAlarmOut]:
    runtime = services(request).runtime
    try:
        runtime.acknowledge(alarm_id, user.username)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alarm_id: no alarm {alarm_id!r}") from None
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, f"alarm_id: {exc}") from None
    audit.append(session, user.username, "alarm.acknowledged", f"alarm {alarm_id}",
                 {"run_id": runtime.engine.run_id})
    session.commit()
    return [ActiveAlarmOut(**a) for a in runtime.active_alarms()]


@router.post("/{alarm_id}/shelve", response_model=list[ActiveAlarmOut],
             summary="Shelve an alarm for duration_s process seconds (returns the active list)",
             responses=AUTH | R404 | R409)
async def shelve(alarm_id: AlarmId, body: ShelveRequest, request: Request,
                 user: auth.CurrentUser = Depends(auth.operator),
                 session: Session = Depends(db_session)) -> list[ActiveAlarmOut]:
    runtime = services(request).runtime
    engine = runtime.engine
    if alarm_id not in engine.alarms:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"alarm_id: no alarm {alarm_id!r}")
    if engine.alarms.get(alarm_id).state.value in ("normal", "shelved"):
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"alarm_id: alarm {alarm_id} is {engine.alarms.get(alarm_id).state.value}; "
                            "only active alarms can be shelved")
    _, until_s = runtime.shelve(alarm_id, user.username, body.duration_s)
    run_id = engine.run_id
    occurrence = alarm_store.open_occurrence(session, alarm_id, run_id)
    if occurrence is not None:  # run-less occurrences keep Unix epoch seconds
        occurrence.shelved_until_t_s = until_s if run_id is not None else runtime.epoch_s(until_s)
    audit.append(session, user.username, "alarm.shelved", f"alarm {alarm_id}",
                 {"run_id": run_id, "until_t_s": until_s, "reason": body.reason})
    session.commit()
    return [ActiveAlarmOut(**a) for a in runtime.active_alarms()]


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
