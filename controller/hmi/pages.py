"""What every page of the HMI is rendered with: the user, the CSRF token, the line's status and
the alarm banner; a refusal as the page shows it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates

from controller.api import auth
from controller.api.deps import services
from controller.api.errors import detail_status
from controller.api.runtime import LineConnection, RuntimeAnswer
from controller.hmi import display, session
from controller.recipe import RecipeInvalid
from controller.store import StoreError, role_allows

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.globals["duration"] = display.duration
templates.env.globals["wall_time"] = display.wall_time
templates.env.globals["priority_text"] = display.PRIORITY_TEXT


@dataclass(frozen=True, slots=True)
class Refusal:
    status_code: int
    text: str


REFUSED = (HTTPException, RuntimeAnswer, StoreError, RecipeInvalid)


def refusal(exc: Exception) -> Refusal:
    """What the page says about a refused action, with the status the API would answer."""
    if isinstance(exc, (HTTPException, RuntimeAnswer)):
        detail = exc.detail
        return Refusal(exc.status_code, detail if isinstance(detail, str) else str(detail))
    if isinstance(exc, RecipeInvalid):
        return Refusal(422, "; ".join(f"{e.field}: {e.message}" for e in exc.errors))
    return Refusal(detail_status(exc) or 409, str(exc))


def line_id_of(request: Request) -> str | None:
    value = request.query_params.get("line_id")
    return value[:64] if value else None


def query(request: Request) -> str:
    """The query string that keeps a page's links and forms on its line ("" for the default line)."""
    line_id = line_id_of(request)
    return f"?line_id={line_id}" if line_id else ""


def runtime_of(request: Request) -> LineConnection:
    return services(request).line(line_id_of(request))


def line_status(runtime: LineConnection) -> tuple[dict[str, Any] | None, str | None]:
    """The runtime's status, or None and why it is unknown (not connected, not scanning)."""
    try:
        return runtime.status(), None
    except HTTPException as exc:
        return None, str(exc.detail)


def banner(status: dict[str, Any] | None, unknown: str | None) -> dict[str, Any]:
    alarms = display.sorted_alarms(status["alarms"]) if status is not None else []
    return {"alarms": alarms, "counts": display.alarm_counts(alarms), "unknown": unknown}


def may(user: auth.CurrentUser, role: str) -> bool:
    return role_allows(user.role, role)


def context(request: Request, user: auth.CurrentUser, page: str, **more: Any) -> dict[str, Any]:
    """The context of a signed-in page; ``more`` adds or overrides (``status``, ``message``...)."""
    runtime = runtime_of(request)
    status, unknown = line_status(runtime)
    return {
        "user": user, "csrf": session.csrf_for(user.token), "page": page, "status": status, "unknown": unknown,
        "line_id": runtime.line_id, "query": query(request),
        "banner": banner(status, unknown), "operator": may(user, "operator"), "engineer": may(user, "engineer"),
        "message": None, "error": None,
        **more,
    }
