"""Login, logout and user management (admin)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, HTTPException, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.api import auth
from controller.api.deps import db_session, services
from controller.api.errors import AUTH, R409
from controller.api.schemas import ErrorResponse, LoginRequest, TokenResponse, UserCreate, UserOut
from controller.store import User, audit, users
from controller.store.models import utc_now
from controller.store.users import token_digest

router = APIRouter(tags=["auth"])


@router.post("/auth/login", response_model=TokenResponse, summary="Exchange a password for a bearer token",
             responses={401: {"model": ErrorResponse, "description": "Wrong user name or password"}})
def login(body: LoginRequest, request: Request, session: Session = Depends(db_session)) -> TokenResponse:
    user = users.verify_password(session, body.username, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong user name or password",
                            headers={"WWW-Authenticate": "Bearer"})
    ttl = timedelta(seconds=services(request).settings.token_ttl_s)
    issued = utc_now()
    token = users.issue_token(session, user, ttl=ttl, label="api login", now=issued)
    audit.append(session, user.username, "auth.login", f"user {user.username}", {})
    session.commit()
    return TokenResponse(access_token=token, expires_at=issued + ttl, username=user.username, role=user.role)


@router.post("/auth/logout", status_code=204, summary="Revoke the token used", responses=AUTH)
def logout(request: Request, user: auth.CurrentUser = Depends(auth.viewer),
           session: Session = Depends(db_session)) -> None:
    users.revoke_token(session, user.token)
    session.commit()
    services(request).token_cache.pop(token_digest(user.token), None)


@router.get("/users", response_model=list[UserOut], summary="List users", responses=AUTH)
def list_users(_: auth.CurrentUser = Depends(auth.admin), session: Session = Depends(db_session)) -> list[UserOut]:
    rows = session.execute(select(User).order_by(User.id)).scalars()
    return [UserOut(username=u.username, role=u.role, active=u.active, created_at=u.created_at) for u in rows]


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user",
             responses=AUTH | R409)
def create_user(body: UserCreate, user: auth.CurrentUser = Depends(auth.admin),
                session: Session = Depends(db_session)) -> UserOut:
    if users.get_user(session, body.username) is not None:
        raise HTTPException(status.HTTP_409_CONFLICT, f"username: user {body.username!r} already exists")
    created = users.create_user(session, body.username, body.password, body.role.value)
    audit.append(session, user.username, "user.created", f"user {created.username}", {"role": created.role})
    session.commit()
    return UserOut(username=created.username, role=created.role, active=created.active,
                   created_at=created.created_at)
