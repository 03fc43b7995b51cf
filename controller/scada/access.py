"""Who is calling, and what they may do: OPC UA sessions checked against Poreline's user
store, and the session's user handed to method calls.

Users and roles
    The API's users (:mod:`controller.store.users`), with their roles: viewer (browse, read,
    subscribe), operator (the PackML commands, selecting a released recipe), engineer and
    admin (the same, and versions released for testing). A :class:`UserDirectory` keeps a
    snapshot of the user table (name, role, argon2 hash, active, locked until), read in a
    worker thread at start and every few seconds, so that no login waits for the database
    on the runtime's event loop. A deactivated, locked or demoted user loses the right with
    the next refresh, also in an open session: every call looks the user up again.

Channels
    The endpoint offers Basic256Sha256 SignAndEncrypt only, but asyncua opens a channel
    with SecurityPolicy None to anyone (discovery: GetEndpoints needs it) and would create
    and activate a session on it for a client that insists (the user token policy still
    encrypts the password). A session is therefore activated only when the channel carries
    a client certificate, which a None channel never does: such a session is refused with
    ``BadUserAccessDenied``, whatever the password.

Passwords
    asyncua asks its user manager synchronously while it activates a session, so the argon2
    verification (0.1-0.7 s with the store's parameters) blocks the loop it runs on. That is
    the OPC UA server's own loop, on a thread of its own (:mod:`controller.scada.facade`),
    never the runtime's scan loop, and argon2-cffi releases the GIL while it hashes: a login
    costs the scan nothing. It still holds up the server's other sessions, so it is kept
    rare: a verified (user, password) pair is remembered as a keyed digest (HMAC-SHA256
    under a per-process random key; the password itself is not kept) for as long as the
    stored hash is unchanged, so a SCADA that reconnects costs no hash; and at most
    ``MAX_VERIFICATIONS`` new verifications run per ``VERIFICATION_WINDOW_S`` (further
    logins are refused at once, and logged), which also slows password guessing. Unknown,
    inactive and locked users are refused without a hash.

Lockout and audit (the API's rules, :mod:`controller.store.lockout`)
    A wrong password counts toward the user's lockout in the store (the store's default
    policy, the API's default too: 5 wrong passwords in a row, API or OPC UA alike, lock the
    user for 15 minutes) and is audited as the API audits its logins (``auth.login_failed``
    by ``anonymous``, details ``via: opcua``, the reason and the count; ``auth.locked`` by
    ``system`` when it locks the user), in one transaction. A locked user is refused before
    any hash, right password or not, and that attempt is audited too (not counted), as are
    unknown and inactive users and sessions over an unsecured channel; a login refused by
    the rate limit above is only logged (auditing it would cost the database write the
    limit saves). A right password after wrong ones clears the count. The new count and
    lock take effect in the snapshot at once. These writes run on the OPC UA server's loop,
    like the hash (a few milliseconds on SQLite; never on the scan loop).

Binding the session's user to a method call (asyncua does not pass it to callbacks)
    asyncua processes the requests of one connection one after the other in one asyncio
    task, and before it serves a request of an activated session it asks the endpoint's
    permission ruleset ``check_validity(user, request type, body)`` with that session's
    user. :class:`SessionRules` records that user in the context variable :data:`CALLER`
    of the connection's task and answers; the Call service then awaits the method's
    ``async`` callback in the same task (asyncua runs ``async def`` callbacks inline, plain
    functions in a thread pool, where the variable would not be set), so the callback reads
    the caller with :func:`current_caller`. No asyncua class is patched. A callback that
    finds no caller refuses (``BadUserAccessDenied``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole
from asyncua.server.user_managers import UserManager
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from controller.store import audit, create_engine_for, lockout
from controller.store.lockout import is_locked
from controller.store.models import User as StoredUser
from controller.store.users import check_hash, role_allows

log = logging.getLogger(__name__)
ANONYMOUS = "anonymous"  # the actor of a refused login, as the API audits it
SYSTEM = "system"  # the actor of a lock

CALLER: ContextVar[User | None] = ContextVar("poreline_opcua_caller", default=None)
MAX_VERIFICATIONS = 5  # new password verifications ...
VERIFICATION_WINDOW_S = 10.0  # ... per this many wall seconds
REFRESH_S = 5.0  # the user snapshot's age at most (wall seconds)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: str
    password_hash: str
    active: bool
    locked_until: datetime | None
    user_id: int
    failed_logins: int  # consecutive wrong passwords

    def usable(self) -> bool:
        return self.active and not is_locked(self.locked_until)

    def may(self, role: str) -> bool:
        return self.usable() and role_allows(self.role, role)


class UserDirectory:
    """A snapshot of the user store, refreshed off the event loop."""

    def __init__(self, database_url: str) -> None:
        self._db = create_engine_for(database_url)
        self._accounts: dict[str, Account] = {}
        self._task: asyncio.Task[None] | None = None
        self._writes = 0  # logins recorded in the store: a snapshot read across one is stale
        self._policy = lockout.LockoutPolicy()

    def _load(self) -> dict[str, Account]:
        with Session(self._db) as session:
            users = session.execute(select(StoredUser)).scalars().all()
            return {u.username: Account(u.username, u.role, u.password_hash, u.active, u.locked_until, u.id,
                                        u.failed_logins) for u in users}

    async def refresh(self) -> None:
        writes = self._writes
        accounts = await asyncio.to_thread(self._load)
        if writes == self._writes:  # else read before a login was recorded: the next refresh reads it
            self._accounts = accounts

    async def start(self, period_s: float = REFRESH_S) -> None:
        """Read the users now (when the database is not ready yet, e.g. not migrated, nobody
        logs in until the next refresh succeeds) and every ``period_s``."""
        try:
            await self.refresh()
        except SQLAlchemyError:  # the runtime migrates the database after the server is built
            log.info("OPC UA: the user store is not readable yet; retrying every %g s", period_s)
        self._task = asyncio.create_task(self._refresh_forever(period_s), name="opcua-users")

    async def _refresh_forever(self, period_s: float) -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                await self.refresh()
            except SQLAlchemyError as exc:  # the database may be away (or not migrated yet): keep the last snapshot
                log.warning("OPC UA: the user store cannot be read (%s); keeping the last snapshot",
                            f"{type(exc).__name__}: {exc}"[:200])

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._db.dispose()

    def account(self, username: str) -> Account | None:
        return self._accounts.get(username)

    def failed_login(self, username: str, reason: str, *, count: bool) -> None:
        """Audit a refused login of ``username``; with ``count`` (a wrong password of a known
        user) count it toward the user's lockout, in the same transaction."""
        account = self._accounts.get(username)
        failure: lockout.Failure | None = None
        try:
            with Session(self._db) as session:
                if count and account is not None:
                    failure = lockout.record_failure(session, account.user_id, policy=self._policy)
                details: dict[str, Any] = {"via": "opcua", "reason": reason}
                if failure is not None:
                    details["failed_logins"] = failure.failed_logins
                audit.append(session, ANONYMOUS, "auth.login_failed", f"user {username}", details)
                if failure is not None and failure.newly_locked and failure.locked_until is not None:
                    audit.append(session, SYSTEM, "auth.locked", f"user {username}",
                                 {"via": "opcua", "attempt": "login", "failed_logins": failure.failed_logins,
                                  "locked_until": failure.locked_until.isoformat()})
                session.commit()
        except SQLAlchemyError as exc:  # the login is refused all the same
            log.error("OPC UA: the refused login of %r was not recorded (%s)", username,
                      f"{type(exc).__name__}: {exc}"[:200])
            return
        self._writes += 1
        if failure is not None and account is not None:
            self._accounts[username] = replace(account, failed_logins=failure.failed_logins,
                                               locked_until=failure.locked_until)
            if failure.newly_locked:
                log.warning("OPC UA: user %r locked until %s after %d wrong passwords", username,
                            failure.locked_until, failure.failed_logins)

    def right_password(self, account: Account) -> None:
        """A right password: the user's count of wrong ones starts again."""
        if not account.failed_logins:
            return
        try:
            with Session(self._db) as session:
                user = session.get(StoredUser, account.user_id)
                if user is not None:
                    lockout.record_success(session, user)
                    session.commit()
        except SQLAlchemyError as exc:
            log.error("OPC UA: the login of %r did not clear its failure count (%s)", account.username,
                      f"{type(exc).__name__}: {exc}"[:200])
            return
        self._writes += 1
        self._accounts[account.username] = replace(account, failed_logins=0, locked_until=None)


