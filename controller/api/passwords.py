"""Password checks of the API: logins (``POST /auth/login``) and signature passwords (recipe
release and obsolescence), with one set of rules.

Each attempt, in order:

1. the client address takes a slot of the sliding-window limiter on the services: past
   ``address_max_failures`` wrong or refused passwords per ``address_window_s`` it is answered
   429 with Retry-After, before any hash (the first refusal of a series is audited);
2. a locked user is refused before any hash (login: 423, signature: 403), audited;
3. the argon2 hash runs in the thread pool, never on the event loop, at most
   ``password_hash_concurrency`` at once (the others wait their turn);
4. a wrong password counts toward the user's lockout (``login_max_failures`` in a row lock
   the user for ``lockout_s``) and is audited, with the lock it may cause; a right one
   clears the count and gives the address its slot back.

Passwords are never audited, logged or echoed.  Hashing a new password (user creation,
reset) takes the same bounded slots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio.from_thread
from fastapi import HTTPException, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from controller.api.auth import CurrentUser
from controller.api.deps import Services
from controller.api.throttle import Throttled
from controller.store import User, audit, lockout, users

__all__ = ["Login", "check_signature", "hash_check", "hash_new_password", "hash_new_password_in_thread", "log_in"]

LOGIN_REFUSED = "wrong user name or password"
ANONYMOUS = "anonymous"
SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Login:
    token: str
    expires_at: datetime
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    username: str
    password_hash: str
    active: bool
    locked_until: datetime | None


def _policy(svc: Services) -> lockout.LockoutPolicy:
    return lockout.LockoutPolicy(svc.settings.login_max_failures, svc.settings.lockout_s)


def _retry_after_s(until: datetime | None, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999)) if until is not None else 1


def _lock_text(username: str, until: datetime | None) -> str:
    when = f"{until:%Y-%m-%d %H:%M:%S} UTC" if until is not None else "later"
    return (f"user {username} is locked until {when} after repeated wrong passwords; wait, or ask an admin "
            f"to unlock it (POST /users/{username}/unlock)")


def _login_refused() -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, LOGIN_REFUSED, headers={"WWW-Authenticate": "Bearer"})


def _too_many(throttled: Throttled) -> HTTPException:
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                         f"too many wrong passwords from this address; try again in {throttled.retry_after_s} s",
                         headers={"Retry-After": str(throttled.retry_after_s)})


# ------------------------------------------------------------------- hashing
async def hash_check(svc: Services, password_hash: str | None, password: str) -> users.HashCheck:
    """Verify in the thread pool, at most ``password_hash_concurrency`` hashes at once."""
    async with svc.hash_slots:
        return await run_in_threadpool(users.check_hash, password_hash, password)


async def hash_new_password(svc: Services, password: str) -> str:
    """The hash of a new password (policy checked first: :class:`users.PasswordPolicyError`)."""
    users.check_password_policy(password)
    async with svc.hash_slots:
        return await run_in_threadpool(users.hash_password, password)


def hash_new_password_in_thread(svc: Services, password: str) -> str:
    """:func:`hash_new_password` from a synchronous route (a worker thread of the event loop)."""
    return anyio.from_thread.run(hash_new_password, svc, password)


# --------------------------------------------------------------------- audit
def _audit_throttled(session: Session, address: str, throttled: Throttled, svc: Services, what: str) -> None:
    audit.append(session, SYSTEM, "auth.throttled", f"address {address}",
                 {"address": address, "attempt": what, "max_failures": svc.settings.address_max_failures,
                  "window_s": svc.settings.address_window_s, "retry_after_s": throttled.retry_after_s})


def _audit_failure(session: Session, actor: str, action: str, username: str, address: str, reason: str,
                   failure: lockout.Failure | None, attempt: str) -> None:
    details: dict[str, Any] = {"address": address, "reason": reason}
    if failure is not None:
        details["failed_logins"] = failure.failed_logins
    audit.append(session, actor, action, f"user {username}", details)
    if failure is not None and failure.newly_locked and failure.locked_until is not None:
        audit.append(session, SYSTEM, "auth.locked", f"user {username}",
                     {"address": address, "attempt": attempt, "failed_logins": failure.failed_logins,
                      "locked_until": failure.locked_until.isoformat()})


# --------------------------------------------------------------------- login
def _read_account(svc: Services, username: str) -> _Account | None:
    with svc.sessions() as session:
        user = users.get_user(session, username)
        if user is None:
            return None
        return _Account(user.id, user.username, user.password_hash, user.active, user.locked_until)


def _write(svc: Services, work: Any, *args: Any) -> Any:
    with svc.write_sessions() as session:
        result = work(session, *args)
        session.commit()
        return result


def _failed_login(session: Session, svc: Services, account: _Account | None, username: str, address: str,
                  reason: str, count: bool) -> lockout.Failure | None:
    failure = None
    if account is not None and count:
        failure = lockout.record_failure(session, account.id, policy=_policy(svc), now=svc.clock())
    _audit_failure(session, ANONYMOUS, "auth.login_failed", username, address, reason, failure, "login")
    return failure


def _finish_login(session: Session, svc: Services, account: _Account, check: users.HashCheck,
                  address: str) -> Login | HTTPException:
    """Re-read the user in the writing transaction: a password reset, a lock or a deactivation
    since the hash was checked wins."""
    user = session.get(User, account.id)
    now = svc.clock()
    refusal: HTTPException | None = None
    if user is None or user.password_hash != account.password_hash:
        reason, refusal = "password changed meanwhile", _login_refused()
    elif lockout.is_locked(user.locked_until, now):
        reason = "account locked"
        refusal = HTTPException(status.HTTP_423_LOCKED, _lock_text(user.username, user.locked_until),
                                headers={"Retry-After": str(_retry_after_s(user.locked_until, now))})
    elif not user.active:
        reason, refusal = "account deactivated", _login_refused()
    if refusal is not None:
        _audit_failure(session, ANONYMOUS, "auth.login_failed", account.username, address, reason, None, "login")
        return refusal
    assert user is not None
    lockout.record_success(session, user)
    if check.rehashed is not None:
        user.password_hash = check.rehashed
    ttl = timedelta(seconds=svc.settings.token_ttl_s)
    token = users.issue_token(session, user, ttl=ttl, label="api login", now=now)
    audit.append(session, user.username, "auth.login", f"user {user.username}", {"address": address})
    return Login(token, now + ttl, user.username, user.role)


async def log_in(svc: Services, username: str, password: str, address: str) -> Login:
    """A new bearer token for ``username``, or an HTTPException: 401 wrong user name or password
    (the same answer for an unknown user), 423 locked, 429 too many failures from ``address``."""
    throttled = svc.password_attempts.acquire(address)
    if throttled is not None:
        if throttled.first:
            await run_in_threadpool(_write, svc, _audit_throttled, address, throttled, svc, "login")
        raise _too_many(throttled)
    account = await run_in_threadpool(_read_account, svc, username)
    now = svc.clock()
    if account is not None and lockout.is_locked(account.locked_until, now):
        await run_in_threadpool(_write, svc, _failed_login, svc, account, username, address, "account locked", False)
        raise HTTPException(status.HTTP_423_LOCKED, _lock_text(account.username, account.locked_until),
                            headers={"Retry-After": str(_retry_after_s(account.locked_until, now))})
    check = await hash_check(svc, account.password_hash if account is not None else None, password)
    if account is None or not check.matches:
        reason = "unknown user" if account is None else "wrong password"
        await run_in_threadpool(_write, svc, _failed_login, svc, account, username, address, reason, True)
        raise _login_refused()
    outcome = await run_in_threadpool(_write, svc, _finish_login, svc, account, check, address)
    if not isinstance(outcome, Login):
        raise outcome
    svc.password_attempts.release(address)
    return outcome


# ---------------------------------------------------------------- signatures
def check_signature(session: Session, user: CurrentUser, password: str) -> User:
    """The signer (the token's user) when ``password`` is theirs; else 403 (wrong password or
    locked) or 429 (too many failures from the client's address).

    Runs in a synchronous route's worker thread, in the route's transaction: a refusal rolls
    back what the request did so far, records the failure and its audit, and commits them
    before answering; a success leaves the cleared failure count to the route's commit."""
    svc = user.services
    throttled = svc.password_attempts.acquire(user.address)
    if throttled is not None:
        if throttled.first:
            session.rollback()
            _audit_throttled(session, user.address, throttled, svc, "signature")
            session.commit()
        raise _too_many(throttled)
    signer = session.get(User, user.id)
    if signer is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "the signer's account no longer exists")
    if lockout.is_locked(signer.locked_until, svc.clock()):
        text = _lock_text(signer.username, signer.locked_until)
        session.rollback()
        _audit_failure(session, user.username, "auth.signature_refused", user.username, user.address,
                       "account locked", None, "signature")
        session.commit()
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"password: signature refused: {text}")
    check: users.HashCheck = anyio.from_thread.run(hash_check, svc, signer.password_hash, password)
    if not check.matches:
        session.rollback()
        failure = lockout.record_failure(session, user.id, policy=_policy(svc), now=svc.clock())
        _audit_failure(session, user.username, "auth.signature_refused", user.username, user.address,
                       "wrong password", failure, "signature")
        session.commit()
        locked = f"; {_lock_text(user.username, failure.locked_until)}" if failure.newly_locked else ""
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"password: the signature password is wrong{locked}")
    lockout.record_success(session, signer)
    if check.rehashed is not None:
        signer.password_hash = check.rehashed
        session.flush()
    svc.password_attempts.release(user.address)
    return signer
