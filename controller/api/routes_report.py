"""The batch report of a run as PDF (PDF/A-3b with the batch record attached as JSON), and its
production summary as JSON (what ``poreline run`` prints at the end, for any run)."""

from __future__ import annotations

import functools

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from controller.api import auth
from controller.api.deps import services
from controller.api.errors import AUTH, R404
from controller.api.routes_history import RunId
from controller.api.schemas import FormulaActualOut, RunSummaryOut, SpecifiedQuantityOut, TagMeanOut
from controller.report.content import gather

router = APIRouter(prefix="/runs", tags=["reports"])

REPORT_THREADS = 2  # reports rendered at once (each takes a core for about a second)


def _report_limiter(request: Request) -> anyio.CapacityLimiter:
    """The app's own limit on report rendering: a burst of downloads waits here instead of
    taking every core (or the request threadpool) from the API."""
    state = request.app.state
    limiter = getattr(state, "report_limiter", None)
    if limiter is None:
        limiter = state.report_limiter = anyio.CapacityLimiter(REPORT_THREADS)
    return limiter


def _render(request: Request, run_id: int) -> bytes:
    from controller.report import batch_report_pdf  # WeasyPrint and matplotlib load with the first report

    with services(request).sessions() as session:
        return batch_report_pdf(session, run_id)


def _summary(request: Request, run_id: int) -> RunSummaryOut:
    with services(request).sessions() as session:
        report = gather(session, run_id)
    header, production = report.header, report.production
    return RunSummaryOut(
        run_id=header.run_id, recipe_id=header.recipe_id, recipe_version=header.recipe_version,
        final_state=header.final_state, quantity_label=production.quantity_label, quantity=production.quantity,
        quantity_unit=production.quantity_unit, quantity_detail=production.quantity_detail,
        production_s=production.production_s, deviation_s=sum(d.seconds for d in report.deviations),
        verdict=production.verdict,
        specification=[SpecifiedQuantityOut(address=q.address, unit=q.unit, low=q.low, high=q.high, mean=q.mean,
                                            minimum=q.minimum, maximum=q.maximum, out_of_spec_s=q.out_of_spec_s,
                                            in_spec=q.in_spec) for q in production.specification],
        means=[TagMeanOut(tag=tag, mean=mean, minimum=low, maximum=high) for tag, mean, low, high in production.means],
        formula=[FormulaActualOut(name=f.name, unit=f.unit, setpoint=f.setpoint, master_setpoint=f.master_setpoint,
                                  low=f.low, high=f.high,
                                  actual=f.actual, actual_tag=f.actual_tag, deviation=f.deviation)
                 for f in report.formula])


@router.get("/{run_id}/summary", response_model=RunSummaryOut,
            summary="The run's production summary: what it made, the verdict against the specification, the "
                    "key tags and the formula against their production means (the batch report's figures)",
            responses=AUTH | R404)
async def summary(request: Request, run_id: RunId, _: auth.CurrentUser = Depends(auth.viewer)) -> RunSummaryOut:
    try:
        return await anyio.to_thread.run_sync(functools.partial(_summary, request, run_id),
                                              limiter=_report_limiter(request))
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found") from None


@router.get("/{run_id}/report.pdf", summary="The batch report as PDF/A-3b, the batch record attached as JSON",
            description="Header, release signatures, formula (setpoint, limits, actual, deviation), step log and "
                        "PackML state timeline, alarms, operator commands, production summary against the "
                        "specification with its deviations, trends of the key tags; every page carries "
                        "\"page n of m\" and the audit trail's head. Rendered on the server, nothing fetched.",
            response_class=Response,
            responses=AUTH | R404 | {200: {"content": {"application/pdf": {}}, "description": "The report"}})
async def report_pdf(request: Request, run_id: RunId, _: auth.CurrentUser = Depends(auth.viewer)) -> Response:
    try:
        pdf = await anyio.to_thread.run_sync(functools.partial(_render, request, run_id),
                                             limiter=_report_limiter(request))
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found") from None
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="run-{run_id}-report.pdf"'})
