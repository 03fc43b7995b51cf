"""What the routers reach through ``request.app.state.services`` (no global state)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
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
    lines: dict[str, LineConnection]  # by line id, in the order they were given
    token_cache: dict[str, tuple[object, float]] = field(default_factory=dict)

    def line(self, line_id: str | None) -> LineConnection:
        """The line ``line_id`` names; None: the one line this server controls."""
        if line_id is None:
            if len(self.lines) == 1:
                return next(iter(self.lines.values()))
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"line_id: this server controls {len(self.lines)} lines; name one of {', '.join(self.lines)}")
        try:
            return self.lines[line_id]
        except KeyError:
            raise HTTPException(status.HTTP_404_NOT_FOUND,
                                f"line_id: no line {line_id!r}; this server controls {', '.join(self.lines)}") from None


def services(request: Request) -> Services:
    return request.app.state.services


def line_connection(request: Request, line_id: Annotated[str | None, Query(
        max_length=64, description="The line (GET /lines); may be omitted when the server controls one line")] = None,
                    ) -> LineConnection:
    return services(request).line(line_id)


LineRuntime = Annotated[LineConnection, Depends(line_connection)]


READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def db_session(request: Request) -> Iterator[Session]:
    """A session per request; routes commit what they change. A request that may write gets
    a writer's session, so a concurrent commit never fails it with "database is locked"."""
    svc = services(request)
    with (svc.sessions if request.method in READING_METHODS else svc.write_sessions)() as session:
        yield session
