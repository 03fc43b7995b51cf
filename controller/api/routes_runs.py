"""Runs: start a released recipe version, PackML commands, the current run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, status
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import LineRuntime, db_session
from controller.api.errors import AUTH, R404, R409_STATE, R422_RECIPE
from controller.api.schemas import CommandAccepted, CommandBody, RunCommandName, RunStart, RunStatus
from controller.api.validation import compile_recipe_text, for_version
from controller.recipe.adjust import Adjustment, AdjustmentRefused, adjusted_text
from controller.store import RecipeState, audit, recipes, role_allows

router = APIRouter(prefix="/runs", tags=["runs"])


def _may_run(role: str, state: str) -> str | None:
    """Why ``role`` may not run a version in ``state`` (None: allowed)."""
    if state == RecipeState.RELEASED_FOR_PRODUCTION.value:
        return None
    if state == RecipeState.RELEASED_FOR_TESTING.value:
        return None if role_allows(role, "engineer") else (
            "only engineers may run a version released for testing; operators need one released for production")
    return f"a {state} version cannot be run; release it first"


@router.post("", response_model=RunStatus, status_code=202,
             summary="Start a released recipe version (operators: released_for_production; engineers also "
                     "released_for_testing, and may adjust formula parameters within the master recipe's limits); "
                     "refused (409) when the text is not the text its release signed",
             responses=AUTH | R404 | R409_STATE | R422_RECIPE)
async def start_run(body: RunStart, runtime: LineRuntime, user: auth.CurrentUser = Depends(auth.operator),
                    session: Session = Depends(db_session)) -> RunStatus:
    version = recipes.get_version(session, body.recipe_id, body.version)
    why_not = _may_run(user.role, version.state)
    if why_not is not None:
        code = status.HTTP_403_FORBIDDEN if version.state == RecipeState.RELEASED_FOR_TESTING.value else status.HTTP_409_CONFLICT
        raise HTTPException(code, f"version: {why_not}")
    tampered = recipes.unsigned_content(version)
    if tampered is not None:  # nothing is opened: the refusal is audited and answered
        audit.append(session, user.username, "run.start_refused", f"recipe {version.recipe_id} v{version.version}",
                     {"why": tampered, "sha256": recipes.content_sha256(version.yaml_text)})
        session.commit()
        raise HTTPException(status.HTTP_409_CONFLICT, f"version: {tampered}")
    text, adjustments = version.yaml_text, tuple[Adjustment, ...]()
    if body.adjustments:
        if not role_allows(user.role, "engineer"):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "adjustments: only engineers adjust a run's formula")
        try:
            text, adjustments = adjusted_text(version.yaml_text, body.adjustments)
        except AdjustmentRefused as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"adjustments: {exc}") from None
    compiled, _ = compile_recipe_text(text)
    session.commit()  # no transaction (and no SQLite write lock) held while the runtime opens the run's record
    started = await runtime.start_run(for_version(compiled, version.version), user.username, body.reason,
                                      {"recipe_state": version.state},  # the runtime audits it with the run
                                      released_for_line=version.released_for_line, adjustments=adjustments)
    return RunStatus(**started)


@router.get("/current", response_model=RunStatus, summary="The current run: state, step, alarms", responses=AUTH)
async def current_run(runtime: LineRuntime, _: auth.CurrentUser = Depends(auth.viewer)) -> RunStatus:
    return RunStatus(**runtime.status())


@router.post("/current/{command}", response_model=CommandAccepted, status_code=202,
             summary="Command the current run (hold, unhold, stop, abort, reset, ...); 409 with the state when it does not fit",
             responses=AUTH | R409_STATE)
async def command_run(command: Annotated[RunCommandName, Path(description="PackML command")], runtime: LineRuntime,
                      user: auth.CurrentUser = Depends(auth.operator),
                      body: CommandBody | None = None) -> CommandAccepted:
    body = body or CommandBody()
    result = await runtime.call("command", command=command.value, user=user.username,
                                reason=body.reason)  # acted on and audited by the runtime
    return CommandAccepted(command=command.value, target_state=result["target_state"], state=result["state"])
