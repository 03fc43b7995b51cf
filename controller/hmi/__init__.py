"""The web HMI served by ``poreline serve`` at ``/``: server-rendered pages (Jinja2), htmx and
Server-Sent Events for live values, JavaScript and CSS vendored in ``static/vendor`` (no CDN).

A client of the line runtime like the REST API, beside it: its actions call the functions the
API's routes call, with the same roles; the session is the API's bearer token in a cookie."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
LOGIN = "/hmi/login"


def _not_signed_in(request: Request, exc: Exception) -> Response:
    if request.url.path == "/hmi/events":
        return PlainTextResponse("not signed in", status_code=401)
    if request.headers.get("HX-Request"):  # an htmx request: the browser goes to the login page
        return Response(status_code=204, headers={"HX-Redirect": LOGIN})
    return RedirectResponse(LOGIN, status_code=303)


def install(app: FastAPI) -> None:
    """Mount the HMI's pages, event stream and static files on ``app``. (Its modules are imported
    here: they use the API's, whose app factory calls this.)"""
    from controller.hmi import events, routes, routes_loops, routes_recipes, routes_runs, routes_simulator, routes_trends
    from controller.hmi.session import NotSignedIn

    for module in (routes, routes_trends, routes_recipes, routes_runs, routes_loops, routes_simulator):
        app.include_router(module.router)
    app.include_router(events.router)
    app.mount("/hmi/static", StaticFiles(directory=STATIC), name="hmi-static")
    app.add_exception_handler(NotSignedIn, _not_signed_in)