class StoreUserManager(UserManager):
    """Username/password sessions checked against :class:`UserDirectory`; anonymous refused."""

    def __init__(self, directory: UserDirectory) -> None:
        self._directory = directory
        self._key = secrets.token_bytes(32)
        self._verified: dict[tuple[str, bytes], str] = {}  # (user, keyed digest) -> the hash it matched
        self._recent: deque[float] = deque()

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if not username or password is None:
            return None
        directory = self._directory
        if not certificate:  # no client certificate: a channel without security (see the docstring)
            log.warning("OPC UA session refused for user %r: not over a secured channel", username)
            directory.failed_login(username, "not over a secured channel", count=False)
            return None
        account = directory.account(username)
        if account is None or not account.usable():
            reason = "unknown user" if account is None else "account locked" if account.active else \
                "account deactivated"
            log.warning("OPC UA session refused for user %r: %s", username, reason)
            directory.failed_login(username, reason, count=False)
            return None
        digest = hmac.new(self._key, password.encode("utf-8"), hashlib.sha256).digest()
        if self._verified.get((username, digest)) == account.password_hash:
            directory.right_password(account)
            return User(role=UserRole.User, name=username)
        now = time.monotonic()
        while self._recent and now - self._recent[0] > VERIFICATION_WINDOW_S:
            self._recent.popleft()
        if len(self._recent) >= MAX_VERIFICATIONS:
            log.warning("OPC UA session refused for user %r: too many logins in %g s", username,
                        VERIFICATION_WINDOW_S)
            return None
        self._recent.append(now)
        try:  # the hash's own parameters: no costly rehash on the event loop (the API rehashes at login)
            hasher = PasswordHasher.from_parameters(extract_parameters(account.password_hash))
        except InvalidHashError:
            return None
        if not check_hash(account.password_hash, password, hasher=hasher).matches:
            log.warning("OPC UA session refused for user %r: wrong password", username)
            directory.failed_login(username, "wrong password", count=True)
            return None
        directory.right_password(account)
        self._verified[(username, digest)] = account.password_hash
        return User(role=UserRole.User, name=username)


class SessionRules(PermissionRuleset):
    """Every request of an activated, named session is served (roles are checked per method);
    the session's user is recorded for the method callbacks (see the module docstring)."""

    def check_validity(self, user: Any, action_type_id: Any, body: Any) -> bool:
        CALLER.set(user if isinstance(user, User) else None)
        return isinstance(user, User) and bool(user.name) and user.role in (UserRole.User, UserRole.Admin)


def current_caller(directory: UserDirectory) -> Account | None:
    """The account of the session whose request is being served, as the store has it now."""
    user = CALLER.get()
    if user is None or not user.name:
        return None
    return directory.account(user.name)
