"""The loop faceplates page: every loop's mode, setpoint, measurement and output in display
units, and for engineers a form per loop (mode, setpoint, manual output, reason) that goes
through the API's ``POST /loops/{loop}`` function: the runtime's rules, audit and refusals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from controller.api import auth, routes_loops
from controller.api.routes_loops import LoopName
from controller.api.runtime import LineConnection
from controller.api.schemas import LoopOut, LoopRequest
from controller.hmi import pages, session
from controller.hmi.pages import templates
from controller.hmi.routes import Csrf, Text, act
from drivers.display import display_unit, format_value, label

router = APIRouter(include_in_schema=False)
MODES = ("auto", "manual", "off")


@dataclass(frozen=True, slots=True)
class FaceplateView:
    plate: LoopOut
    label: str
    measurement: str  # value in display units
    setpoint: str
    output: str
    measurement_unit: str
    output_unit: str


def _faceplates(plates: list[LoopOut], runtime: LineConnection) -> list[FaceplateView]:
    definition = runtime.definition
    views = []
    for p in plates:
        measured, output = definition.tag(p.measurement), definition.tag(p.output_address)
        views.append(FaceplateView(
            plate=p, label=label(p.loop), measurement=format_value(p.measurement_value, measured),
            setpoint=format_value(p.setpoint, measured), output=format_value(p.output, output),
            measurement_unit=display_unit(p.measurement_unit), output_unit=display_unit(p.output_unit)))
    return views


async def _loops_page(request: Request, user: auth.CurrentUser, message: str | None = None,
                      error: pages.Refusal | None = None) -> HTMLResponse:
    ctx = pages.context(request, user, "loops", message=message, error=error, modes=MODES)
    runtime = pages.runtime_of(request)
    ctx["faceplates"] = _faceplates(await routes_loops.loops(runtime, user), runtime) \
        if ctx["status"] is not None else []
    return templates.TemplateResponse(request, "loops.html", ctx,
                                      status_code=error.status_code if error is not None else 200)


@router.get("/hmi/loops", response_class=HTMLResponse)
async def loops(request: Request) -> HTMLResponse:
    return await _loops_page(request, await session.signed_in(request))


def _number(field: str, text: str) -> float | None:
    """A form's number ("" for none)."""
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{field}: not a number") from None


@router.post("/hmi/loops/{loop}", response_class=HTMLResponse)
async def set_loop(request: Request, loop: LoopName, mode: Annotated[str, Form(max_length=10)],
                   setpoint: Annotated[str, Form(max_length=40)] = "", output: Annotated[str, Form(max_length=40)] = "",
                   reason: Text = "", csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        body = LoopRequest.model_validate({"mode": mode, "setpoint": _number("setpoint", setpoint),
                                           "output": _number("output", output) if mode == "manual" else None,
                                           "reason": reason.strip()})
        done = await routes_loops.set_loop(loop, body, pages.runtime_of(request), user)
        return f"loop {loop}: {done.mode}, setpoint {done.setpoint:g}, output {done.output:g}"

    return await act(request, csrf_token, "engineer", work, _loops_page)
