"""Error responses: the OpenAPI ``responses=`` of the routes and the exception handlers
that turn domain exceptions into 4xx answers (never a 5xx for a bad request). A 422 for
a malformed request never echoes a secret field (a password, a token) and cuts what it
echoes of other input short."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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
R413: dict[int | str, dict[str, Any]] = {413: {"model": ErrorResponse, "description": "Request body over the size limit"}}
R415: dict[int | str, dict[str, Any]] = {
    415: {"model": ErrorResponse, "description": "Content-Type not accepted (the answer names those that are)"}
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


def detail_status(exc: Exception) -> int | None:
    """The status the API answers a domain error with (None: not one of them); the HMI shows
    its refusals with the same."""
    return next((code for kind, code in _DETAIL_STATUS.items() if isinstance(exc, kind)), None)


def _detail_handler(status_code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_r: Request, exc: Exception) -> JSONResponse:
        return _json(status_code, {"detail": str(exc)})

    return handler


# ------------------------------------------------------------ validation errors (422)
# A field whose name says it holds a secret: its value is never echoed, nor is a raw body.
SECRET_NAME = re.compile(r"pass|secret|key|token|authori[sz]ation|cookie|credential", re.IGNORECASE)
MAX_ECHO_CHARS = 200
_HIDDEN = "[hidden]"


def is_secret_name(name: object) -> bool:
    return isinstance(name, str) and SECRET_NAME.search(name) is not None


def _truncated(text: str) -> str:
    return text if len(text) <= MAX_ECHO_CHARS else f"{text[:MAX_ECHO_CHARS]}... ({len(text)} characters)"


def _redacted(value: Any) -> Any:
    """``value`` with the values of secret-named keys hidden, at any depth."""
    if isinstance(value, Mapping):
        return {k: _HIDDEN if is_secret_name(k) else _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
    return value


def echoed_input(value: Any) -> Any:
    """What a 422 may show of a submitted value: numbers, booleans and None as they are,
    text cut to ``MAX_ECHO_CHARS``, objects and lists (secret keys hidden) as JSON text cut
    the same way, raw bytes not at all."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _truncated(value)
    if isinstance(value, (bytes, bytearray)):
        return _HIDDEN
    try:
        return _truncated(json.dumps(_redacted(value), ensure_ascii=False, default=str))
    except (TypeError, ValueError):
        return _HIDDEN


def safe_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """The ``detail`` list of a 422, rebuilt from the validation errors: ``type``, ``loc``,
    ``msg`` and ``ctx`` (text cut short), and ``input`` only where it cannot hold a
    secret: not for a field named like one (password, token, key, secret...), not for a
    whole body of the wrong shape (it may be a login sent as text, or a list)."""
    out: list[dict[str, Any]] = []
    for error in errors:
        loc = [part if isinstance(part, (int, str)) else str(part) for part in error.get("loc", ())]
        item: dict[str, Any] = {"type": str(error.get("type", "")), "loc": loc,
                                "msg": _truncated(str(error.get("msg", "")))}
        secret = any(is_secret_name(part) for part in loc)
        ctx = error.get("ctx")
        if isinstance(ctx, Mapping):  # bounds (max_length...) and parser messages; for a secret only numbers
            item["ctx"] = {str(k): v if isinstance(v, (bool, int, float)) else _truncated(str(v))
                           for k, v in ctx.items() if not secret or isinstance(v, (bool, int, float))}
        whole_body = len(loc) <= 1  # a body of the wrong shape: it may be a login sent as text or a list
        if "input" in error and not secret and not whole_body:
            item["input"] = echoed_input(error["input"])
        out.append(item)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_r: Request, exc: RequestValidationError) -> JSONResponse:
        return _json(422, {"detail": safe_validation_errors(exc.errors())})

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
