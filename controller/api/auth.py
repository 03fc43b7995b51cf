"""Bearer-token authentication and role dependencies (viewer < operator < engineer < admin).

Token lookups are cached for a few seconds per token (on the app's services, not
globally) so that polling the live state does not hit the database every time;
logging out, deactivating a user or revoking their tokens evicts them at once.  A token
unused for ``token_idle_s`` stops working; its last use is written at most once a minute,
not on every request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Depends, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api.deps import Services, TokenOwner, services
from controller.store import role_allows, users
from controller.store.users import token_digest

TOKEN_CACHE_S = 5.0
TOKEN_TOUCH_S = 60.0  # a token's last use is written at most this often
_bearer = HTTPBearer(auto_error=False, description="Token from POST /auth/login")


@dataclass(frozen=True, slots=True)
class CurrentUser:
    id: int
    username: str
    role: str
    token: str
    address: str  # the client's address: password attempts are throttled per address
    services: Services = field(repr=False, compare=False)


class TokenRefused(Exception):
    """The bearer token no longer works; the message says why and what to do."""


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


def _lookup(svc: Services, token: str) -> TokenOwner:
    now = svc.clock()
    with svc.sessions() as session:
        found = users.lookup_token(session, token, now=now, idle=timedelta(seconds=svc.settings.token_idle_s))
        if found.user is None or found.token_id is None:
            raise TokenRefused(found.refusal or "invalid bearer token; log in again (POST /auth/login)")
        owner = TokenOwner(found.user.id, found.user.username, found.user.role, found.token_id, now)
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() >= TOKEN_TOUCH_S:
        with svc.write_sessions() as session:
            users.touch_token(session, owner.token_id, now=now)
            session.commit()
    return owner


async def check_token(svc: Services, token: str) -> TokenOwner:
    """Who ``token`` belongs to, read from the database (no cache); :class:`TokenRefused` otherwise.
    Counts as a use of the token for the idle timeout."""
    return await run_in_threadpool(_lookup, svc, token)


async def current_user(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> CurrentUser:
    if credentials is None or not credentials.credentials:
        raise _unauthorized("missing bearer token (Authorization: Bearer <token> from POST /auth/login)")
    return await user_for_token(request, credentials.credentials)


async def user_for_token(request: Request, token: str) -> CurrentUser:
    """The user ``token`` belongs to (the HMI's session cookie carries the same tokens); 401 otherwise."""
    svc = services(request)
    key = token_digest(token)
    owner = svc.token_cache.get(key)
    if owner is None or not 0 <= (svc.clock() - owner.checked_at).total_seconds() < TOKEN_CACHE_S:
        try:
            owner = await check_token(svc, token)
        except TokenRefused as exc:
            svc.token_cache.pop(key, None)
            raise _unauthorized(str(exc)) from None
        if len(svc.token_cache) > 10_000:
            svc.token_cache.clear()
        svc.token_cache[key] = owner
    return CurrentUser(owner.user_id, owner.username, owner.role, token, client_address(request), svc)


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
