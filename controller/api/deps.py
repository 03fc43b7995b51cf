"""What the routers reach through ``request.app.state.services`` (no global state)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from controller.api.runtime import LineConnection
from controller.api.settings import Settings
from controller.api.throttle import SlidingWindowLimiter
from controller.store.models import utc_now
from controller.store.users import token_digest


@dataclass(frozen=True, slots=True)
class TokenOwner:
    """What a checked bearer token stands for, cached for a few seconds after ``checked_at``
    (the services' clock, UTC)."""

    user_id: int
    username: str
    role: str
    token_id: int
    checked_at: datetime


@dataclass(slots=True)
class Services:
    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]  # for requests that change something (SQLite: BEGIN IMMEDIATE)
    lines: dict[str, LineConnection]  # by line id, in the order they were given
    token_cache: dict[str, TokenOwner] = field(default_factory=dict)  # by token sha256
    # the wall clock (UTC) of lockouts, token idle and expiry times; tests inject their own
    clock: Callable[[], datetime] = utc_now
    # wrong or refused passwords per client address (logins and signatures): 429 past the limit
    password_attempts: SlidingWindowLimiter = field(init=False)
    # at most this many argon2 hashes at once, so that a flood of logins cannot take every CPU
    hash_slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.password_attempts = SlidingWindowLimiter(self.settings.address_max_failures,
                                                      self.settings.address_window_s)
        self.hash_slots = asyncio.Semaphore(self.settings.password_hash_concurrency)

    def forget_token(self, token: str) -> None:
        """Drop ``token`` from the cache: the next request checks it in the database."""
        self.token_cache.pop(token_digest(token), None)

    def forget_user_tokens(self, user_id: int) -> None:
        """Drop every cached token of ``user_id`` (deactivated, tokens revoked, password reset)."""
        for key in [k for k, owner in self.token_cache.items() if owner.user_id == user_id]:
            self.token_cache.pop(key, None)

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
