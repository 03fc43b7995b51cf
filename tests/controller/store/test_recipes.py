from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from controller.store import (
    AuditEntry,
    ImmutableVersionError,
    InvalidTransitionError,
    RecipeState,
    SameAuthorError,
    SignatureRequiredError,
    audit,
    recipes,
    users,
)

V1 = "id: pes-flat-sheet\nformula:\n  gap_um: 150\n  line_speed_m_min: 2.0\n"
V2 = "id: pes-flat-sheet\nformula:\n  gap_um: 180\n  line_speed_m_min: 2.0\n"


@pytest.fixture
def team(session, fast_hasher):
    make = lambda name, role: users.create_user(session, name, "long-enough-password", role, hasher=fast_hasher)
    return {
        "alice": make("alice", "engineer"),
        "bob": make("bob", "engineer"),
        "carl": make("carl", "engineer"),
        "oscar": make("oscar", "operator"),
        "ada": make("ada", "admin"),
    }


def _tested(session, team, yaml_text=V1):
    v = recipes.create_version(session, "pes-flat-sheet", yaml_text, "alice")
    recipes.release_for_testing(session, "pes-flat-sheet", v.version, team["alice"], "simulated OK")
    return v


def test_a_new_recipe_starts_as_draft_version_1_with_its_checksum(session):
    v = recipes.create_version(session, "pes-flat-sheet", V1, "alice", comment="first")
    assert (v.version, v.state, v.author) == (1, "draft", "alice")
    assert v.content_sha256 == recipes.content_sha256(V1)


def test_drafts_are_editable(session):
    recipes.create_version(session, "pes-flat-sheet", V1, "alice")
    edited = recipes.update_draft(session, "pes-flat-sheet", 1, V2, "bob")
    assert (edited.version, edited.yaml_text, edited.last_modified_by) == (1, V2, "bob")


def test_a_released_version_is_immutable(session, team):
    v = _tested(session, team)
    with pytest.raises(ImmutableVersionError, match="immutable"):
        recipes.update_draft(session, "pes-flat-sheet", 1, V2, "alice")
    with pytest.raises(ImmutableVersionError):
        v.yaml_text = V2
    session.commit()
    assert recipes.get_version(session, "pes-flat-sheet", 1).yaml_text == V1


def test_the_database_refuses_changing_a_released_version_behind_the_orm(engine: Engine, session, team):
    _tested(session, team)
    recipes.edit_recipe(session, "pes-flat-sheet", V2, "alice")
    session.commit()
    with pytest.raises(DBAPIError, match="immutable"), engine.begin() as conn:
        conn.execute(text("UPDATE recipe_versions SET yaml_text = 'hacked' WHERE version = 1"))
    with engine.begin() as conn:  # the draft v2 stays editable
        conn.execute(text("UPDATE recipe_versions SET yaml_text = 'draft edit' WHERE version = 2"))
    session.expire_all()
    assert recipes.get_version(session, "pes-flat-sheet", 1).yaml_text == V1
    assert recipes.get_version(session, "pes-flat-sheet", 2).yaml_text == "draft edit"


def test_editing_a_released_recipe_creates_a_new_editable_draft(session, team):
    _tested(session, team)
    v2 = recipes.edit_recipe(session, "pes-flat-sheet", V2, "alice")
    assert (v2.version, v2.state) == (2, "draft")
    again = recipes.edit_recipe(session, "pes-flat-sheet", V2.replace("180", "175"), "alice")
    assert again.version == 2 and "175" in again.yaml_text  # the draft was edited, not copied
    assert recipes.get_version(session, "pes-flat-sheet", 1).yaml_text == V1
    assert [v.version for v in recipes.list_versions(session, "pes-flat-sheet")] == [1, 2]


def test_the_author_cannot_release_their_own_version_for_production(session, team):
    _tested(session, team)
    with pytest.raises(SameAuthorError, match=r"alice wrote or edited .* another engineer must sign"):
        recipes.release_for_production(session, "pes-flat-sheet", 1, team["alice"], "looks good")
    assert recipes.get_version(session, "pes-flat-sheet", 1).state == "released_for_testing"


def test_a_last_editor_cannot_release_for_production_either(session, team):
    recipes.create_version(session, "pes-flat-sheet", V1, "alice")
    recipes.update_draft(session, "pes-flat-sheet", 1, V2, "bob")
    recipes.release_for_testing(session, "pes-flat-sheet", 1, team["alice"], "sim OK")
    with pytest.raises(SameAuthorError):
        recipes.release_for_production(session, "pes-flat-sheet", 1, team["bob"], "ok")


def test_an_operator_signature_is_not_enough(session, team):
    _tested(session, team)
    with pytest.raises(SignatureRequiredError, match="role engineer or above; oscar has role operator"):
        recipes.release_for_production(session, "pes-flat-sheet", 1, team["oscar"], "ok")


def test_a_second_engineer_releases_for_production_and_the_signature_is_recorded(session, team):
    _tested(session, team)
    signature = recipes.release_for_production(session, "pes-flat-sheet", 1, team["bob"], "trial batch 42 in spec")
    session.commit()
    version = recipes.get_version(session, "pes-flat-sheet", 1)
    assert version.state == "released_for_production"
    assert [(s.meaning, s.user.username, s.reason) for s in version.signatures] == [
        ("released_for_testing", "alice", "simulated OK"),
        ("released_for_production", "bob", "trial batch 42 in spec"),
    ]
    assert signature.signed_at.tzinfo is not None
    assert recipes.production_version(session, "pes-flat-sheet").version == 1
    actions = session.execute(select(AuditEntry.action, AuditEntry.actor).order_by(AuditEntry.id)).all()
    assert ("recipe.released_for_production", "bob") in actions
    assert audit.verify(session).ok


