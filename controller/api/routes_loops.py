"""Loop faceplates: every loop's mode, setpoint and output; an engineer switches a loop between
auto, manual and off, moves its setpoint or its manual output, with a reason. The runtime checks
the rules (never while outputs are held safe, never past a latched interlock or a hold, within
the measurement's range and the output's limits), logs the action in the run's command log and
the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from controller.api import auth
from controller.api.deps import LineRuntime
from controller.api.errors import AUTH, R404, R409, R503
from controller.api.schemas import LoopOut, LoopRequest

router = APIRouter(prefix="/loops", tags=["loops"])

LoopName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_]+$", description="Loop name")]


@router.get("", response_model=list[LoopOut], summary="Every loop's faceplate: mode, setpoint, output, measurement",
            responses=AUTH | R503)
async def loops(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> list[LoopOut]:
    return [LoopOut(**plate) for plate in await runtime.call("loops")]


@router.post("/{loop}", response_model=LoopOut,
             summary="Set a loop's mode, setpoint or manual output (engineer, with a reason); returns its faceplate",
             responses=AUTH | R404 | R409 | R503)
async def set_loop(loop: LoopName, body: LoopRequest, runtime: LineRuntime,
                   user: auth.CurrentUser = Depends(auth.engineer)) -> LoopOut:
    await runtime.call("set_loop", loop=loop, mode=body.mode, setpoint=body.setpoint, output=body.output,
                       user=user.username, reason=body.reason)
    return next(LoopOut(**plate) for plate in await runtime.call("loops") if plate["loop"] == loop)
