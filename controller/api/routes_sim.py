"""Simulator-only fault injection for test engineers (engineer role).

On a plant file (``poreline serve --plant``) there is no simulator: every route answers
409.  The foaming plant knows heater faults only (of the extruder and the die) among the
fault kinds of this API; the others answer 422 naming the line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import db_session, services
from controller.api.errors import AUTH, R404, R409
from controller.api.runtime import LineRuntime
from controller.api.schemas import NAME_PATTERN, FaultKind, FaultRequest, FaultsOut
from controller.store import audit
from simulator.casting.plant import CastingPlant

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant

router = APIRouter(prefix="/sim", tags=["simulator"])
R422 = {422: {"description": "The fault does not fit the device (e.g. a heater fault on a pump)"}}
NO_SIMULATOR = {409: {"model": R409[409]["model"], "description": "No simulator: the line runs on a plant file"}}


def _plant(runtime: LineRuntime) -> SimulatedPlant:
    plant = runtime.plant
    if plant is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"no simulator: the line is the plant of {runtime.plant_file}; faults are for the built-in simulator")
    return plant


@router.get("/faults", response_model=FaultsOut, summary="Active simulator faults", responses=AUTH | NO_SIMULATOR)
async def faults(request: Request, _: auth.CurrentUser = Depends(auth.viewer)) -> FaultsOut:
    return FaultsOut(active=_plant(services(request).runtime).faults.active())


@router.post("/faults", response_model=FaultsOut, status_code=201, summary="Inject a fault into the simulator",
             responses=AUTH | R404 | R422 | NO_SIMULATOR)
async def inject(body: FaultRequest, request: Request, user: auth.CurrentUser = Depends(auth.engineer),
                 session: Session = Depends(db_session)) -> FaultsOut:
    runtime = services(request).runtime
    plant = _plant(runtime)
    plant_faults = plant.faults
    if not runtime.definition.has_device(body.device):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"device: no device {body.device!r}")
    if not isinstance(plant, CastingPlant) and body.kind is not FaultKind.HEATER:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"kind: a {body.kind.value} fault does not exist on the {runtime.definition.kind} line "
                            "(heater faults only)")
    try:
        if body.kind is FaultKind.HEATER:
            plant_faults.fail_heater(body.device)
        elif body.kind is FaultKind.PUMP:
            plant_faults.stall_pump(body.device)
        elif body.kind is FaultKind.BELT:
            plant_faults.stop_belt()
        else:
            if body.tag is None:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "tag: a sensor fault needs a tag")
            plant_faults.freeze_sensor(body.device, body.tag)
    except (KeyError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"device/tag: {exc}") from None
    audit.append(session, user.username, "sim.fault_injected", f"device {body.device}",
                 {"kind": body.kind.value, "tag": body.tag})
    session.commit()
    return FaultsOut(active=plant_faults.active())


@router.delete("/faults", response_model=FaultsOut, summary="Clear the faults of a device (or all)",
               responses=AUTH | R404 | NO_SIMULATOR)
async def clear(request: Request, user: auth.CurrentUser = Depends(auth.engineer),
                session: Session = Depends(db_session),
                device: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN,
                                                    description="Device (all devices when omitted)")] = None,
                tag: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN,
                                                 description="Only this frozen sensor")] = None) -> FaultsOut:
    runtime = services(request).runtime
    plant = _plant(runtime)
    if device is None:
        plant.faults.clear_all()
    else:
        if not runtime.definition.has_device(device):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"device: no device {device!r}")
        if isinstance(plant, CastingPlant):
            plant.faults.clear(device, tag)
        elif tag is None:  # the foaming plant: the faults this API injects are heater faults
            plant.faults.failed_heaters.discard(device)
    audit.append(session, user.username, "sim.fault_cleared", f"device {device or '*'}", {"tag": tag})
    session.commit()
    return FaultsOut(active=plant.faults.active())
