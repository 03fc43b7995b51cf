"""What the routers reach through ``request.app.state.services`` (no global state)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from controller.api.runtime import LineConnection
from controller.api.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]  # for requests that change something (SQLite: BEGIN IMMEDIATE)
    runtime: LineConnection
    token_cache: dict[str, tuple[object, float]] = field(default_factory=dict)


def services(request: Request) -> Services:
    return request.app.state.services


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """A session per request; routes commit what they change. A request that may write gets
    a writer's session, so a concurrent commit never fails it with "database is locked"."""
    svc = services(request)
    with (svc.sessions if request.method in READING_METHODS else svc.write_sessions)() as session:
        yield session
