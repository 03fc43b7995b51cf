"""Users, argon2 password hashes, bearer tokens and role ordering.

Bearer tokens are random (``secrets.token_urlsafe(32)``); only their sha256 is
stored, so a leaked database does not leak usable tokens.  Functions flush but
never commit.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.store.models import ApiToken, Role, User, utc_now

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "ROLE_ORDER",
    "UnknownRoleError",
    "create_user",
    "get_user",
    "issue_token",
    "resolve_token",
    "revoke_token",
    "role_allows",
    "set_password",
    "token_digest",
    "verify_password",
]

DEFAULT_TOKEN_TTL = timedelta(hours=12)
ROLE_ORDER: dict[str, int] = {role.value: rank for rank, role in enumerate(Role)}

_default_hasher = PasswordHasher()


class UnknownRoleError(ValueError):
    pass


def _role(role: str | Role) -> str:
    value = role.value if isinstance(role, Role) else str(role)
    if value not in ROLE_ORDER:
        raise UnknownRoleError(f"unknown role {value!r}; expected one of {', '.join(ROLE_ORDER)}")
    return value


def role_allows(role: str | Role, required_role: str | Role) -> bool:
    """True when ``role`` is ``required_role`` or above (viewer < operator < engineer < admin)."""
    return ROLE_ORDER[_role(role)] >= ROLE_ORDER[_role(required_role)]


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str | Role,
    *,
    active: bool = True,
    hasher: PasswordHasher | None = None,
) -> User:
    if not username.strip():
        raise ValueError("username must not be empty")
    if not password:
        raise ValueError("password must not be empty")
    user = User(
        username=username,
        password_hash=(hasher or _default_hasher).hash(password),
        role=_role(role),
        active=active,
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def set_password(session: Session, user: User, password: str, *, hasher: PasswordHasher | None = None) -> None:
    if not password:
        raise ValueError("password must not be empty")
    user.password_hash = (hasher or _default_hasher).hash(password)
    session.flush()


def verify_password(
    session: Session, username: str, password: str, *, hasher: PasswordHasher | None = None
) -> User | None:
    """The active user whose password matches, else ``None``.

    Unknown users still cost one hash verification (no timing oracle for user
    names).  Hashes made with weaker parameters are upgraded on success.
    """
    ph = hasher or _default_hasher
    user = get_user(session, username)
    if user is None:
        try:
            ph.verify(_dummy_hash(ph), password)
        except (VerificationError, InvalidHashError):
            pass
        return None
    try:
        ph.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.active:
        return None
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = ph.hash(password)
        session.flush()
    return user


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(ph: PasswordHasher) -> str:
    key = (ph.time_cost, ph.memory_cost, ph.parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = ph.hash(secrets.token_hex(16))
    return _DUMMY_HASHES[key]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    user: User,
    *,
    ttl: timedelta = DEFAULT_TOKEN_TTL,
    label: str | None = None,
    now: datetime | None = None,
) -> str:
    """Create a bearer token for ``user``; the plaintext is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    issued = now or utc_now()
    session.add(
        ApiToken(
            token_sha256=token_digest(token),
            user_id=user.id,
            label=label,
            created_at=issued,
            expires_at=issued + ttl,
        )
    )
    session.flush()
    return token


def resolve_token(session: Session, token: str, *, now: datetime | None = None) -> User | None:
    """The active user owning ``token`` if it exists, is not revoked and has not expired."""
    if not token:
        return None
    moment = now or utc_now()
    row = session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == token_digest(token))
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or api_token.expires_at <= moment or not user.active:
        return None
    return user


def revoke_token(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Revoke ``token``; ``False`` if it does not exist."""
    api_token = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == token_digest(token))
    ).scalar_one_or_none()
    if api_token is None:
        return False
    if api_token.revoked_at is None:
        api_token.revoked_at = now or utc_now()
        session.flush()
    return True
