"""E-signatures in the store (issue 11, item 5): a signature keeps the printed name, the
meaning, the time and the hash of the text signed; no one who wrote or edited a version may
approve it, nor an admin, nor an account an admin created within the configured period; a
text changed behind the application's back is neither signed nor run. On SQLite and
PostgreSQL (store conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from controller.store import RecipeState, SameAuthorError, SignatureRequiredError, User, recipes, users

V1 = "id: pes-flat-sheet\nformula:\n  gap_um: 150\n"
RID = "pes-flat-sheet"


@pytest.fixture
def make_user(session, fast_hasher):
    def make(name: str, role: str = "engineer", **more: object) -> User:
        return users.create_user(session, name, "long-enough-password", role, hasher=fast_hasher, **more)

    return make


def _edited_by_four(session, make_user) -> None:
    """alice creates, bob and carl edit, alice edits last, alice releases for testing."""
    for name in ("alice", "bob", "carl"):
        make_user(name)
    recipes.create_version(session, RID, V1, "alice")
    for n, editor in enumerate(("bob", "carl", "alice")):
        recipes.update_draft(session, RID, 1, V1 + f"# edit {n}\n", editor)
    recipes.release_for_testing(session, RID, 1, users.get_user(session, "alice"), "simulated OK")


def test_every_editor_is_barred_from_approving_not_only_the_author_and_the_last(session, make_user):
    _edited_by_four(session, make_user)
    version = recipes.get_version(session, RID, 1)
    assert (version.author, version.last_modified_by) == ("alice", "alice")
    assert recipes.editors_of(version) == ["alice", "bob", "carl"]
    for name in ("alice", "bob", "carl"):
        with pytest.raises(SameAuthorError, match=f"{name} wrote or edited recipe 'pes-flat-sheet' version 1"):
            recipes.release_for_production(session, RID, 1, users.get_user(session, name), "ok")
    recipes.release_for_production(session, RID, 1, make_user("dora"), "reviewed")
    assert recipes.get_version(session, RID, 1).state == RecipeState.RELEASED_FOR_PRODUCTION.value


def test_an_admin_cannot_approve(session, make_user):
    _edited_by_four(session, make_user)
    with pytest.raises(SignatureRequiredError, match="ada is an admin and may not approve"):
        recipes.release_for_production(session, RID, 1, make_user("ada", "admin"), "ok")
    assert recipes.get_version(session, RID, 1).state == RecipeState.RELEASED_FOR_TESTING.value


def test_an_account_an_admin_created_is_barred_within_the_period_and_allowed_after(session, make_user):
    _edited_by_four(session, make_user)
    sock = make_user("sock", created_by="ada")  # the admin's second account
    created = sock.created_at
    wait = timedelta(days=30)
    with pytest.raises(SignatureRequiredError, match=(
            f"sock's account was created by admin ada on {created:%Y-%m-%d} and may approve for production only "
            f"from {created + wait:%Y-%m-%d}")):
        recipes.release_for_production(session, RID, 1, sock, "ok", admin_created_wait=wait,
                                       now=created + wait - timedelta(seconds=1))
    with pytest.raises(SignatureRequiredError, match="created by admin ada"):  # the default period is 30 days
        recipes.release_for_production(session, RID, 1, sock, "ok", now=created + timedelta(days=29))
    recipes.release_for_production(session, RID, 1, sock, "ok", admin_created_wait=wait, now=created + wait)
    assert recipes.get_version(session, RID, 1).state == RecipeState.RELEASED_FOR_PRODUCTION.value


def test_an_account_created_from_the_cli_may_approve_at_once(session, make_user):
    _edited_by_four(session, make_user)
    fresh = make_user("erin")  # created_by None: the plant's administrator on the server
    recipes.release_for_production(session, RID, 1, fresh, "ok", now=fresh.created_at)


def test_a_signature_keeps_the_printed_name_meaning_time_and_content_hash(session, make_user):
    _edited_by_four(session, make_user)
    approver = make_user("dora", full_name="Dora Q. Approver")
    before = datetime.now(UTC)
    signature = recipes.release_for_production(session, RID, 1, approver, "reviewed against the batch sheet")
    version = recipes.get_version(session, RID, 1)
    assert signature.full_name == "Dora Q. Approver"
    assert signature.meaning == "released_for_production"
    assert signature.reason == "reviewed against the batch sheet"
    assert before <= signature.signed_at <= datetime.now(UTC)
    assert signature.content_sha256 == version.content_sha256 == recipes.content_sha256(version.yaml_text)
    testing = version.signatures[0]
    assert (testing.meaning, testing.full_name) == ("released_for_testing", "alice")  # no full name: the user name
    assert recipes.unsigned_content(version) is None


def _tamper(engine: Engine, new_text: str, *, also_hash: bool) -> None:
    """What a privileged attacker does: the immutability trigger off, the released text rewritten
    (with its stored hash recomputed, or not)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER trg_recipe_versions_immutable")
        else:
            conn.exec_driver_sql("ALTER TABLE recipe_versions DISABLE TRIGGER trg_recipe_versions_immutable")
        sha = ", content_sha256 = :h" if also_hash else ""
        conn.execute(text(f"UPDATE recipe_versions SET yaml_text = :t{sha} WHERE version = 1"),
                     {"t": new_text, "h": recipes.content_sha256(new_text)})


@pytest.mark.parametrize("also_hash", [False, True], ids=["text-only", "text-and-hash"])
def test_a_text_changed_behind_the_application_is_not_the_text_signed(engine, session, make_user, also_hash):
    _edited_by_four(session, make_user)
    recipes.release_for_production(session, RID, 1, make_user("dora"), "reviewed")
    session.commit()
    _tamper(engine, V1.replace("150", "400"), also_hash=also_hash)
    session.expire_all()
    why = recipes.unsigned_content(recipes.get_version(session, RID, 1))
    assert why is not None
    assert "recipe 'pes-flat-sheet' version 1: the text's sha256" in why
    assert "signed for released_for_production" in why and "changed outside Poreline" in why


def test_a_tampered_draft_is_not_signed(engine, session, make_user):
    make_user("alice")
    recipes.create_version(session, RID, V1, "alice")
    session.commit()
    with engine.begin() as conn:  # a draft's text is writable, but its stored hash is not recomputed
        conn.execute(text("UPDATE recipe_versions SET yaml_text = 'id: pes-flat-sheet\n' WHERE version = 1"))
    session.expire_all()
    with pytest.raises(SignatureRequiredError, match="does not match its stored sha256"):
        recipes.release_for_testing(session, RID, 1, users.get_user(session, "alice"), "ok")
