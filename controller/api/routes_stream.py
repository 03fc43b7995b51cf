"""Server-Sent Events: state, step, alarms and selected tags, once per interval."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from controller.api import auth
from controller.api.deps import LineRuntime
from controller.api.errors import AUTH
from controller.api.routes_line import line_state
from controller.api.runtime import LineConnection

router = APIRouter(tags=["stream"])


async def _events(request: Request, runtime: LineConnection, tags: frozenset[str] | None,
                  interval_s: float, max_events: int | None) -> AsyncIterator[str]:
    sent = 0
    while max_events is None or sent < max_events:
        if await request.is_disconnected():
            return
        if not runtime.connected:
            yield f"id: {sent}\nevent: disconnected\ndata: {json.dumps({'endpoint': runtime.endpoint})}\n\n"
            sent += 1
            await asyncio.sleep(interval_s)
            continue
        status = runtime.status()
        live = await line_state(runtime, tags if tags is not None else frozenset())
        payload = {
            "state": status["state"], "run_id": status["run_id"], "step_name": status["step_name"],
            "step_index": status["step_index"], "t_s": status["t_s"], "alarms": status["alarms"],
            "tags": {t.address: {"value": t.value, "unit": t.unit, "quality": t.quality} for t in live.tags},
        }
        yield f"id: {sent}\nevent: status\ndata: {json.dumps(payload)}\n\n"
        sent += 1
        await asyncio.sleep(interval_s)


@router.get("/stream", summary="Server-Sent Events of state, step, alarms and the selected tags",
            response_class=StreamingResponse,
            responses=AUTH | {200: {"content": {"text/event-stream": {}}, "description": "event: status, data: JSON"}})
async def stream(
    request: Request,
    runtime: LineRuntime,
    _: auth.CurrentUser = Depends(auth.viewer),
    tags: Annotated[str | None, Query(max_length=4000, description="Comma-separated device.tag list")] = None,
    interval_s: Annotated[float, Query(ge=0.05, le=60, allow_inf_nan=False, description="Seconds between events")] = 1.0,
    max_events: Annotated[int | None, Query(ge=1, le=1_000_000, description="Close after this many events")] = None,
) -> StreamingResponse:
    selected = frozenset(t.strip() for t in tags.split(",") if t.strip()) if tags else None
    return StreamingResponse(_events(request, runtime, selected, interval_s, max_events),
                             media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
