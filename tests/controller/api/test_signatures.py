"""E-signatures through the API (issue 11, item 5): user name and password re-entered for
each signature, refusals audited; no editor, admin or recently admin-created account
approves; the signature shows the printed name and the hash signed; a run refuses a text
that is not the text signed (409 with the reason).

Users (tests/support/api_support.py ``create_users``): admin and eng_b from the CLI, eng_a,
op and view created by the admin through the API (so eng_a may not approve for 30 days)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from controller.store import create_engine_for, recipes


@pytest.fixture
def h(sqlite_client, sqlite_url, api):
    return api.create_users(sqlite_client, sqlite_url)


def _draft(client, h, api, who: str = "eng_a") -> str:
    created = client.post("/recipes", json={"yaml_text": api.short_recipe()}, headers=h[who])
    assert created.status_code == 201, created.text
    return f"/recipes/{created.json()['recipe_id']}/versions/{created.json()['version']}"


def _tested(client, h, api, who: str = "eng_a") -> str:
    url = _draft(client, h, api, who)
    r = client.post(f"{url}/release-for-testing", json=api.signature(who), headers=h[who])
    assert r.status_code == 200, r.text
    return url


def _audit(client, h, action: str) -> list[dict]:
    entries = client.get("/audit", headers=h["view"]).json()
    return [e for e in entries if e["action"] == action]


def test_a_wrong_user_name_is_refused_and_audited(sqlite_client, h, api):
    url = _tested(sqlite_client, h, api)
    r = sqlite_client.post(f"{url}/release-for-production", json=api.signature("eng_a"), headers=h["eng_b"])
    assert r.status_code == 403
    assert r.json()["detail"].startswith("username: the user name entered is not the logged-in user's")
    refused = _audit(sqlite_client, h, "recipe.signature_refused")
    assert len(refused) == 1
    assert refused[0]["actor"] == "eng_b"
    assert refused[0]["details"]["username_entered"] == "eng_a"
    assert refused[0]["details"]["meaning"] == "released_for_production"
    assert sqlite_client.get(url, headers=h["view"]).json()["state"] == "released_for_testing"


def test_a_wrong_password_is_refused_and_audited_without_the_password(sqlite_client, h, api):
    url = _tested(sqlite_client, h, api)
    r = sqlite_client.post(f"{url}/release-for-production", json=api.signature("eng_b", password="not-the-password"),
                           headers=h["eng_b"])
    assert r.status_code == 403
    assert "password: the signature password is wrong" in r.json()["detail"]
    assert "not-the-password" not in r.text
    refused = _audit(sqlite_client, h, "recipe.signature_refused")
    assert len(refused) == 1 and refused[0]["actor"] == "eng_b" and "wrong" in refused[0]["details"]["why"]
    auth_refused = _audit(sqlite_client, h, "auth.signature_refused")
    assert [e["subject"] for e in auth_refused] == ["user eng_b"]
    assert "not-the-password" not in str(sqlite_client.get("/audit", headers=h["view"]).json())
    assert sqlite_client.get(url, headers=h["view"]).json()["state"] == "released_for_testing"


def test_every_editor_is_refused_the_approval(sqlite_client, h, api):
    url = _draft(sqlite_client, h, api)  # eng_a writes it, eng_b edits it, eng_a edits it last
    for who, comment in (("eng_b", "eng_b's edit"), ("eng_a", "eng_a's last edit")):
        r = sqlite_client.put(url, json={"yaml_text": api.short_recipe(version_comment=comment)}, headers=h[who])
        assert r.status_code == 200, r.text
    version = sqlite_client.get(url, headers=h["view"]).json()
    assert (version["author"], version["last_modified_by"], version["editors"]) == ("eng_a", "eng_a",
                                                                                    ["eng_a", "eng_b"])
    assert sqlite_client.post(f"{url}/release-for-testing", json=api.signature("eng_a"),
                              headers=h["eng_a"]).status_code == 200
    r = sqlite_client.post(f"{url}/release-for-production", json=api.signature("eng_b"), headers=h["eng_b"])
    assert r.status_code == 403
    assert "eng_b wrote or edited" in r.json()["detail"] and "another engineer must sign" in r.json()["detail"]


def test_an_admin_cannot_approve(sqlite_client, h, api):
    url = _tested(sqlite_client, h, api, "eng_b")
    r = sqlite_client.post(f"{url}/release-for-production", json=api.signature("admin"), headers=h["admin"])
    assert r.status_code == 403 and "admin is an admin and may not approve" in r.json()["detail"]


def test_an_account_an_admin_created_cannot_approve_within_the_period(sqlite_client, h, api):
    url = _tested(sqlite_client, h, api, "eng_b")
    r = sqlite_client.post(f"{url}/release-for-production", json=api.signature("eng_a"), headers=h["eng_a"])
    assert r.status_code == 403
    assert "eng_a's account was created by admin admin" in r.json()["detail"]
    assert sqlite_client.get(url, headers=h["view"]).json()["state"] == "released_for_testing"


def test_the_signature_shows_the_printed_name_meaning_time_and_hash(sqlite_client, h, api):
    url = _tested(sqlite_client, h, api)
    r = sqlite_client.post(f"{url}/release-for-production", json=api.signature("eng_b", "reviewed"),
                           headers=h["eng_b"])
    assert r.status_code == 200, r.text
    version = r.json()
    testing, production = version["signatures"]
    assert (testing["username"], testing["full_name"], testing["meaning"]) == (
        "eng_a", "Anna Author", "released_for_testing")
    assert (production["username"], production["full_name"], production["meaning"], production["reason"]) == (
        "eng_b", "Bruno Approver", "released_for_production", "reviewed")
    assert production["signed_at"] and production["content_sha256"] == version["content_sha256"]


def test_a_run_refuses_a_text_changed_behind_the_application(sqlite_client, sqlite_url, h, api):
    recipe_id, version = api.release(sqlite_client, h, api.short_recipe(), api.PASSWORD)
    tampered = api.short_recipe().replace('gap: "380 um"', 'gap: "480 um"')
    assert tampered != api.short_recipe()
    engine = create_engine_for(sqlite_url)
    try:
        with engine.begin() as conn:  # a privileged attacker: the immutability trigger off, text and hash rewritten
            conn.exec_driver_sql("DROP TRIGGER trg_recipe_versions_immutable")
            conn.execute(text("UPDATE recipe_versions SET yaml_text = :t, content_sha256 = :h WHERE version = :v"),
                         {"t": tampered, "h": recipes.content_sha256(tampered), "v": version})
    finally:
        engine.dispose()
    r = sqlite_client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail.startswith(f"version: recipe {recipe_id!r} version {version}: the text's sha256")
    assert "signed for released_for_production" in detail and "changed outside Poreline: do not run it" in detail
    assert api.run_state(sqlite_client, h["op"])["run_id"] is None
    refused = _audit(sqlite_client, h, "run.start_refused")
    assert len(refused) == 1 and refused[0]["actor"] == "op"
    assert refused[0]["details"]["sha256"] == recipes.content_sha256(tampered)
