"""Login, logout and user management (admin): create, deactivate and reactivate, reset a
password, unlock, revoke every token of a user.  Every change is audited, never with a
password."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api import auth, passwords
from controller.api.deps import Services, db_session, services
from controller.api.errors import AUTH, R404, R409
from controller.api.schemas import (
    NAME_PATTERN,
    ErrorResponse,
    LoginRequest,
    PasswordReset,
    TokenResponse,
    TokensRevoked,
    UserCreate,
    UserOut,
)
from controller.store import User, audit, lockout, users

router = APIRouter(tags=["auth"])

Username = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN, description="User name")]
R422_PASSWORD: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse,
          "description": "The password does not meet the policy (the answer says what to change, never the password)"},
}
LOGIN_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Wrong user name or password"},
    423: {"model": ErrorResponse, "description": "The user is locked after repeated wrong passwords (Retry-After)"},
    429: {"model": ErrorResponse, "description": "Too many wrong passwords from this address (Retry-After)"},
}


def _user_out(u: User, now: datetime) -> UserOut:
    return UserOut(username=u.username, role=u.role, active=u.active, created_at=u.created_at,
                   full_name=u.full_name, created_by=u.created_by, failed_logins=u.failed_logins,
                   locked_until=u.locked_until if lockout.is_locked(u.locked_until, now) else None)


def _new_password_hash(svc: Services, password: str) -> str:
    """The hash of a new password, before any database work (the hash is slow); 422 naming the policy."""
    try:
        return passwords.hash_new_password_in_thread(svc, password)
    except users.PasswordPolicyError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


def _target(session: Session, username: str) -> User:
    target = users.get_user(session, username)
    if target is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"username: no user {username!r} (GET /users lists them)")
    return target


@router.post("/auth/login", response_model=TokenResponse, summary="Exchange a password for a bearer token",
             responses=LOGIN_REFUSALS)
async def login(body: LoginRequest, request: Request) -> TokenResponse:
    done = await passwords.log_in(services(request), body.username, body.password, auth.client_address(request))
    return TokenResponse(access_token=done.token, expires_at=done.expires_at, username=done.username, role=done.role)


@router.post("/auth/logout", status_code=204, summary="Revoke the token used", responses=AUTH)
def logout(request: Request, user: auth.CurrentUser = Depends(auth.viewer),
           session: Session = Depends(db_session)) -> None:
    users.revoke_token(session, user.token)
    session.commit()
    services(request).forget_token(user.token)


@router.get("/users", response_model=list[UserOut], summary="List users", responses=AUTH)
def list_users(request: Request, _: auth.CurrentUser = Depends(auth.admin),
               session: Session = Depends(db_session)) -> list[UserOut]:
    now = services(request).clock()
    return [_user_out(u, now) for u in session.execute(select(User).order_by(User.id)).scalars()]


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user",
             responses=AUTH | R409 | R422_PASSWORD)
def create_user(body: UserCreate, request: Request, user: auth.CurrentUser = Depends(auth.admin),
                session: Session = Depends(db_session)) -> UserOut:
    svc = services(request)
    password_hash = _new_password_hash(svc, body.password)
    if users.get_user(session, body.username) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"username: user {body.username!r} already exists")
    now = svc.clock()
    created = users.add_user(session, body.username, password_hash, body.role.value,
                             full_name=body.full_name, created_by=user.username, now=now)
    audit.append(session, user.username, "user.created", f"user {created.username}",
                 {"role": created.role, "full_name": created.full_name})
    session.commit()
    return _user_out(created, now)


@router.post("/users/{username}/deactivate", response_model=UserOut,
             summary="Deactivate a user: no more logins, every token revoked at once (open streams end)",
             responses=AUTH | R404 | R409)
def deactivate_user(username: Username, request: Request, user: auth.CurrentUser = Depends(auth.admin),
                    session: Session = Depends(db_session)) -> UserOut:
    svc = services(request)
    target = _target(session, username)
    if target.id == user.id:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            "username: you cannot deactivate your own account; another admin can")
    now = svc.clock()
    revoked = users.set_active(session, target, False, now=now)
    audit.append(session, user.username, "user.deactivated", f"user {target.username}", {"tokens_revoked": revoked})
    session.commit()
    svc.forget_user_tokens(target.id)
    return _user_out(target, now)


@router.post("/users/{username}/activate", response_model=UserOut,
             summary="Reactivate a user (they log in again; old tokens stay revoked)", responses=AUTH | R404)
def activate_user(username: Username, request: Request, user: auth.CurrentUser = Depends(auth.admin),
                  session: Session = Depends(db_session)) -> UserOut:
    target = _target(session, username)
    users.set_active(session, target, True)
    audit.append(session, user.username, "user.activated", f"user {target.username}", {})
    session.commit()
    return _user_out(target, services(request).clock())


@router.post("/users/{username}/password", response_model=UserOut,
             summary="Reset a user's password: every token of theirs is revoked and the account unlocked",
             responses=AUTH | R404 | R422_PASSWORD)
def reset_password(username: Username, body: PasswordReset, request: Request,
                   user: auth.CurrentUser = Depends(auth.admin), session: Session = Depends(db_session)) -> UserOut:
    svc = services(request)
    password_hash = _new_password_hash(svc, body.password)
    target = _target(session, username)
    now = svc.clock()
    users.set_password_hash(session, target, password_hash, now=now)
    revoked = users.revoke_user_tokens(session, target, now=now)
    was_locked = lockout.unlock(session, target, now=now)
    audit.append(session, user.username, "user.password_reset", f"user {target.username}",
                 {"tokens_revoked": revoked, "was_locked": was_locked})
    session.commit()
    svc.forget_user_tokens(target.id)
    return _user_out(target, now)


@router.post("/users/{username}/unlock", response_model=UserOut,
             summary="Unlock a user locked after wrong passwords (and clear the count)", responses=AUTH | R404)
def unlock_user(username: Username, request: Request, user: auth.CurrentUser = Depends(auth.admin),
                session: Session = Depends(db_session)) -> UserOut:
    now = services(request).clock()
    target = _target(session, username)
    failed = target.failed_logins
    was_locked = lockout.unlock(session, target, now=now)
    audit.append(session, user.username, "user.unlocked", f"user {target.username}",
                 {"was_locked": was_locked, "failed_logins": failed})
    session.commit()
    return _user_out(target, now)


@router.post("/users/{username}/revoke-tokens", response_model=TokensRevoked,
             summary="Revoke every token of a user (logs them out everywhere; open streams end)",
             responses=AUTH | R404)
def revoke_tokens(username: Username, request: Request, user: auth.CurrentUser = Depends(auth.admin),
                  session: Session = Depends(db_session)) -> TokensRevoked:
    svc = services(request)
    target = _target(session, username)
    revoked = users.revoke_user_tokens(session, target, now=svc.clock())
    audit.append(session, user.username, "user.tokens_revoked", f"user {target.username}", {"tokens_revoked": revoked})
    session.commit()
    svc.forget_user_tokens(target.id)
    return TokensRevoked(username=target.username, tokens_revoked=revoked)
