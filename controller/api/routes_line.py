"""Live line state: every tag with unit, limits, quality and timestamp; device health."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from controller.api import auth
from controller.api.deps import services
from controller.api.errors import AUTH
from controller.api.runtime import LineRuntime
from controller.api.schemas import DeviceHealth, LineState, TagValue
from drivers.transport import Quality

router = APIRouter(prefix="/line", tags=["line"])
NOT_COMPUTED = "not_computed"  # a derived tag no soft sensor of this run computes


def line_state(runtime: LineRuntime, only: frozenset[str] | None = None) -> LineState:
    engine = runtime.engine
    image = engine.image
    quality = engine.quality
    at = runtime.scanned_at
    tags: list[TagValue] = []
    for device in runtime.definition.devices:
        q = quality[device.name].value
        for tag in device.profile.tags:
            address = f"{device.name}.{tag.name}"
            if only is not None and address not in only:
                continue
            tags.append(TagValue(address=address, value=image.get(address), unit=tag.unit,
                                 direction=tag.direction.value, low=tag.low, high=tag.high,
                                 quality=q, timestamp=at))
    computed = set(engine.derived_addresses)
    for derived in runtime.definition.derived:  # computed by the soft sensors of the run (else no value)
        address = derived.address
        if only is not None and address not in only:
            continue
        tag = derived.tag
        tags.append(TagValue(address=address, value=image.get(address), unit=tag.unit,
                             direction=tag.direction.value, low=tag.low, high=tag.high,
                             quality=Quality.GOOD.value if address in computed else NOT_COMPUTED,
                             timestamp=at))
    return LineState(state=engine.state.value, t_s=engine.clock.now_s(), scanned_at=at, tags=tags)


@router.get("", response_model=LineState, summary="Live tag values with units, limits, quality and timestamps",
            responses=AUTH)
async def get_line(request: Request, _: auth.CurrentUser = Depends(auth.viewer)) -> LineState:
    return line_state(services(request).runtime)


@router.get("/devices", response_model=list[DeviceHealth], summary="Device health: quality per device",
            responses=AUTH)
async def devices(request: Request, _: auth.CurrentUser = Depends(auth.viewer)) -> list[DeviceHealth]:
    runtime = services(request).runtime
    quality = runtime.engine.quality
    return [DeviceHealth(device=d.name, kind=d.profile.kind, quality=quality[d.name].value,
                         healthy=quality[d.name] is Quality.GOOD) for d in runtime.definition.devices]
