"""``create_app(settings)``: the FastAPI application with its lifespan (migrations, line
runtime). Everything the app needs lives on ``app.state.services``."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi_offline import FastAPIOffline

from controller.api import (
    errors,
    routes_alarms,
    routes_audit,
    routes_auth,
    routes_history,
    routes_line,
    routes_loops,
    routes_recipes,
    routes_report,
    routes_runs,
    routes_sim,
    routes_stream,
)
from controller.api.deps import Services
from controller.api.limits import BodyLimit
from controller.api.runtime import LineConnection, runtime_addresses
from controller.api.schemas import Health
from controller.api.settings import Settings
from controller.hmi import install as install_hmi
from controller.store import create_engine_for, session_factory, upgrade
from controller.store.database import writer
from controller.store.models import utc_now

DESCRIPTION = """Operator REST API of a Poreline membrane line.

Authenticate with `POST /auth/login` and send `Authorization: Bearer <token>`.
Roles: viewer < operator < engineer < admin. Viewers read; operators start recipes
released for production, command runs and acknowledge alarms; engineers edit, release and
test recipes (and inject simulator faults); admins manage users."""


def _freeze_startup_heap() -> None:
    """Move everything startup allocated (modules, unit registry, line models, ORM
    mappers...) out of the cyclic garbage collector's reach: a full collection then walks
    only what requests allocate instead of the whole heap (a full pass over it paused the
    server for about 100 ms, the tail of every endpoint). Freezing again is harmless."""
    gc.collect()
    gc.freeze()


async def _connect_lines(settings: Settings, lines: dict[str, LineConnection]) -> None:
    """The runtimes named by ``--line-runtime``, else one this server starts as its child."""
    if not settings.line_runtime:
        connection = await LineConnection.start_child(settings)
        lines[connection.line_id] = connection
        return
    for address, key_path in runtime_addresses(settings):
        connection = await LineConnection.attach(address, key_path)
        if connection.line_id in lines:
            await connection.close()
            raise ValueError(f"two line runtimes run line {connection.line_id} "
                             f"({lines[connection.line_id].endpoint}, {address.endpoint})")
        lines[connection.line_id] = connection


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> FastAPI:
    """The API; ``clock``: the wall clock (UTC) of lockouts and token times (tests inject one)."""
    settings = settings if settings is not None else Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, settings.database_url)
        db = create_engine_for(settings.database_url)
        lines: dict[str, LineConnection] = {}
        try:
            await _connect_lines(settings, lines)
        except BaseException:
            for connection in lines.values():
                await connection.close()
            db.dispose()
            raise
        app.state.services = Services(settings, db, session_factory(db), session_factory(writer(db)), lines,
                                      clock=clock)
        _freeze_startup_heap()
        try:
            yield
        finally:
            for connection in lines.values():
                await connection.close()
            db.dispose()

    # /docs and /redoc load Swagger UI and ReDoc from the installed fastapi-offline package, not from a
    # CDN: they work on an air-gapped plant network
    app = FastAPIOffline(title="Poreline", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    @app.get("/health", response_model=Health, tags=["health"], summary="Liveness (no authentication)")
    async def health() -> Health:
        return Health(status="ok")

    for module in (routes_auth, routes_recipes, routes_runs, routes_history, routes_report, routes_line,
                   routes_loops, routes_alarms, routes_audit, routes_stream, routes_sim):
        app.include_router(module.router)
    install_hmi(app)  # the web HMI at / (controller/hmi)
    return app