def test_production_release_requires_testing_first(session, team):
    recipes.create_version(session, "pes-flat-sheet", V1, "alice")
    with pytest.raises(InvalidTransitionError, match="only released_for_testing"):
        recipes.release_for_production(session, "pes-flat-sheet", 1, team["bob"], "skip testing")


def test_a_new_production_release_obsoletes_the_previous_one(session, team):
    _tested(session, team)
    recipes.release_for_production(session, "pes-flat-sheet", 1, team["bob"], "ok")
    recipes.edit_recipe(session, "pes-flat-sheet", V2, "alice")
    recipes.release_for_testing(session, "pes-flat-sheet", 2, team["alice"], "sim OK")
    recipes.release_for_production(session, "pes-flat-sheet", 2, team["carl"], "ok")
    v1 = recipes.get_version(session, "pes-flat-sheet", 1)
    assert v1.state == RecipeState.OBSOLETE.value
    assert v1.signatures[-1].meaning == "obsoleted" and "superseded by version 2" in v1.signatures[-1].reason
    assert recipes.production_version(session, "pes-flat-sheet").version == 2


def test_obsoleting_is_signed_and_final(session, team):
    _tested(session, team)
    recipes.obsolete(session, "pes-flat-sheet", 1, team["bob"], "solvent withdrawn")
    with pytest.raises(InvalidTransitionError):
        recipes.release_for_production(session, "pes-flat-sheet", 1, team["carl"], "ok")
    assert recipes.get_version(session, "pes-flat-sheet", 1).signatures[-1].meaning == "obsoleted"


def test_signatures_need_a_reason(session, team):
    recipes.create_version(session, "pes-flat-sheet", V1, "alice")
    with pytest.raises(SignatureRequiredError, match="reason"):
        recipes.release_for_testing(session, "pes-flat-sheet", 1, team["alice"], " ")


def test_diff_between_versions_is_a_unified_diff_of_the_yaml(session, team):
    _tested(session, team)
    recipes.edit_recipe(session, "pes-flat-sheet", V2, "alice")
    diff = recipes.diff_versions(session, "pes-flat-sheet", 1, 2)
    assert "-  gap_um: 150\n" in diff and "+  gap_um: 180\n" in diff
    assert diff.startswith("--- pes-flat-sheet v1")
    assert recipes.diff_versions(session, "pes-flat-sheet", 1, 1) == ""


def test_a_validator_rejection_stores_nothing(session):
    def validator(yaml_text: str) -> None:
        if "gap_um: 180" in yaml_text:
            raise ValueError("gap too wide for this knife")

    recipes.create_version(session, "pes-flat-sheet", V1, "alice", validator=validator)
    with pytest.raises(ValueError, match="gap too wide"):
        recipes.update_draft(session, "pes-flat-sheet", 1, V2, "alice", validator=validator)
    assert recipes.get_version(session, "pes-flat-sheet", 1).yaml_text == V1


def test_a_release_for_one_line_supersedes_only_that_lines_release(session, team):
    _tested(session, team)
    recipes.release_for_production(session, "pes-flat-sheet", 1, team["bob"], "line 1 trial in spec", line_id="casting-1")
    recipes.edit_recipe(session, "pes-flat-sheet", V2, "alice")
    recipes.release_for_testing(session, "pes-flat-sheet", 2, team["alice"], "sim OK")
    recipes.release_for_production(session, "pes-flat-sheet", 2, team["carl"], "line 2 trial in spec", line_id="casting-2")
    session.commit()

    v1, v2 = (recipes.get_version(session, "pes-flat-sheet", n) for n in (1, 2))
    assert (v1.state, v1.released_for_line) == ("released_for_production", "casting-1")  # still casting-1's
    assert (v2.state, v2.released_for_line) == ("released_for_production", "casting-2")
    assert recipes.production_version(session, "pes-flat-sheet", "casting-1").version == 1
    assert recipes.production_version(session, "pes-flat-sheet", "casting-2").version == 2
    assert recipes.production_version(session, "pes-flat-sheet", "casting-3") is None
    details = session.execute(select(AuditEntry.details).where(
        AuditEntry.action == "recipe.released_for_production").order_by(AuditEntry.id)).scalars().all()
    assert [d["released_for_line"] for d in details] == ["casting-1", "casting-2"]  # signed and chained
    assert audit.verify(session).ok


def test_a_release_for_every_line_supersedes_the_line_releases(session, team):
    _tested(session, team)
    recipes.release_for_production(session, "pes-flat-sheet", 1, team["bob"], "ok", line_id="casting-1")
    recipes.edit_recipe(session, "pes-flat-sheet", V2, "alice")
    recipes.release_for_testing(session, "pes-flat-sheet", 2, team["alice"], "sim OK")
    recipes.release_for_production(session, "pes-flat-sheet", 2, team["carl"], "every line")
    assert recipes.get_version(session, "pes-flat-sheet", 1).state == RecipeState.OBSOLETE.value
    assert recipes.production_version(session, "pes-flat-sheet", "casting-1").version == 2
