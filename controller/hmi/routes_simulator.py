"""The simulator page, for test engineers on the built-in simulator: the faults it offers and
those active; engineers inject and clear them through the API's ``/sim/faults`` functions (their
checks and audit). On a plant file there is no simulator and the page says so."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from controller.api import auth, routes_sim
from controller.api.runtime import RuntimeAnswer
from controller.api.schemas import FaultRequest, FaultsOut
from controller.hmi import pages, session
from controller.hmi.pages import templates
from controller.hmi.routes import Csrf, act

router = APIRouter(include_in_schema=False)
Name = Annotated[str, Form(max_length=64)]


async def _simulator_page(request: Request, user: auth.CurrentUser, message: str | None = None,
                          error: pages.Refusal | None = None) -> HTMLResponse:
    ctx = pages.context(request, user, "simulator", message=message, error=error, faults=None, no_simulator=None)
    if ctx["status"] is not None:
        try:
            ctx["faults"] = await routes_sim.faults(pages.runtime_of(request), user)
        except RuntimeAnswer as exc:  # 409: a plant file, no simulator
            ctx["no_simulator"] = exc.detail
    return templates.TemplateResponse(request, "simulator.html", ctx,
                                      status_code=error.status_code if error is not None else 200)


@router.get("/hmi/simulator", response_class=HTMLResponse)
async def simulator(request: Request) -> HTMLResponse:
    return await _simulator_page(request, await session.signed_in(request))


def _active(faults: FaultsOut) -> str:
    return ", ".join(faults.active) or "none"


@router.post("/hmi/simulator/faults", response_class=HTMLResponse)
async def inject(request: Request, kind: Name, device: Name, tag: Name = "", csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        body = FaultRequest(kind=kind, device=device, tag=tag.strip() or None)
        done = await routes_sim.inject(body, pages.runtime_of(request), user)
        return f"fault {kind} injected on {device}; active: {_active(done)}"

    return await act(request, csrf_token, "engineer", work, _simulator_page)


@router.post("/hmi/simulator/clear", response_class=HTMLResponse)
async def clear(request: Request, csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        done = await routes_sim.clear(pages.runtime_of(request), user, device=None, tag=None)
        return f"faults cleared; active: {_active(done)}"

    return await act(request, csrf_token, "engineer", work, _simulator_page)
