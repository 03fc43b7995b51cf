"""The body of a recipe upload (create a draft, replace a draft's text, validate), in any of
three forms:

- ``application/json``: ``{"yaml_text": ..., "comment": ...}`` as before;
- ``application/yaml`` or ``text/yaml`` (also ``application/x-yaml``, ``text/x-yaml``): the
  recipe text itself;
- ``multipart/form-data``: the recipe file in the field ``file`` (and, on create, the
  text field ``comment``), as a browser form or ``curl -F file=@recipe.yaml`` sends it.

Recipe bytes must be UTF-8: anything else is refused naming the first byte that is not
(422, rule ``recipe.text``), never stored with replacement characters. The body was
already bounded by ``limits.BodyLimit`` before it is read here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import Message
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from controller.api.schemas import RecipeDraftUpdate, RecipeText
from controller.recipe import RecipeError, RecipeInvalid
from controller.recipe.limits import RecipeTextError, decode_recipe_bytes, text_problem

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"})
MULTIPART = "multipart/form-data"
FILE_FIELD = "file"


@dataclass(frozen=True, slots=True)
class RecipeUpload:
    yaml_text: str
    comment: str | None = None


def media_type(content_type: str | None) -> str:
    """``text/yaml; charset=utf-8`` -> ``text/yaml`` (lower case; "" when absent)."""
    if not content_type:
        return ""
    message = Message()
    message["content-type"] = content_type
    return message.get_content_type() if "/" in content_type else ""


def is_json(media: str) -> bool:
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _invalid(loc: tuple[str | int, ...], kind: str, msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *loc), "msg": msg, "input": None}])


def _validated(model: type[BaseModel], data: object) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None


def _recipe_text(data: bytes) -> str:
    try:
        return decode_recipe_bytes(data)
    except RecipeTextError as exc:
        raise RecipeInvalid([RecipeError("", "recipe.text", str(exc))]) from None


def _json_body(raw: bytes) -> object:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid((), "json_invalid", f"not UTF-8 at byte {exc.start}: send JSON as UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": exc.msg}}]) from None
    except RecursionError:
        raise _invalid((), "json_invalid", "JSON nested too deeply") from None


async def read_recipe_upload(request: Request, model: type[RecipeText] | type[RecipeDraftUpdate]) -> RecipeUpload:
    """The recipe text (and comment) of the request, whichever of the three forms it has;
    422 for a malformed body or a recipe that is not UTF-8, 415 for another media type."""
    media = media_type(request.headers.get("content-type"))
    if is_json(media):
        data = _json_body(await request.body())
        if isinstance(data, dict) and isinstance(data.get("yaml_text"), str):
            problem = text_problem(data["yaml_text"])  # a lone surrogate (\\ud800 in JSON), or too large
            if problem is not None:
                raise RecipeInvalid([RecipeError("yaml_text", "recipe.text", problem)])
        body = _validated(model, data)
    elif media in YAML_TYPES:
        body = _validated(model, {"yaml_text": _recipe_text(await request.body())})
    elif media == MULTIPART:
        async with request.form(max_files=1, max_fields=2) as form:
            upload = form.get(FILE_FIELD)
            if not isinstance(upload, UploadFile):
                raise _invalid((FILE_FIELD,), "missing", f"upload the recipe file as the form field {FILE_FIELD!r}")
            fields: dict[str, object] = {k: v for k, v in form.multi_items() if k != FILE_FIELD}
            fields["yaml_text"] = _recipe_text(await upload.read())
        body = _validated(model, fields)
    else:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            f"Content-Type {media or '(none)'!r} not accepted: send application/json "
                            f"({{\"yaml_text\": ...}}), application/yaml (the recipe text) or {MULTIPART} "
                            f"(the recipe file in the field {FILE_FIELD!r})")
    return RecipeUpload(yaml_text=body.yaml_text, comment=getattr(body, "comment", None))


async def new_recipe_upload(request: Request) -> RecipeUpload:
    """Dependency of POST /recipes: text and comment."""
    return await read_recipe_upload(request, RecipeText)


async def recipe_text_upload(request: Request) -> RecipeUpload:
    """Dependency of PUT /recipes/{id}/versions/{v} and POST /recipes/validate: the text only."""
    return await read_recipe_upload(request, RecipeDraftUpdate)


def openapi_body(model: type[RecipeText] | type[RecipeDraftUpdate]) -> dict[str, Any]:
    """The ``openapi_extra`` documenting the three forms of the body (the route reads the
    body itself, so FastAPI does not describe it)."""
    form_properties: dict[str, Any] = {FILE_FIELD: {"type": "string", "format": "binary",
                                                    "description": "The recipe YAML file (UTF-8)"}}
    if model is RecipeText:
        form_properties["comment"] = {"type": "string", "maxLength": 2000, "description": "Why this version exists"}
    text = {"schema": {"type": "string", "minLength": 1, "description": "The recipe YAML text (UTF-8)"}}
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()},
        "application/yaml": text,
        "text/yaml": text,
        MULTIPART: {"schema": {"type": "object", "properties": form_properties, "required": [FILE_FIELD],
                               "additionalProperties": False}},
    }}}
