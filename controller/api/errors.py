"""Error responses: the OpenAPI ``responses=`` of the routes and the exception handlers
that turn domain exceptions into 4xx answers (never a 5xx for a bad request)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError

from controller.api.runtime import RuntimeAnswer
from controller.api.schemas import ErrorResponse, RecipeInvalidResponse, StateConflict
from controller.recipe import RecipeInvalid
from controller.store import (
    ImmutableVersionError,
    InvalidAlarmTransitionError,
    InvalidTransitionError,
    NotFoundError,
    SameAuthorError,
    SignatureRequiredError,
)

log = logging.getLogger(__name__)

R401: dict[int | str, dict[str, Any]] = {401: {"model": ErrorResponse, "description": "No or invalid bearer token"}}
R403: dict[int | str, dict[str, Any]] = {403: {"model": ErrorResponse, "description": "Role not allowed"}}
R404: dict[int | str, dict[str, Any]] = {404: {"model": ErrorResponse, "description": "No such object"}}
R409: dict[int | str, dict[str, Any]] = {409: {"model": ErrorResponse, "description": "Conflicts with the current state"}}
R409_STATE: dict[int | str, dict[str, Any]] = {
    409: {"model": StateConflict, "description": "The command does not fit the current PackML state"}
}
R503: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "The line runtime is not connected (its state is unknown)"}
}
R422_RECIPE: dict[int | str, dict[str, Any]] = {
    422: {"model": RecipeInvalidResponse, "description": "Invalid recipe or request (errors name the field)"}
}
AUTH = R401 | R403


def _json(status_code: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(status_code=status_code, content=body)


def recipe_invalid_body(exc: RecipeInvalid) -> dict[str, Any]:
    return {
        "detail": f"recipe invalid: {len(exc.errors)} error(s)",
        "errors": [{"field": e.field, "rule": e.rule, "message": e.message, "severity": e.severity} for e in exc.errors],
    }


# domain errors whose message is the whole answer: {"detail": str(exc)} with this status
_DETAIL_STATUS: dict[type[Exception], int] = {
    NotFoundError: 404,
    SameAuthorError: 403,
    SignatureRequiredError: 403,
    ImmutableVersionError: 409,
    InvalidTransitionError: 409,
    InvalidAlarmTransitionError: 409,
}


def _detail_handler(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_r: Request, exc: Exception) -> JSONResponse:
        return _json(status_code, {"detail": str(exc)})

    return handler


def install(app: FastAPI) -> None:
    @app.exception_handler(RuntimeAnswer)
    async def _runtime(_r: Request, exc: RuntimeAnswer) -> JSONResponse:
        body: dict[str, Any] = {"detail": exc.detail}
        if exc.state is not None:
            body["state"] = exc.state
        return _json(exc.status_code, body)

    @app.exception_handler(RecipeInvalid)
    async def _invalid(_r: Request, exc: RecipeInvalid) -> JSONResponse:
        return _json(422, recipe_invalid_body(exc))

    for error, status_code in _DETAIL_STATUS.items():
        app.add_exception_handler(error, _detail_handler(status_code))

    @app.exception_handler(DataError)
    async def _data(_r: Request, exc: DataError) -> JSONResponse:
        return _json(422, {"detail": f"a value cannot be stored: {exc.orig}"})

    @app.exception_handler(IntegrityError)
    async def _integrity(_r: Request, exc: IntegrityError) -> JSONResponse:
        return _json(409, {"detail": f"conflicts with stored data: {exc.orig}"})
