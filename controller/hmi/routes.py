"""The HMI's pages and form actions. Every action calls the function its REST route calls (same
rules, same audit, same refusals) and shows the outcome on the page it came from, with the
status code the API would answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from controller.api import auth, passwords, routes_alarms, routes_line, routes_runs
from controller.api.deps import services
from controller.api.schemas import NAME_PATTERN, CommandBody, RunCommandName, RunStart, ShelveRequest, UnitModeRequest
from controller.hmi import pages, session, views
from controller.hmi.pages import templates
from controller.store import Recipe, RecipeState, users

router = APIRouter(include_in_schema=False)

AlarmId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]
Text = Annotated[str, Form(max_length=2000)]
Csrf = Annotated[str, Form(max_length=200)]
HISTORY_ROWS = 100


# ------------------------------------------------------------------ login
def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    csrf = session.login_csrf(request)
    page = templates.TemplateResponse(request, "login.html", {"error": error, "csrf": csrf}, status_code=status_code)
    session.set_login_csrf(page, request, csrf)
    return page


@router.get("/hmi/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request)


@router.post("/hmi/login")
async def login(request: Request, username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=1024)], csrf_token: Csrf = "") -> Response:
    try:
        session.check_login_csrf(request, csrf_token)
        done = await passwords.log_in(services(request), username, password, auth.client_address(request))
    except HTTPException as exc:  # 401 wrong user name or password, 423 locked, 429 throttled, 403 CSRF
        return _login_page(request, str(exc.detail), exc.status_code)
    response = RedirectResponse("/", status.HTTP_303_SEE_OTHER)
    session.set_session(response, request, done.token)
    return response


@router.post("/hmi/logout")
async def logout(request: Request, csrf_token: Csrf = "") -> Response:
    user = await session.signed_in(request)
    session.check_csrf(request, user, csrf_token)

    def revoke() -> None:
        with services(request).write_sessions() as db:
            users.revoke_token(db, user.token)
            db.commit()

    await run_in_threadpool(revoke)
    services(request).forget_token(user.token)
    response = RedirectResponse("/hmi/login", status.HTTP_303_SEE_OTHER)
    session.clear_session(response)
    return response


# --------------------------------------------------------------- overview
@router.get("/", response_class=HTMLResponse)
async def overview(request: Request) -> HTMLResponse:
    user = await session.signed_in(request)
    ctx = pages.context(request, user, "overview")
    if ctx["status"] is not None:
        ctx |= views.status_view(ctx["status"]) | await views.overview_view(pages.runtime_of(request), ctx["status"])
    return templates.TemplateResponse(request, "overview.html", ctx)


# ----------------------------------------------------------------- alarms
def _history(request: Request, user: auth.CurrentUser) -> list[Any]:
    with services(request).sessions() as db:
        return routes_alarms.history(user, db, run_id=None, alarm_id=None, limit=HISTORY_ROWS)


async def _alarms_page(request: Request, user: auth.CurrentUser, message: str | None = None,
                       error: pages.Refusal | None = None) -> HTMLResponse:
    ctx = pages.context(request, user, "alarms", message=message, error=error,
                        history=await run_in_threadpool(_history, request, user))
    return templates.TemplateResponse(request, "alarms.html", ctx,
                                      status_code=error.status_code if error is not None else 200)


@router.get("/hmi/alarms", response_class=HTMLResponse)
async def alarms(request: Request) -> HTMLResponse:
    return await _alarms_page(request, await session.signed_in(request))


async def act(request: Request, csrf_token: str, role: str, work: Callable[[auth.CurrentUser], Awaitable[str]],
               page: Callable[..., Awaitable[HTMLResponse]]) -> HTMLResponse:
    """Check the session, the CSRF token and the role, then ``work``; the page shows what it
    answered or why it was refused."""
    user = await session.signed_in(request)
    try:
        session.check_csrf(request, user, csrf_token)
        if not pages.may(user, role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this; it needs role {role} or above")
        message = await work(user)
    except pages.REFUSED as exc:
        return await page(request, user, error=pages.refusal(exc))
    except ValidationError as exc:
        text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await page(request, user, error=pages.Refusal(422, text))
    return await page(request, user, message=message)


@router.post("/hmi/alarms/{alarm_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge(request: Request, alarm_id: AlarmId, csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        await routes_alarms.acknowledge(alarm_id, pages.runtime_of(request), user)
        return f"{alarm_id} acknowledged"

    return await act(request, csrf_token, "operator", work, _alarms_page)


@router.post("/hmi/alarms/{alarm_id}/shelve", response_class=HTMLResponse)
async def shelve(request: Request, alarm_id: AlarmId, reason: Text = "",
                 duration_min: Annotated[float, Form(gt=0, le=480)] = 60, csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        body = ShelveRequest(duration_s=duration_min * 60, reason=reason.strip())
        await routes_alarms.shelve(alarm_id, body, pages.runtime_of(request), user)
        return f"{alarm_id} shelved for {duration_min:g} min"

    return await act(request, csrf_token, "operator", work, _alarms_page)


# ------------------------------------------------------------ run control
def _runnable(request: Request, user: auth.CurrentUser, line_id: str) -> list[tuple[str, str]]:
    """The versions ``user`` may start on this line: (value, label), newest first."""
    states = [RecipeState.RELEASED_FOR_PRODUCTION.value]
    if pages.may(user, "engineer"):
        states.append(RecipeState.RELEASED_FOR_TESTING.value)
    with services(request).sessions() as db:
        rows = db.execute(select(Recipe).options(selectinload(Recipe.versions)).order_by(Recipe.recipe_id)).scalars()
        return [(f"{r.recipe_id}:{v.version}", f"{r.recipe_id} v{v.version} ({v.state.replace('_', ' ')})")
                for r in rows for v in sorted(r.versions, key=lambda v: -v.version)
                if v.state in states and v.released_for_line in (None, line_id)]


async def _run_page(request: Request, user: auth.CurrentUser, message: str | None = None,
                    error: pages.Refusal | None = None) -> HTMLResponse:
    ctx = pages.context(request, user, "run", message=message, error=error)
    ctx |= views.commands_view(ctx["status"], ctx["operator"])
    if ctx["status"] is not None:
        ctx |= views.status_view(ctx["status"])
    ctx["runnable"] = await run_in_threadpool(_runnable, request, user, ctx["line_id"]) if ctx["operator"] else []
    return templates.TemplateResponse(request, "run.html", ctx,
                                      status_code=error.status_code if error is not None else 200)


@router.get("/hmi/run", response_class=HTMLResponse)
async def run(request: Request) -> HTMLResponse:
    return await _run_page(request, await session.signed_in(request))


@router.post("/hmi/run/start", response_class=HTMLResponse)
async def start(request: Request, recipe: Annotated[str, Form(max_length=200)], reason: Text = "",
                csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        recipe_id, _, version = recipe.rpartition(":")
        if not version.isdigit():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "recipe: pick a released version")
        body = RunStart(recipe_id=recipe_id, version=int(version), reason=reason.strip())
        with services(request).write_sessions() as db:
            started = await routes_runs.start_run(body, pages.runtime_of(request), user, db)
        return f"started {recipe_id} v{version} (run {started.run_id})"

    return await act(request, csrf_token, "operator", work, _run_page)


@router.post("/hmi/unit-mode", response_class=HTMLResponse)
async def unit_mode(request: Request, mode: Annotated[str, Form(max_length=20)], reason: Text = "",
                    csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        body = UnitModeRequest.model_validate({"mode": mode, "reason": reason.strip()})
        done = await routes_line.set_unit_mode(body, pages.runtime_of(request), user)
        return f"unit mode {done.unit_mode}"

    return await act(request, csrf_token, "engineer", work, _run_page)


@router.post("/hmi/run/{command}", response_class=HTMLResponse)
async def command(request: Request, command: Annotated[str, Path(max_length=20, pattern=NAME_PATTERN)],
                  reason: Text = "", csrf_token: Csrf = "") -> HTMLResponse:
    async def work(user: auth.CurrentUser) -> str:
        if command not in RunCommandName.__members__.values():
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"command: no command {command!r}")
        if not reason.strip():
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"reason: give a reason to {command}")
        done = await routes_runs.command_run(RunCommandName(command), pages.runtime_of(request), user,
                                             CommandBody(reason=reason.strip()))
        return f"{command}: {done.state} (to {done.target_state})"

    return await act(request, csrf_token, "operator", work, _run_page)
