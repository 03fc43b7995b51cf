"""History: runs with filters, batch records (JSON; long and wide CSV, streamed), downsampled tag trends."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import db_session, services
from controller.api.errors import AUTH, R404
from controller.api.schemas import NAME_PATTERN, AuditHeadOut, BatchRecordOut, DeviationOut, RunInfoOut, TrendOut
from controller.lines import kind_named
from controller.store import Run, audit, load_batch_record, trend
from controller.store.batch import CsvExport
from controller.store.models import utc_now

router = APIRouter(prefix="/runs", tags=["history"])

RunId = Annotated[int, Path(ge=1, le=2_000_000_000, description="Run (batch record) id")]
FiniteTime = Annotated[float | None, Query(ge=-1e12, le=1e12, allow_inf_nan=False,
                                           description="Run seconds (default: the series' first/last sample)")]


def _run_out(r: Run) -> RunInfoOut:
    return RunInfoOut(id=r.id, line_id=r.line_id, recipe_id=r.recipe_id, recipe_version=r.recipe_version, line_kind=r.line_kind,
                      operator=r.operator, simulated=r.simulated, started_at=r.started_at, ended_at=r.ended_at,
                      ended_t_s=r.ended_t_s, final_state=r.final_state, end_reason=r.end_reason,
                      quality_verdict=(r.quality or {}).get("verdict"))


@router.get("", response_model=list[RunInfoOut], summary="Runs, newest first, with filters", responses=AUTH)
def list_runs(
    _: auth.CurrentUser = Depends(auth.viewer),
    session: Session = Depends(db_session),
    recipe_id: Annotated[str | None, Query(max_length=100, pattern=NAME_PATTERN, description="Only this recipe")] = None,
    line_id: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN, description="Only this line")] = None,
    operator: Annotated[str | None, Query(max_length=64, description="Only runs started by this user")] = None,
    final_state: Annotated[str | None, Query(max_length=32, description="Complete, Stopped, Aborted")] = None,
    started_after: Annotated[datetime | None, Query(description="Started at or after (ISO 8601 with zone)")] = None,
    started_before: Annotated[datetime | None, Query(description="Started before (ISO 8601 with zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many")] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many")] = 0,
) -> list[RunInfoOut]:
    stmt = select(Run).order_by(Run.id.desc()).limit(limit).offset(offset)
    if recipe_id is not None:
        stmt = stmt.where(Run.recipe_id == recipe_id)
    if line_id is not None:
        stmt = stmt.where(Run.line_id == line_id)
    if operator is not None:
        stmt = stmt.where(Run.operator == operator)
    if final_state is not None:
        stmt = stmt.where(Run.final_state == final_state)
    for name, moment in (("started_after", started_after), ("started_before", started_before)):
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: give a time zone (e.g. ...Z)")
    if started_after is not None:
        stmt = stmt.where(Run.started_at >= started_after)
    if started_before is not None:
        stmt = stmt.where(Run.started_at < started_before)
    return [_run_out(r) for r in session.execute(stmt).scalars()]


@functools.lru_cache(maxsize=4096)
def _unit(line_kind: str, tag: str) -> str | None:
    """The unit of ``tag`` (a device tag or a derived tag) on the built-in line of
    ``line_kind`` (None: no such tag, or a line kind this installation does not know)."""
    try:
        return kind_named(line_kind).definition().tag(tag).unit
    except (KeyError, ValueError):
        return None


def _run(session: Session, run_id: int) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")
    return run


@router.get("/{run_id}", response_model=RunInfoOut, summary="One run's header", responses=AUTH | R404)
def get_run(run_id: RunId, _: auth.CurrentUser = Depends(auth.viewer),
            session: Session = Depends(db_session)) -> RunInfoOut:
    return _run_out(_run(session, run_id))


@router.get("/{run_id}/record", response_model=BatchRecordOut, summary="The batch record as JSON",
            responses=AUTH | R404)
def batch_record(run_id: RunId, _: auth.CurrentUser = Depends(auth.viewer),
                 session: Session = Depends(db_session)) -> BatchRecordOut:
    _run(session, run_id)
    record = load_batch_record(session, run_id)
    data = record.model_dump(mode="json")
    data["deviations"] = [DeviationOut(seconds=d.seconds, **d.model_dump()) for d in record.deviations]
    data["deviation_s"] = sum(d.seconds for d in record.deviations)
    head = audit.head(session)  # the report's checkpoint: `poreline audit verify` can be held to it
    data["audit_head"] = None if head is None else AuditHeadOut(id=head[0], hash=head[1], at=utc_now())
    return BatchRecordOut(**data)


EXPORT_THREADS = 4  # chunk reads of all CSV exports at once, each on a worker thread


def _export_limiter(request: Request) -> anyio.CapacityLimiter:
    """The app's own limit on CSV export threads: exports never wait for the request threadpool
    (which a flood of password hashes can fill), nor fill it."""
    state = request.app.state
    limiter = getattr(state, "csv_export_limiter", None)
    if limiter is None:
        limiter = state.csv_export_limiter = anyio.CapacityLimiter(EXPORT_THREADS)
    return limiter


async def _csv_export(request: Request, run_id: int, layout: str, filename: str) -> StreamingResponse:
    """The run's CSV, streamed: a piece per chunk of samples read (CsvExport: keyset
    pagination, one short read on a connection of its own per chunk, so no transaction spans
    the export and the runtime's historian keeps writing), memory bounded by a chunk."""
    limiter = _export_limiter(request)
    db = services(request).db
    try:
        export = await anyio.to_thread.run_sync(functools.partial(CsvExport, db, run_id, layout=layout),
                                                limiter=limiter)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found") from None

    async def pieces() -> AsyncIterator[str]:
        iterator = iter(export)
        while (piece := await anyio.to_thread.run_sync(next, iterator, None, limiter=limiter)) is not None:
            yield piece

    return StreamingResponse(pieces(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.get("/{run_id}/record.csv", summary="The run's samples as CSV (t_s,timestamp,tag,value,quality)",
            description="One row per sample, ordered by tag, then time. Streamed as it is read "
                        "(chunked transfer, no Content-Length).",
            response_class=StreamingResponse,
            responses=AUTH | R404 | {200: {"content": {"text/csv": {}}, "description": "Long-format CSV"}})
async def batch_record_csv(request: Request, run_id: RunId,
                           _: auth.CurrentUser = Depends(auth.viewer)) -> StreamingResponse:
    return await _csv_export(request, run_id, "long", f"run-{run_id}.csv")


@router.get("/{run_id}/samples.csv", summary="The run's samples as wide CSV (timestamp,t_s,<tag>...)",
            description="The same as record-wide.csv, under the name the HMI and the batch report link to.",
            response_class=StreamingResponse,
            responses=AUTH | R404 | {200: {"content": {"text/csv": {}}, "description": "Wide CSV"}})
@router.get("/{run_id}/record-wide.csv", summary="The run's samples as wide CSV (timestamp,t_s,<tag>...)",
            description="One row per instant of the run (distinct t_s) in time order, the wall-clock "
                        "timestamp first, then run seconds, then one column per tag (ordered by name). A cell "
                        "is empty when the tag has no sample at that instant, or its value is null or not of "
                        "good quality (record.csv keeps every sample with its quality). Streamed as it is read.",
            response_class=StreamingResponse,
            responses=AUTH | R404 | {200: {"content": {"text/csv": {}}, "description": "Wide CSV"}})
async def batch_record_wide_csv(request: Request, run_id: RunId,
                                _: auth.CurrentUser = Depends(auth.viewer)) -> StreamingResponse:
    return await _csv_export(request, run_id, "wide", f"run-{run_id}-wide.csv")


@router.get("/{run_id}/trend", response_model=TrendOut,
            summary="A tag's samples over a time range, downsampled to at most max_points buckets (avg/min/max)",
            description="Windows narrower than max_points minutes: buckets of equal width, "
                        "(t_to_s - t_from_s) / max_points. Wider windows: buckets of whole minutes of run "
                        "time (the fewest per bucket that keep to max_points), read from per-minute rollups; "
                        "the first and last bucket are clipped to the window. Either way only samples inside "
                        "the window count.",
            responses=AUTH | R404)
def tag_trend(
    run_id: RunId,
    tag: Annotated[str, Query(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$",
                              description="device.tag")],
    t_from_s: FiniteTime = None,
    t_to_s: FiniteTime = None,
    max_points: Annotated[int, Query(ge=1, le=10_000, description="At most this many points")] = 1000,
    _: auth.CurrentUser = Depends(auth.viewer),
    session: Session = Depends(db_session),
) -> JSONResponse:
    line_kind = _run(session, run_id).line_kind
    if t_from_s is not None and t_to_s is not None and t_to_s < t_from_s:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "t_to_s: must be >= t_from_s")
    try:
        points = trend(session, run_id, tag, t_from_s, t_to_s, max_points)
    except ValueError as exc:  # e.g. t_from_s after the last sample
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"t_from_s/t_to_s: {exc}") from None
    unit = _unit(line_kind, tag)
    # Up to 10^4 points: build the JSON directly (the shape of TrendOut, which documents it)
    # instead of validating a pydantic model per point twice (the handler, then response_model).
    return JSONResponse({"run_id": run_id, "tag": tag, "unit": unit, "points": [
        {"t_s": p.t_s, "t_end_s": p.t_end_s, "count": p.count, "avg": p.avg, "min": p.min, "max": p.max}
        for p in points]})
