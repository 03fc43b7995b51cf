"""The trends page: tags picked by device, a window of the current or a selected run, each tag's
chart drawn by ``static/trends.js`` (uPlot) from ``/hmi/trends/data``, which it polls while the
run executes."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from controller.api import auth, routes_history
from controller.api.deps import services
from controller.api.schemas import RunInfoOut
from controller.api.validation import compile_recipe_text
from controller.hmi import pages, session, trends
from controller.hmi.pages import templates
from controller.hmi.routes_runs import recent_runs
from controller.lines import LineKind, kind_named
from controller.recipe import RecipeInvalid
from controller.recipe.compiler import load_yaml
from controller.store import NotFoundError, Run, recipes
from drivers.definition import LineDefinition

router = APIRouter(include_in_schema=False)

RUN_CHOICES = 30
TAG_PATTERN = r"^[A-Za-z0-9_]+\.[A-Za-z0-9_]+$"
Window = Annotated[str, Query(pattern="^(" + "|".join(trends.WINDOW_SECONDS) + ")$")]
RunParam = Annotated[int | None, Query(ge=1, le=2_000_000_000)]
POLL_S = 5  # a live chart's refresh


def _recipe_lines(db: Session, run: Run, kind: LineKind, definition: LineDefinition) -> dict[str, trends.RecipeLine]:
    """The run's recipe version's lines (none when the version is not in the store or no longer compiles)."""
    try:
        text = recipes.get_version(db, run.recipe_id, run.recipe_version).yaml_text
        compiled, _ = compile_recipe_text(text)
    except (NotFoundError, RecipeInvalid):
        return {}
    data, _errors = load_yaml(text)
    return trends.recipe_lines(compiled, data if isinstance(data, dict) else {}, definition,
                               kind.control(definition), kind.report_trends)


def _kind(line_kind: str) -> LineKind:
    try:
        return kind_named(line_kind)
    except ValueError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


def _one_run(request: Request, user: auth.CurrentUser, run_id: int) -> RunInfoOut | None:
    with services(request).sessions() as db:
        try:
            return routes_history.get_run(run_id, user, db)
        except HTTPException:
            return None


@router.get("/hmi/trends", response_class=HTMLResponse)
async def trends_page(request: Request, run_id: RunParam = None, window: Window = trends.DEFAULT_WINDOW,
                      tag: Annotated[list[str] | None, Query(max_length=12)] = None) -> HTMLResponse:
    """The current run (else the newest) unless ``run_id`` picks another; ``tag`` the tags
    charted (default: the line kind's key tags)."""
    user = await session.signed_in(request)
    ctx = pages.context(request, user, "trends")
    runs = await run_in_threadpool(recent_runs, request, user, RUN_CHOICES)
    current = ctx["status"]["run_id"] if ctx["status"] is not None else None
    chosen = run_id or current or (runs[0].id if runs else None)
    run = next((r for r in runs if r.id == chosen), None)
    if run is None and chosen is not None:
        run = await run_in_threadpool(_one_run, request, user, chosen)
    if run is not None:
        kind, line_id = _kind(run.line_kind), run.line_id
    elif ctx["status"] is not None:
        kind, line_id = _kind(str(ctx["status"]["line_kind"])), str(ctx["status"]["line_id"])
    else:
        return templates.TemplateResponse(request, "trends.html", ctx | {"run": None, "devices": []})
    choices = trends.tag_choices(kind.definition(line_id), kind.report_trends)
    tags = {c.address: c for d in choices for c in d.tags}
    picked = [t for t in tag or [] if t in tags] or [m for m, _ in kind.report_trends if m in tags][:2]
    ctx |= {"runs": runs, "run": run, "window": window, "windows": trends.WINDOWS, "devices": choices,
            "picked": [tags[t] for t in picked], "poll_s": POLL_S,
            "live": run is not None and run.id == current and run.ended_at is None}
    return templates.TemplateResponse(request, "trends.html", ctx)


@router.get("/hmi/trends/data")
async def trend_data(request: Request, run_id: Annotated[int, Query(ge=1, le=2_000_000_000)],
                     tag: Annotated[str, Query(min_length=3, max_length=64, pattern=TAG_PATTERN)],
                     window: Window = trends.DEFAULT_WINDOW, recipe: bool = False) -> JSONResponse:
    """A tag's series over a window of the run, with its setpoint's and its limits (JSON);
    ``recipe``: also the recipe's value and limits for it (a chart asks once, not on every poll:
    the recipe is compiled for it)."""
    await session.signed_in(request)

    def read() -> dict[str, Any]:
        with services(request).sessions() as db:
            run = db.get(Run, run_id)
            if run is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"run {run_id} not found")
            kind = _kind(run.line_kind)
            definition = kind.definition(run.line_id)
            try:
                definition.tag(tag)
            except (KeyError, ValueError):
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"tag: line {run.line_id} has no tag {tag}") from None
            data = trends.tag_series(db, definition, run_id, tag, window, kind.report_trends)
            if recipe:
                line = _recipe_lines(db, run, kind, definition).get(tag)
                data["recipe"] = None if line is None else dataclasses.asdict(line)
            return data | {"running": run.ended_at is None}

    return JSONResponse(await run_in_threadpool(read))
