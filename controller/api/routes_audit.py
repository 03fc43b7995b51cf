"""The audit trail: list and verify the hash chain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import db_session
from controller.api.errors import AUTH
from controller.api.schemas import AuditEntryOut, AuditVerifyOut
from controller.store import AuditEntry, audit

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditEntryOut], summary="Audit entries in order", responses=AUTH)
def list_audit(
    _: auth.CurrentUser = Depends(auth.viewer),
    session: Session = Depends(db_session),
    after_id: Annotated[int, Query(ge=0, le=2**62, description="Entries after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many")] = 1000,
) -> list[AuditEntryOut]:
    rows = session.execute(select(AuditEntry).where(AuditEntry.id > after_id).order_by(AuditEntry.id).limit(limit))
    return [AuditEntryOut(id=e.id, at=e.at, actor=e.actor, action=e.action, subject=e.subject,
                          details=e.details, hash=e.hash) for e in rows.scalars()]


@router.get("/verify", response_model=AuditVerifyOut, summary="Walk the hash chain; name the first bad row",
            responses=AUTH)
def verify(_: auth.CurrentUser = Depends(auth.viewer), session: Session = Depends(db_session)) -> AuditVerifyOut:
    result = audit.verify(session)
    return AuditVerifyOut(ok=result.ok, first_bad_id=result.first_bad_id, reason=result.reason,
                          rows_checked=result.rows_checked)
