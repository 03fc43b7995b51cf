from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.store import ApiToken, Role, User, lockout, role_allows, users
from controller.store.models import utc_now

PW = "long-enough-pw"  # meets the policy (12 characters or more)


def test_passwords_are_stored_as_argon2id_hashes_and_verified(session):
    user = users.create_user(session, "alice", "correct horse battery", Role.ENGINEER)
    session.commit()
    stored = session.execute(select(User.password_hash).where(User.id == user.id)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert users.verify_password(session, "alice", "correct horse battery") == user
    assert users.verify_password(session, "alice", "Correct horse battery") is None
    assert users.verify_password(session, "mallory", "correct horse battery") is None


def test_inactive_users_cannot_log_in(session, fast_hasher):
    users.create_user(session, "bob", PW, "operator", active=False, hasher=fast_hasher)
    assert users.verify_password(session, "bob", PW, hasher=fast_hasher) is None


def test_weak_hashes_are_upgraded_on_login(session, fast_hasher, production_hasher):
    user = users.create_user(session, "carol", PW, "viewer", hasher=fast_hasher)
    weak = user.password_hash
    # the hasher Poreline stores passwords with (the tests' default is the cheap one, tests/conftest.py)
    assert users.verify_password(session, "carol", PW, hasher=production_hasher) == user
    assert user.password_hash != weak and users.verify_password(session, "carol", PW, hasher=production_hasher) == user


def test_usernames_are_unique(session, fast_hasher):
    users.create_user(session, "dave", PW, "operator", hasher=fast_hasher)
    with pytest.raises(IntegrityError):
        users.create_user(session, "dave", "other-password", "viewer", hasher=fast_hasher)


def test_unknown_roles_are_refused(session, fast_hasher):
    with pytest.raises(users.UnknownRoleError):
        users.create_user(session, "erin", PW, "superuser", hasher=fast_hasher)


def test_a_bearer_token_resolves_to_its_user_and_only_its_sha256_is_stored(session, fast_hasher):
    user = users.create_user(session, "op1", PW, "operator", hasher=fast_hasher)
    token = users.issue_token(session, user, label="hmi")
    session.commit()
    assert users.resolve_token(session, token) == user
    stored = session.execute(select(ApiToken.token_sha256)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() != token
    assert users.resolve_token(session, token + "x") is None
    assert users.resolve_token(session, "") is None


def test_an_expired_token_is_refused(session, fast_hasher):
    user = users.create_user(session, "op2", PW, "operator", hasher=fast_hasher)
    issued = utc_now() - timedelta(hours=2)
    token = users.issue_token(session, user, ttl=timedelta(hours=1), now=issued)
    session.commit()
    assert users.resolve_token(session, token, now=issued + timedelta(minutes=59)) == user
    assert users.resolve_token(session, token) is None


def test_revoked_tokens_and_deactivated_users_are_refused(session, fast_hasher):
    user = users.create_user(session, "op3", PW, "operator", hasher=fast_hasher)
    first = users.issue_token(session, user)
    second = users.issue_token(session, user)
    assert users.revoke_token(session, first)
    assert users.resolve_token(session, first) is None
    assert users.resolve_token(session, second) == user
    user.active = False
    session.flush()
    assert users.resolve_token(session, second) is None


@pytest.mark.parametrize(
    ("role", "required", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "operator", False),
        ("operator", "operator", True),
        ("operator", "engineer", False),
        ("engineer", "operator", True),
        ("engineer", "admin", False),
        ("admin", "engineer", True),
        (Role.ADMIN, Role.VIEWER, True),
    ],
)
def test_roles_are_ordered_viewer_operator_engineer_admin(role, required, allowed):
    assert role_allows(role, required) is allowed


def test_role_allows_rejects_unknown_roles():
    with pytest.raises(users.UnknownRoleError):
        role_allows("root", "viewer")


@pytest.mark.parametrize("password", ["", "pw", "x" * 11, "x" * 1025])
def test_the_password_policy_refuses_short_and_huge_passwords_without_echoing_them(session, fast_hasher, password):
    with pytest.raises(users.PasswordPolicyError) as refused:
        users.create_user(session, "frank", password, "viewer", hasher=fast_hasher)
    assert "characters" in str(refused.value)
    assert password == "" or password not in str(refused.value)
    assert users.get_user(session, "frank") is None
    user = users.create_user(session, "frank", PW, "viewer", hasher=fast_hasher)
    with pytest.raises(users.PasswordPolicyError):
        users.set_password(session, user, password, hasher=fast_hasher)
    assert users.verify_password(session, "frank", PW, hasher=fast_hasher) == user


def test_failed_passwords_lock_the_user_until_unlocked_or_expired(session, fast_hasher):
    user = users.create_user(session, "gina", PW, "operator", hasher=fast_hasher)
    session.commit()
    policy = lockout.LockoutPolicy(max_failures=3, lockout_s=600.0)
    start = utc_now()
    counts = [lockout.record_failure(session, user.id, policy=policy, now=start) for _ in range(3)]
    assert [f.failed_logins for f in counts] == [1, 2, 3]
    assert [f.newly_locked for f in counts] == [False, False, True]
    assert counts[-1].locked_until == start + timedelta(seconds=600)
    session.refresh(user)
    assert lockout.is_locked(user.locked_until, start + timedelta(seconds=599))
    assert not lockout.is_locked(user.locked_until, start + timedelta(seconds=600))
    assert users.verify_password(session, "gina", PW, hasher=fast_hasher) is None  # locked: the right password too
    # a failure after the lock ran out starts the count again
    again = lockout.record_failure(session, user.id, policy=policy, now=start + timedelta(seconds=601))
    assert (again.failed_logins, again.locked_until, again.newly_locked) == (1, None, False)
    for _ in range(2):
        lockout.record_failure(session, user.id, policy=policy, now=start + timedelta(seconds=602))
    session.refresh(user)
    assert lockout.is_locked(user.locked_until)
    assert lockout.unlock(session, user) is True
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert users.verify_password(session, "gina", PW, hasher=fast_hasher) == user
    assert lockout.unlock(session, user) is False


def test_a_right_password_clears_the_failure_count(session, fast_hasher):
    user = users.create_user(session, "hank", PW, "operator", hasher=fast_hasher)
    policy = lockout.LockoutPolicy(max_failures=3, lockout_s=600.0)
    for _ in range(2):
        lockout.record_failure(session, user.id, policy=policy)
    session.refresh(user)
    lockout.record_success(session, user)
    assert lockout.record_failure(session, user.id, policy=policy).failed_logins == 1


def test_an_idle_token_is_refused_and_a_use_keeps_it_alive(session, fast_hasher):
    user = users.create_user(session, "ivan", PW, "operator", hasher=fast_hasher)
    issued = utc_now()
    token = users.issue_token(session, user, now=issued)
    session.commit()
    idle = timedelta(minutes=30)
    assert users.resolve_token(session, token, now=issued + timedelta(minutes=29), idle=idle) == user
    found = users.lookup_token(session, token, now=issued + timedelta(minutes=30), idle=idle)
    assert found.user is None and "idle" in (found.refusal or "")
    assert found.token_id is not None
    users.touch_token(session, found.token_id, now=issued + timedelta(minutes=29))
    session.commit()
    session.expire_all()
    assert users.resolve_token(session, token, now=issued + timedelta(minutes=58), idle=idle) == user
    assert users.resolve_token(session, token, now=issued + timedelta(minutes=59), idle=idle) is None
    assert users.resolve_token(session, token, now=issued + timedelta(hours=5)) == user  # no idle limit given


def test_revoking_every_token_of_a_user_and_deactivation(session, fast_hasher):
    user = users.create_user(session, "judy", PW, "operator", hasher=fast_hasher)
    other = users.create_user(session, "kim", PW, "operator", hasher=fast_hasher)
    tokens = [users.issue_token(session, user) for _ in range(3)]
    kept = users.issue_token(session, other)
    users.revoke_token(session, tokens[0])
    assert users.revoke_user_tokens(session, user) == 2  # the one already revoked is not counted
    assert all(users.resolve_token(session, t) is None for t in tokens)
    assert "revoked" in (users.lookup_token(session, tokens[1]).refusal or "")
    assert users.resolve_token(session, kept) == other
    fresh = users.issue_token(session, other)
    assert users.set_active(session, other, False) == 2
    assert users.resolve_token(session, fresh) is None and users.resolve_token(session, kept) is None
    users.set_active(session, other, True)
    assert users.resolve_token(session, fresh) is None  # reactivation brings no token back
    assert users.verify_password(session, "kim", PW, hasher=fast_hasher) == other
