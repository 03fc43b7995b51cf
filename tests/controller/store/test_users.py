from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from controller.store import ApiToken, Role, User, role_allows, users
from controller.store.models import utc_now


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
    users.create_user(session, "bob", "pw", "operator", active=False, hasher=fast_hasher)
    assert users.verify_password(session, "bob", "pw", hasher=fast_hasher) is None


def test_weak_hashes_are_upgraded_on_login(session, fast_hasher):
    user = users.create_user(session, "carol", "pw", "viewer", hasher=fast_hasher)
    weak = user.password_hash
    assert users.verify_password(session, "carol", "pw") == user  # default (stronger) hasher
    assert user.password_hash != weak and users.verify_password(session, "carol", "pw") == user


def test_usernames_are_unique(session, fast_hasher):
    users.create_user(session, "dave", "pw", "operator", hasher=fast_hasher)
    with pytest.raises(IntegrityError):
        users.create_user(session, "dave", "other", "viewer", hasher=fast_hasher)


def test_unknown_roles_are_refused(session, fast_hasher):
    with pytest.raises(users.UnknownRoleError):
        users.create_user(session, "erin", "pw", "superuser", hasher=fast_hasher)


def test_a_bearer_token_resolves_to_its_user_and_only_its_sha256_is_stored(session, fast_hasher):
    user = users.create_user(session, "op1", "pw", "operator", hasher=fast_hasher)
    token = users.issue_token(session, user, label="hmi")
    session.commit()
    assert users.resolve_token(session, token) == user
    stored = session.execute(select(ApiToken.token_sha256)).scalar_one()
    assert stored == hashlib.sha256(token.encode()).hexdigest() != token
    assert users.resolve_token(session, token + "x") is None
    assert users.resolve_token(session, "") is None


def test_an_expired_token_is_refused(session, fast_hasher):
    user = users.create_user(session, "op2", "pw", "operator", hasher=fast_hasher)
    issued = utc_now() - timedelta(hours=2)
    token = users.issue_token(session, user, ttl=timedelta(hours=1), now=issued)
    session.commit()
    assert users.resolve_token(session, token, now=issued + timedelta(minutes=59)) == user
    assert users.resolve_token(session, token) is None


def test_revoked_tokens_and_deactivated_users_are_refused(session, fast_hasher):
    user = users.create_user(session, "op3", "pw", "operator", hasher=fast_hasher)
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
