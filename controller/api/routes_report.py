"""The batch report of a run as PDF (PDF/A-3b with the batch record attached as JSON)."""

from __future__ import annotations

import functools

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status

from controller.api import auth
from controller.api.deps import services
from controller.api.errors import AUTH, R404
from controller.api.routes_history import RunId

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
