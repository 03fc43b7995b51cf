"""Live line state: every tag with unit, limits, quality and timestamp; device health; the runtime's health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from controller.api import auth
from controller.api.deps import LineRuntime, services
from controller.api.errors import AUTH, R503
from controller.api.runtime import LineConnection
from controller.api.schemas import DeviceHealth, LineHealth, LineState, LineSummary, TagValue
from drivers.transport import Quality

router = APIRouter(tags=["line"])


async def line_state(runtime: LineConnection, only: frozenset[str] | None = None) -> LineState:
    """Every device tag and derived tag (or those in ``only``) with its value and quality from
    the runtime, units and limits from the line's definition."""
    definition = runtime.definition
    live = await runtime.call("tags")
    at = datetime.fromtimestamp(live["scanned_at"], UTC) if live["scanned_at"] is not None else None
    values: dict[str, list[Any]] = live["tags"]
    tags: list[TagValue] = []
    declared = [(f"{d.name}.{t.name}", t) for d in definition.devices for t in d.profile.tags]
    declared += [(d.address, d.tag) for d in definition.derived]
    for address, tag in declared:
        if only is not None and address not in only:
            continue
        value, quality = values.get(address, (None, "bad_comm"))
        tags.append(TagValue(address=address, value=value, unit=tag.unit, direction=tag.direction.value,
                             low=tag.low, high=tag.high, quality=quality, timestamp=at))
    return LineState(state=live["state"], t_s=live["t_s"], scanned_at=at, tags=tags)


@router.get("/lines", response_model=list[LineSummary], summary="The lines this server controls, with their state",
            responses=AUTH)
async def lines(request: Request, _: auth.CurrentUser = Depends(auth.viewer)) -> list[LineSummary]:
    summaries = []
    for line_id, connection in services(request).lines.items():
        status_now = connection.client.status if connection.connected else None
        scanning = bool(status_now and status_now.get("scanning")) and status_now.get("line_id") == line_id
        summaries.append(LineSummary(
            line_id=line_id, endpoint=connection.endpoint, connected=connection.connected, scanning=scanning,
            line_kind=status_now.get("line_kind") if status_now else None,
            state=status_now.get("state") if scanning and status_now else None,
            run_id=status_now.get("run_id") if scanning and status_now else None))
    return summaries


@router.get("/line", response_model=LineState, summary="Live tag values with units, limits, quality and timestamps",
            responses=AUTH | R503)
async def get_line(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> LineState:
    return await line_state(runtime)


@router.get("/line/devices", response_model=list[DeviceHealth], summary="Device health: quality per device",
            responses=AUTH | R503)
async def devices(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> list[DeviceHealth]:
    definition = runtime.definition
    live = await runtime.call("tags")
    quality = {d.name: live["tags"][f"{d.name}.{d.profile.tags[0].name}"][1] for d in definition.devices}
    return [DeviceHealth(device=d.name, kind=d.profile.kind, quality=quality[d.name],
                         healthy=quality[d.name] == Quality.GOOD.value) for d in definition.devices]


@router.get("/line/health", response_model=LineHealth, summary="The line runtime: connected, scanning, scan period "
            "and execution time (min, p50, p99, max), historian backlog", responses=AUTH)
async def health(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> LineHealth:
    if not runtime.connected:
        return LineHealth(connected=False, endpoint=runtime.endpoint, scanning=False)
    report = await runtime.call("health")
    return LineHealth(connected=True, endpoint=runtime.endpoint, scanning=report["scanning"], line_id=report["line_id"],
                      scan=report["scan"], historian=report["historian"])
