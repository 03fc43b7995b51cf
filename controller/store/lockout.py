"""Account lockout: after ``max_failures`` consecutive wrong passwords (logins and signature
passwords alike) a user is locked for ``lockout_s``; a right password while locked is refused
too.  Kept in ``users.failed_logins`` and ``users.locked_until`` so that it holds across
restarts and across several API processes.  An admin unlocks early (:func:`unlock`).

The counter is raised by one UPDATE (``failed_logins = failed_logins + 1``), so concurrent
failures are all counted.  Functions flush but never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, null, update
from sqlalchemy.orm import Session

from controller.store.models import User, utc_now

__all__ = ["Failure", "LockoutPolicy", "is_locked", "record_failure", "record_success", "unlock"]


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    max_failures: int = 5
    lockout_s: float = 900.0


@dataclass(frozen=True, slots=True)
class Failure:
    failed_logins: int  # consecutive failures, this one included
    locked_until: datetime | None  # set when the user is locked
    newly_locked: bool  # this failure locked the user


def is_locked(locked_until: datetime | None, now: datetime | None = None) -> bool:
    return locked_until is not None and locked_until > (now or utc_now())


def record_failure(session: Session, user_id: int, *, policy: LockoutPolicy, now: datetime | None = None) -> Failure:
    """Count one wrong password for ``user_id``; lock the user at ``policy.max_failures``.

    A lock that has run out starts the count again.  ``User`` objects already loaded in
    ``session`` are not refreshed (the update is done in SQL).
    """
    moment = now or utc_now()
    expired = and_(User.locked_until.is_not(None), User.locked_until <= moment)
    row = session.execute(
        update(User).where(User.id == user_id)
        .values(failed_logins=case((expired, 1), else_=User.failed_logins + 1),
                locked_until=case((expired, null()), else_=User.locked_until))
        .returning(User.failed_logins, User.locked_until)
        .execution_options(synchronize_session=False)
    ).one()
    failures, locked_until = int(row[0]), row[1]
    if failures < policy.max_failures or is_locked(locked_until, moment):
        return Failure(failures, locked_until, newly_locked=False)
    until = moment + timedelta(seconds=policy.lockout_s)
    session.execute(update(User).where(User.id == user_id).values(locked_until=until)
                    .execution_options(synchronize_session=False))
    return Failure(failures, until, newly_locked=True)


def record_success(session: Session, user: User) -> None:
    """A right password: the consecutive-failure count starts again."""
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None
        session.flush()


def unlock(session: Session, user: User, *, now: datetime | None = None) -> bool:
    """Clear the lock and the failure count; ``True`` when the user was locked."""
    was_locked = is_locked(user.locked_until, now)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    return was_locked
