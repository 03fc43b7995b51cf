"""What the routers reach through ``request.app.state.services`` (no global state)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from controller.api.runtime import LineRuntime
from controller.api.settings import Settings


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    runtime: LineRuntime
    token_cache: dict[str, tuple[object, float]] = field(default_factory=dict)


def services(request: Request) -> Services:
    return request.app.state.services


def db_session(request: Request) -> Iterator[Session]:
    """A session per request; routes commit what they change."""
    with services(request).sessions() as session:
        yield session
