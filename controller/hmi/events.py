"""The pages' live parts over Server-Sent Events: each event carries an HTML fragment that
htmx's SSE extension swaps into the element with ``sse-swap="<event>"``.

Every page gets the alarm banner; the overview its status panel, schematic and derived tags;
the run page its status panel and command buttons. A fragment is sent only when it changed
(an unchanged one would take the keyboard focus from a button the operator is on). Like
``GET /stream``, the stream re-checks its session's token every ``token_recheck_s`` and ends
once it stops working."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from controller.api import auth
from controller.api.deps import services
from controller.hmi import pages, session, views
from controller.hmi.pages import templates

router = APIRouter(include_in_schema=False)

Page = Literal["overview", "alarms", "run", "trends", "recipes", "runs"]


def sse(event: str, html: str) -> str:
    data = "\n".join(f"data: {line}" for line in html.strip().splitlines()) or "data: "
    return f"event: {event}\n{data}\n\n"


class ChangedOnly:
    """Remembers what was sent: ``fresh`` keeps the fragments that differ from it."""

    def __init__(self) -> None:
        self._sent: dict[str, str] = {}

    def fresh(self, parts: dict[str, str]) -> list[tuple[str, str]]:
        changed = [(event, html) for event, html in parts.items() if self._sent.get(event) != html]
        self._sent.update(changed)
        return changed


async def fragments(request: Request, user: auth.CurrentUser, page: Page) -> dict[str, str]:
    """The fragments of ``page`` as they are now."""
    runtime = pages.runtime_of(request)
    status, unknown = pages.line_status(runtime)
    ctx: dict[str, Any] = {"banner": pages.banner(status, unknown), "query": "", "status": status,
                           "unknown": unknown, "csrf": session.csrf_for(user.token)}
    out = {"banner": templates.get_template("_banner.html").render(ctx)}
    if status is not None and page in ("overview", "run"):
        ctx |= views.status_view(status)
        out["status"] = templates.get_template("_status.html").render(ctx)
    if status is not None and page == "overview":
        try:
            ctx |= await views.overview_view(runtime, status)
        except HTTPException:
            return out  # the runtime went away meanwhile: the banner says so on the next event
        out["schematic"] = templates.get_template("_schematic.html").render(ctx)
        out["derived"] = templates.get_template("_derived.html").render(ctx)
    if page == "run":
        ctx |= views.commands_view(status, pages.may(user, "operator"))
        out["commands"] = templates.get_template("_commands.html").render(ctx)
    return out


async def _events(request: Request, user: auth.CurrentUser, page: Page, interval_s: float,
                  max_events: int | None) -> AsyncIterator[str]:
    svc = services(request)
    loop = asyncio.get_running_loop()
    recheck_at = loop.time() + svc.settings.token_recheck_s
    sent = ChangedOnly()
    ticks = 0
    while max_events is None or ticks < max_events:
        if await request.is_disconnected():
            return
        for event, html in sent.fresh(await fragments(request, user, page)):
            yield sse(event, html)
        ticks += 1
        if loop.time() >= recheck_at:
            try:
                await auth.check_token(svc, user.token)
            except auth.TokenRefused:
                svc.forget_token(user.token)
                return  # the browser reconnects, is refused, and the next page load asks for a login
            recheck_at = loop.time() + svc.settings.token_recheck_s
        await asyncio.sleep(interval_s)


@router.get("/hmi/events")
async def events(request: Request, page: Page = "overview",
                 interval_s: Annotated[float, Query(ge=0.1, le=60, allow_inf_nan=False)] = 1.0,
                 max_events: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> StreamingResponse:
    user = await session.signed_in(request)
    return StreamingResponse(_events(request, user, page, interval_s, max_events), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})
