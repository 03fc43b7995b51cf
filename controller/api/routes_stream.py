"""Server-Sent Events: state, step, alarms and selected tags, once per interval.

The stream re-checks its bearer token every ``token_recheck_s`` (settings) and ends with an
``event: end`` naming the reason once the token is revoked, expired or idle, or its user
deactivated: a stream never outlives the access it was opened with.  The re-checks count as
uses of the token (an open stream is a screen in use), so it does not idle out meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from controller.api import auth
from controller.api.deps import LineRuntime, Services, services
from controller.api.errors import AUTH
from controller.api.routes_line import tag_values
from controller.api.runtime import LineConnection

router = APIRouter(tags=["stream"])


async def _token_refusal(svc: Services, token: str) -> str | None:
    """Why ``token`` no longer works, or None while it does."""
    try:
        await auth.check_token(svc, token)
    except auth.TokenRefused as exc:
        svc.forget_token(token)
        return str(exc)
    return None


async def _events(request: Request, runtime: LineConnection, tags: frozenset[str] | None,
                  interval_s: float, max_events: int | None, token: str) -> AsyncIterator[str]:
    svc = services(request)
    loop = asyncio.get_running_loop()
    recheck_s = svc.settings.token_recheck_s
    recheck_at = loop.time() + recheck_s
    sent = 0
    while max_events is None or sent < max_events:
        if await request.is_disconnected():
            return
        if not runtime.connected:
            yield f"id: {sent}\nevent: disconnected\ndata: {json.dumps({'endpoint': runtime.endpoint})}\n\n"
        else:
            status = runtime.status()
            live = await tag_values(runtime, tags if tags is not None else frozenset())
            payload = {
                "state": status["state"], "run_id": status["run_id"], "step_name": status["step_name"],
                "step_index": status["step_index"], "t_s": status["t_s"], "alarms": status["alarms"],
                "tags": {t.address: {"value": t.value, "unit": t.unit, "quality": t.quality} for t in live},
            }
            yield f"id: {sent}\nevent: status\ndata: {json.dumps(payload)}\n\n"
        sent += 1
        next_event_at = loop.time() + interval_s
        while (now := loop.time()) < next_event_at or now >= recheck_at:  # wait, re-checking the token when due
            if now >= recheck_at:
                refusal = await _token_refusal(svc, token)
                if refusal is not None:
                    yield f"id: {sent}\nevent: end\ndata: {json.dumps({'reason': refusal})}\n\n"
                    return
                recheck_at = loop.time() + recheck_s
                continue
            await asyncio.sleep(min(next_event_at, recheck_at) - now)


@router.get("/stream", summary="Server-Sent Events of state, step, alarms and the selected tags",
            response_class=StreamingResponse,
            responses=AUTH | {200: {"content": {"text/event-stream": {}},
                                    "description": "event: status, data: JSON; event: end, data: {reason} when the "
                                                   "token stops working (revoked, expired, idle, user deactivated)"}})
async def stream(
    request: Request,
    runtime: LineRuntime,
    user: auth.CurrentUser = Depends(auth.viewer),
    tags: Annotated[str | None, Query(max_length=4000, description="Comma-separated device.tag list")] = None,
    interval_s: Annotated[float, Query(ge=0.05, le=60, allow_inf_nan=False, description="Seconds between events")] = 1.0,
    max_events: Annotated[int | None, Query(ge=1, le=1_000_000, description="Close after this many events")] = None,
) -> StreamingResponse:
    selected = frozenset(t.strip() for t in tags.split(",") if t.strip()) if tags else None
    return StreamingResponse(_events(request, runtime, selected, interval_s, max_events, user.token),
                             media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
