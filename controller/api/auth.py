"""Bearer-token authentication and role dependencies (viewer < operator < engineer < admin).

Token lookups are cached for a few seconds per token (on the app's services, not
globally) so that polling the live state does not hit the database every time;
logging out evicts the token at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api.deps import Services, services
from controller.store import role_allows, users
from controller.store.users import token_digest

TOKEN_CACHE_S = 5.0
_bearer = HTTPBearer(auto_error=False, description="Token from POST /auth/login")


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    username: str
    role: str
    token: str


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


def _lookup(svc: Services, token: str) -> CurrentUser | None:
    with svc.sessions() as session:
        user = users.resolve_token(session, token)
        return None if user is None else CurrentUser(user.id, user.username, user.role, token)


async def current_user(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> CurrentUser:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token> from POST /auth/login)")
    svc = services(request)
    token = credentials.credentials
    key = token_digest(token)
    cached = svc.token_cache.get(key)
    now = time.monotonic()
    if cached is not None and cached[1] > now:
        user = cached[0]
        assert isinstance(user, CurrentUser)
        return user
    user = await run_in_threadpool(_lookup, svc, token)
    if user is None:
        svc.token_cache.pop(key, None)
        raise _unauthorized("invalid, expired or revoked bearer token")
    if len(svc.token_cache) > 10_000:
        svc.token_cache.clear()
    svc.token_cache[key] = (user, now + TOKEN_CACHE_S)
    return user


def require(role: str) -> Callable[..., Awaitable[CurrentUser]]:
    """Dependency: the current user, if their role is ``role`` or above (else 403)."""

    async def dependency(user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not role_allows(user.role, role):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"role {user.role} may not do this; it needs role {role} or above"
            )
        return user

    dependency.__name__ = f"require_{role}"
    return dependency


viewer = require("viewer")
operator = require("operator")
engineer = require("engineer")
admin = require("admin")
