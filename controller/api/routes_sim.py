"""Simulator-only fault injection for test engineers (engineer role).

The faults offered are exactly those of the running line's simulated plant
(``plant.faults.offered``, declared per line kind in ``simulator``): ``GET /sim/faults``
lists them with the devices of this line each applies to. On a plant file
(``poreline serve --plant``) there is no simulator: every route answers 409."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import db_session, services
from controller.api.errors import AUTH, R404, R409
from controller.api.runtime import LineRuntime
from controller.api.schemas import NAME_PATTERN, FaultOffered, FaultRequest, FaultsOut
from controller.store import audit

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant

router = APIRouter(prefix="/sim", tags=["simulator"])
R422 = {422: {"description": "The fault does not fit: a kind the line's simulator does not offer, a device it "
                             "does not apply to, a missing or superfluous tag"}}
NO_SIMULATOR = {409: {"model": R409[409]["model"], "description": "No simulator: the line runs on a plant file"}}


def _plant(runtime: LineRuntime) -> SimulatedPlant:
    plant = runtime.plant
    if plant is None:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"no simulator: the line is the plant of {runtime.plant_file}; faults are for the built-in simulator")
    return plant


def _faults_out(plant: SimulatedPlant) -> FaultsOut:
    faults = plant.faults
    return FaultsOut(active=faults.active(),
                     offered=[FaultOffered(kind=spec.kind, description=spec.description,
                                           devices=faults.devices_for(spec.kind), needs_tag=spec.needs_tag)
                              for spec in faults.offered])


def _message(exc: KeyError | ValueError) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


@router.get("/faults", response_model=FaultsOut, summary="Active and offered simulator faults",
            responses=AUTH | NO_SIMULATOR)
async def faults(request: Request, _: auth.CurrentUser = Depends(auth.viewer)) -> FaultsOut:
    return _faults_out(_plant(services(request).runtime))


@router.post("/faults", response_model=FaultsOut, status_code=201, summary="Inject a fault into the simulator",
             responses=AUTH | R404 | R422 | NO_SIMULATOR)
async def inject(body: FaultRequest, request: Request, user: auth.CurrentUser = Depends(auth.engineer),
                 session: Session = Depends(db_session)) -> FaultsOut:
    runtime = services(request).runtime
    plant = _plant(runtime)
    if not runtime.definition.has_device(body.device):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"device: no device {body.device!r}")
    try:
        plant.faults.inject(body.kind, body.device, body.tag)
    except ValueError as exc:  # the message names the field and what would fit
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _message(exc)) from None
    except KeyError as exc:  # the device exists (checked above): the tag does not
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"tag: {_message(exc)}") from None
    audit.append(session, user.username, "sim.fault_injected", f"device {body.device}",
                 {"kind": body.kind, "tag": body.tag})
    session.commit()
    return _faults_out(plant)


@router.delete("/faults", response_model=FaultsOut, summary="Clear the faults of a device (or all)",
               responses=AUTH | R404 | R422 | NO_SIMULATOR)
async def clear(request: Request, user: auth.CurrentUser = Depends(auth.engineer),
                session: Session = Depends(db_session),
                device: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN,
                                                    description="Device (all devices when omitted)")] = None,
                tag: Annotated[str | None, Query(max_length=64, pattern=NAME_PATTERN,
                                                 description="Only this frozen sensor of the device")] = None) -> FaultsOut:
    runtime = services(request).runtime
    plant = _plant(runtime)
    if device is not None and not runtime.definition.has_device(device):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"device: no device {device!r}")
    try:
        plant.faults.clear(device, tag)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, _message(exc)) from None
    audit.append(session, user.username, "sim.fault_cleared", f"device {device or '*'}", {"tag": tag})
    session.commit()
    return _faults_out(plant)
