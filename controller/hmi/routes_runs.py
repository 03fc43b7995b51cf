"""The runs pages: the history with filters (recipe, final state, quality verdict, start date),
and a run's page: steps with planned and actual durations, alarms, commands, the formula with
its actual values, the quality verdict, and links to the batch report (PDF) and its samples
(CSV). The run page shows what the batch report prints (``controller.report.content.gather``)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from controller.api import auth, routes_history, routes_report
from controller.api.deps import services
from controller.api.schemas import RunInfoOut
from controller.engine.specification import (
    VERDICT_IN_SPEC,
    VERDICT_NO_PRODUCTION,
    VERDICT_NOT_SPECIFIED,
    VERDICT_OUT_OF_SPEC,
)
from controller.hmi import pages, session
from controller.hmi.pages import templates
from controller.report.analysis import event_clock, event_time
from controller.report.content import gather
from controller.report.model import Report

router = APIRouter(include_in_schema=False)

SHOWN = 200  # runs on the history page
SCANNED = 1000  # runs read when a verdict filter is applied (the API filters no verdict)
FINAL_STATES = ("Complete", "Stopped", "Aborted")
VERDICTS = (VERDICT_IN_SPEC, VERDICT_OUT_OF_SPEC, VERDICT_NO_PRODUCTION, VERDICT_NOT_SPECIFIED)
Filter = Annotated[str, Query(max_length=100)]


def recent_runs(request: Request, user: auth.CurrentUser, limit: int, **filters: Any) -> list[RunInfoOut]:
    """Runs newest first, through the API's ``GET /runs`` (its filters: recipe_id, final_state,
    started_after, started_before)."""
    query: dict[str, Any] = {"recipe_id": None, "line_id": None, "operator": None, "final_state": None,
                             "started_after": None, "started_before": None} | filters
    with services(request).sessions() as db:
        return routes_history.list_runs(user, db, limit=limit, offset=0, **query)


def _day(name: str, value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name}: give a date as YYYY-MM-DD") from None


def filtered_runs(request: Request, user: auth.CurrentUser, recipe_id: str, final_state: str, verdict: str,
                  started_from: datetime | None, started_until: datetime | None) -> list[RunInfoOut]:
    """Runs newest first, filtered by ``GET /runs`` and then by their quality verdict."""
    found = recent_runs(request, user, SCANNED if verdict else SHOWN, recipe_id=recipe_id or None,
                        final_state=final_state or None, started_after=started_from, started_before=started_until)
    return [r for r in found if not verdict or r.quality_verdict == verdict][:SHOWN]


@router.get("/hmi/runs", response_class=HTMLResponse)
async def runs(request: Request, recipe_id: Filter = "", final_state: Filter = "", verdict: Filter = "",
               started_from: Filter = "", started_until: Filter = "") -> HTMLResponse:
    """``started_from`` and ``started_until`` are days (UTC), both included."""
    user = await session.signed_in(request)
    filters = {"recipe_id": recipe_id, "final_state": final_state, "verdict": verdict, "started_from": started_from,
               "started_until": started_until}
    ctx = pages.context(request, user, "runs", filters=filters, final_states=FINAL_STATES, verdicts=VERDICTS, runs=[])
    try:
        after = _day("started_from", started_from)
        until = _day("started_until", started_until)
        before = until + timedelta(days=1) if until is not None else None
        ctx["runs"] = await run_in_threadpool(filtered_runs, request, user, recipe_id.strip(), final_state, verdict,
                                              after, before)
    except HTTPException as exc:
        ctx["error"] = pages.refusal(exc)
    return templates.TemplateResponse(request, "runs.html", ctx,
                                      status_code=ctx["error"].status_code if ctx["error"] else 200)


def _report(request: Request, run_id: int) -> Report:
    with services(request).sessions() as db:
        try:
            return gather(db, run_id)
        except LookupError:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found") from None


RunId = Annotated[int, Path(ge=1, le=2_000_000_000)]


@router.get("/hmi/runs/{run_id}", response_class=HTMLResponse)
async def run_page(request: Request, run_id: RunId) -> HTMLResponse:
    user = await session.signed_in(request)
    ctx: dict[str, Any] = pages.context(request, user, "runs", run_id=run_id, report=None)
    try:
        report = ctx["report"] = await run_in_threadpool(_report, request, run_id)
        ctx |= {"at": functools.partial(event_time, report), "clock": event_clock(report)}  # as the batch report
    except HTTPException as exc:
        ctx["error"] = pages.refusal(exc)
    return templates.TemplateResponse(request, "run_record.html", ctx,
                                      status_code=ctx["error"].status_code if ctx["error"] else 200)


# The API's downloads need a bearer token, which a browser's link does not send: the same
# routes, for the HMI's session.
@router.get("/hmi/runs/{run_id}/report.pdf")
async def report_pdf(request: Request, run_id: RunId) -> Response:
    return await routes_report.report_pdf(request, run_id, await session.signed_in(request))


@router.get("/hmi/runs/{run_id}/samples.csv")
async def samples_csv(request: Request, run_id: RunId) -> StreamingResponse:
    return await routes_history.batch_record_wide_csv(request, run_id, await session.signed_in(request))
