"""Simulator-only fault injection for test engineers (engineer role).

The faults offered are exactly those of the running line's simulated plant
(``plant.faults.offered``, declared per line kind in ``simulator``): ``GET /sim/faults``
lists them with the devices of this line each applies to. On a plant file
(``poreline serve --plant``) there is no simulator: every route answers 409."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from controller.api import auth
from controller.api.deps import LineRuntime
from controller.api.errors import AUTH, R404, R409, R503
from controller.api.schemas import NAME_PATTERN, FaultRequest, FaultsOut

router = APIRouter(prefix="/sim", tags=["simulator"])
R422 = {422: {"description": "The fault does not fit: a kind the line's simulator does not offer, a device it "
                             "does not apply to, a missing or superfluous tag"}}
NO_SIMULATOR = {409: {"model": R409[409]["model"], "description": "No simulator: the line runs on a plant file"}}


@router.get("/faults", response_model=FaultsOut, summary="Active and offered simulator faults",
            responses=AUTH | NO_SIMULATOR | R503)
async def faults(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> FaultsOut:
    return FaultsOut(**await runtime.call("faults"))


@router.post("/faults", response_model=FaultsOut, status_code=201, summary="Inject a fault into the simulator",
             responses=AUTH | R404 | R422 | NO_SIMULATOR | R503)
async def inject(body: FaultRequest, runtime: LineRuntime, user: auth.CurrentUser = Depends(auth.engineer)) -> FaultsOut:
    return FaultsOut(**await runtime.call("inject_fault", kind=body.kind, device=body.device,
                                          tag=body.tag, user=user.username))


@router.delete("/faults", response_model=FaultsOut, summary="Clear the faults of a device (or all)",
               responses=AUTH | R404 | R422 | NO_SIMULATOR | R503)
async def clear(runtime: LineRuntime, user: auth.CurrentUser = Depends(auth.engineer),
                device: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN,
                                                    description="Device (all devices when omitted)")] = None,
                tag: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN,
                                                 description="Only this frozen sensor of the device")] = None) -> FaultsOut:
    return FaultsOut(**await runtime.call("clear_faults", device=device, tag=tag,
                                          user=user.username))
