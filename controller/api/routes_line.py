"""Live line state: every tag with unit, limits, quality and timestamp; device health; the runtime's health."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request

from controller.api import auth
from controller.api.deps import LineRuntime, services
from controller.api.errors import AUTH, R409, R503
from controller.api.runtime import LineConnection
from controller.api.schemas import (
    DeviceHealth,
    DeviceTags,
    LineHealth,
    LineState,
    LineSummary,
    MeasuredTag,
    RunStatus,
    TagValue,
    UnitModeRequest,
)
from controller.report.analysis import device_pairs, setpoint_pairs
from drivers import display
from drivers.definition import DeviceSpec, LineDefinition
from drivers.profiles import Direction, Tag
from drivers.transport import Quality

router = APIRouter(tags=["line"])


def _tag_value(address: str, tag: Tag, live: dict[str, Any], at: datetime | None, model: type[TagValue] = TagValue,
               **extra: Any) -> Any:
    value, quality = live["tags"].get(address, (None, "bad_comm"))
    return model(address=address, label=display.label(tag.name, tag.unit), value=value,
                 display=display.format_value(value, tag), unit=tag.unit,
                 display_unit=display.shown_unit(tag),
                 resolution=display.resolution(tag), direction=tag.direction.value, low=tag.low,
                 high=tag.high, quality=quality, timestamp=at, **extra)


def _scanned_at(live: dict[str, Any]) -> datetime | None:
    return datetime.fromtimestamp(live["scanned_at"], UTC) if live["scanned_at"] is not None else None


async def tag_values(runtime: LineConnection, only: frozenset[str]) -> list[TagValue]:
    """The device and derived tags in ``only`` with their values and quality from the runtime."""
    definition = runtime.definition
    live = await runtime.call("tags")
    at = _scanned_at(live)
    return [_tag_value(address, definition.tag(address), live, at) for address in definition.addresses()
            if address in only]


def _device_tags(device: DeviceSpec, definition: LineDefinition, pairs: dict[str, str], live: dict[str, Any],
                 at: datetime | None) -> DeviceTags:
    tags = {f"{device.name}.{t.name}": t for t in device.profile.tags}
    own = device_pairs(tags, pairs)
    measurements = [
        _tag_value(address, tag, live, at, model=MeasuredTag,
                   setpoint=_tag_value(own[address], tags[own[address]], live, at) if address in own else None)
        for address, tag in tags.items() if tag.direction in (Direction.MEASURED, Direction.STATUS)]
    return DeviceTags(
        device=device.name, label=display.label(device.name), kind=device.profile.kind,
        quality=live["tags"].get(f"{device.name}.{device.profile.tags[0].name}", (None, "bad_comm"))[1],
        measurements=measurements,
        setpoints=[_tag_value(a, t, live, at) for a, t in tags.items()
                   if t.direction is Direction.SETPOINT and a not in own.values()],
        commands=[_tag_value(a, t, live, at) for a, t in tags.items() if t.direction is Direction.COMMAND],
        derived=[_tag_value(d.address, d.tag, live, at) for d in definition.derived if d.device == device.name])


async def line_state(runtime: LineConnection) -> LineState:
    """Every device in process order with its tags, each measurement paired with the setpoint
    that sets it; values and quality from the runtime, units, resolution and limits from the
    line's definition."""
    kind = runtime.kind
    definition = runtime.definition
    live = await runtime.call("tags")
    at = _scanned_at(live)
    pairs = setpoint_pairs(definition, kind.report_trends)
    ordered = [name for stage in kind.process_stages(definition) for name in stage]
    ordered += [d.name for d in definition.devices if d.name not in ordered]
    return LineState(state=live["state"], t_s=live["t_s"], scanned_at=at,
                     devices=[_device_tags(definition.device(name), definition, pairs, live, at) for name in ordered])


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


@router.get("/line", response_model=LineState,
            summary="Live tag values device by device in process order, each measurement with its setpoint; units, "
                    "display units, resolution, limits, quality and timestamps",
            responses=AUTH | R503)
async def get_line(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> LineState:
    return await line_state(runtime)


@router.post("/line/mode", response_model=RunStatus,
             summary="Change the PackML unit mode (engineer, with a reason), where no run executes (Idle, Stopped, "
                     "Aborted, Complete); returns the unit's status", responses=AUTH | R409 | R503)
async def set_unit_mode(body: UnitModeRequest, runtime: LineRuntime,
                        user: auth.CurrentUser = Depends(auth.engineer)) -> RunStatus:
    return RunStatus(**await runtime.call("set_unit_mode", mode=body.mode, user=user.username, reason=body.reason))


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
