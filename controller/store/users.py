"""Users, the password policy, argon2 password hashes, bearer tokens and role ordering.

Bearer tokens are random (``secrets.token_urlsafe(32)``); only their sha256 is
stored, so a leaked database does not leak usable tokens.  A token stops working when
it is revoked, expires, stays unused longer than the idle timeout, or its user is
deactivated.  Functions flush but never commit.

Hashing is split from storing (:func:`hash_password`, then :func:`add_user` or
:func:`set_password_hash`) so that a server can run the costly hash in a bounded pool
and keep its database transactions short.  Lockout after failed passwords is in
:mod:`controller.store.lockout`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from controller.store.models import ApiToken, Role, User, utc_now

__all__ = [
    "DEFAULT_TOKEN_TTL",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "ROLE_ORDER",
    "HashCheck",
    "PasswordPolicyError",
    "TokenLookup",
    "UnknownRoleError",
    "add_user",
    "check_hash",
    "check_password_policy",
    "create_user",
    "get_user",
    "hash_password",
    "issue_token",
    "lookup_token",
    "resolve_token",
    "revoke_token",
    "revoke_user_tokens",
    "role_allows",
    "set_active",
    "set_password",
    "set_password_hash",
    "token_digest",
    "touch_token",
    "verify_password",
]

DEFAULT_TOKEN_TTL = timedelta(hours=12)
ROLE_ORDER: dict[str, int] = {role.value: rank for rank, role in enumerate(Role)}
# The one password policy of the CLI and the API (NIST SP 800-63B: length, not composition rules).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_default_hasher = PasswordHasher()


class UnknownRoleError(ValueError):
    pass


class PasswordPolicyError(ValueError):
    """The password does not meet the policy; the message says what to change (never the password)."""


def check_password_policy(password: str) -> None:
    """Raise :class:`PasswordPolicyError` unless ``password`` has 12 to 1024 characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password: at least {MIN_PASSWORD_LENGTH} characters are required; choose a longer password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password: at most {MAX_PASSWORD_LENGTH} characters are allowed; choose a shorter password")


def _role(role: str | Role) -> str:
    value = role.value if isinstance(role, Role) else str(role)
    if value not in ROLE_ORDER:
        raise UnknownRoleError(f"unknown role {value!r}; expected one of {', '.join(ROLE_ORDER)}")
    return value


def role_allows(role: str | Role, required_role: str | Role) -> bool:
    """True when ``role`` is ``required_role`` or above (viewer < operator < engineer < admin)."""
    return ROLE_ORDER[_role(role)] >= ROLE_ORDER[_role(required_role)]


# ---------------------------------------------------------------- passwords
def hash_password(password: str, *, hasher: PasswordHasher | None = None) -> str:
    """The argon2id hash of ``password`` once it meets the policy (costly: tens of ms, 64 MiB)."""
    check_password_policy(password)
    return (hasher or _default_hasher).hash(password)


@dataclass(frozen=True, slots=True)
class HashCheck:
    matches: bool
    rehashed: str | None = None  # a stronger hash of the same password, to store (None: keep the old one)


def check_hash(password_hash: str | None, password: str, *, hasher: PasswordHasher | None = None) -> HashCheck:
    """Does ``password`` match ``password_hash``?  ``None`` (an unknown user) still costs one
    verification, so that the time taken tells nothing about which user names exist."""
    ph = hasher or _default_hasher
    try:
        ph.verify(password_hash if password_hash is not None else _dummy_hash(ph), password)
    except (VerificationError, InvalidHashError):
        return HashCheck(False)
    if password_hash is None:
        return HashCheck(False)
    return HashCheck(True, ph.hash(password) if ph.check_needs_rehash(password_hash) else None)


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def _dummy_hash(ph: PasswordHasher) -> str:
    key = (ph.time_cost, ph.memory_cost, ph.parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = ph.hash(secrets.token_hex(16))
    return _DUMMY_HASHES[key]


# -------------------------------------------------------------------- users
def add_user(
    session: Session,
    username: str,
    password_hash: str,
    role: str | Role,
    *,
    active: bool = True,
    created_by: str | None = None,
    full_name: str | None = None,
    now: datetime | None = None,
) -> User:
    """A new user with a hash from :func:`hash_password`; ``created_by`` None: created from the CLI;
    ``full_name``: printed on the user's e-signatures (None or blank: the user name)."""
    if not username.strip():
        raise ValueError("username must not be empty")
    moment = now or utc_now()
    user = User(username=username, password_hash=password_hash, role=_role(role), active=active,
                created_by=created_by, created_at=moment, password_changed_at=moment,
                full_name=full_name.strip() if full_name and full_name.strip() else None)
    session.add(user)
    session.flush()
    return user


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str | Role,
    *,
    active: bool = True,
    hasher: PasswordHasher | None = None,
    created_by: str | None = None,
    full_name: str | None = None,
) -> User:
    """Hash ``password`` (policy checked: :class:`PasswordPolicyError`) and add the user.
    ``full_name``: printed on the user's e-signatures (None or blank: the user name)."""
    _role(role)
    return add_user(session, username, hash_password(password, hasher=hasher), role, active=active,
                    created_by=created_by, full_name=full_name)


def get_user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def set_password_hash(session: Session, user: User, password_hash: str, *, now: datetime | None = None) -> None:
    user.password_hash = password_hash
    user.password_changed_at = now or utc_now()
    session.flush()


def set_password(session: Session, user: User, password: str, *, hasher: PasswordHasher | None = None) -> None:
    """Hash ``password`` (policy checked) and store it."""
    set_password_hash(session, user, hash_password(password, hasher=hasher))


def set_active(session: Session, user: User, active: bool, *, now: datetime | None = None) -> int:
    """Deactivate (revoking every token, so that reactivation brings none back) or reactivate
    ``user``; the number of tokens revoked."""
    user.active = active
    revoked = 0 if active else revoke_user_tokens(session, user, now=now)
    session.flush()
    return revoked


def verify_password(
    session: Session, username: str, password: str, *, hasher: PasswordHasher | None = None
) -> User | None:
    """The active, unlocked user whose password matches, else ``None`` (no failure is counted:
    the API counts them through :mod:`controller.store.lockout`).

    Unknown users still cost one hash verification (no timing oracle for user
    names).  Hashes made with weaker parameters are upgraded on success.
    """
    user = get_user(session, username)
    check = check_hash(user.password_hash if user is not None else None, password, hasher=hasher)
    if user is None or not check.matches or not user.active:
        return None
    if user.locked_until is not None and user.locked_until > utc_now():
        return None
    if check.rehashed is not None:
        user.password_hash = check.rehashed
        session.flush()
    return user


# ------------------------------------------------------------------- tokens
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
            last_used_at=issued,
        )
    )
    session.flush()
    return token


@dataclass(frozen=True, slots=True)
class TokenLookup:
    """What a bearer token stands for: ``user`` when it works, else ``refusal`` says why."""

    user: User | None
    token_id: int | None = None
    last_used_at: datetime | None = None
    refusal: str | None = None


def lookup_token(
    session: Session, token: str, *, now: datetime | None = None, idle: timedelta | None = None
) -> TokenLookup:
    """Resolve ``token``: refused when unknown, revoked, expired, unused for longer than
    ``idle`` (None: no idle timeout), or when its user is deactivated."""
    if not token:
        return TokenLookup(None, refusal="invalid bearer token; log in again (POST /auth/login)")
    moment = now or utc_now()
    row = session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_sha256 == token_digest(token))
    ).first()
    if row is None:
        return TokenLookup(None, refusal="invalid bearer token; log in again (POST /auth/login)")
    api_token, user = row
    if api_token.revoked_at is not None:
        return TokenLookup(None, api_token.id, refusal="bearer token revoked; log in again (POST /auth/login)")
    if api_token.expires_at <= moment:
        return TokenLookup(None, api_token.id, refusal="bearer token expired; log in again (POST /auth/login)")
    last_used = api_token.last_used_at or api_token.created_at
    if idle is not None and last_used + idle <= moment:
        return TokenLookup(None, api_token.id, refusal=f"bearer token unused for more than {_minutes(idle)} "
                                                        "(idle timeout); log in again (POST /auth/login)")
    if not user.active:
        return TokenLookup(None, api_token.id,
                           refusal=f"user {user.username} is deactivated; ask an admin to reactivate the account")
    return TokenLookup(user, api_token.id, last_used)


def _minutes(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def resolve_token(
    session: Session, token: str, *, now: datetime | None = None, idle: timedelta | None = None
) -> User | None:
    """The active user owning ``token`` if it exists, is not revoked, has not expired nor idled out."""
    return lookup_token(session, token, now=now, idle=idle).user


def touch_token(session: Session, token_id: int, *, now: datetime | None = None) -> None:
    """Record a use of the token (for the idle timeout); callers do it at most once a minute."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now or utc_now())
                    .execution_options(synchronize_session=False))


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


def revoke_user_tokens(session: Session, user: User, *, now: datetime | None = None) -> int:
    """Revoke every token of ``user`` that is not revoked yet; how many were."""
    result = session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now or utc_now()).execution_options(synchronize_session=False))
    session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
