"""The recipe pages: the list and one version (formula with units and limits, procedure as steps
and transitions); upload as a file or pasted text, each validation error shown under the line
of its field; release for testing and for production with the e-signature (user name, password,
meaning) through the API's code path, so a wrong password is refused, shown and audited; the diff
of two versions. Viewers read, engineers upload and release."""

from __future__ import annotations

import re
from collections.abc import Callable

from api_support import PASSWORD, short_recipe
from fastapi.testclient import TestClient
from hmi_support import HmiSession

RECIPE_ID = "psf-microfilter-ex8"  # the header.id of short_recipe()


def upload(engineer: HmiSession, text: str, comment: str = "from the HMI") -> tuple[str, int]:
    """Paste ``text`` into the upload form; the new version's (recipe id, version)."""
    response = engineer.client.post("/hmi/recipes/upload", data={"csrf_token": engineer.csrf, "yaml_text": text,
                                                                  "comment": comment}, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/hmi/recipes/([\w.-]+)/versions/(\d+)", response.headers["location"])
    assert found is not None, response.headers["location"]
    return found.group(1), int(found.group(2))


def sign(session: HmiSession, url: str, username: str, password: str = PASSWORD, reason: str = "checked") -> str:
    response = session.post(url, username=username, password=password, reason=reason)
    return f"{response.status_code} {response.text}"


def test_a_viewer_reads_recipes_but_may_neither_upload_nor_release(signed_in: Callable[[str], HmiSession]) -> None:
    recipe_id, version = upload(signed_in("eng_a"), short_recipe(version_comment="viewer test"))
    view = signed_in("view")
    listing = view.get("/hmi/recipes").text
    assert f'href="/hmi/recipes/{recipe_id}/versions/{version}"' in listing
    assert "Upload as draft" not in listing and "needs role engineer" in listing
    page = view.get(f"/hmi/recipes/{recipe_id}/versions/{version}").text
    assert "Release for testing" not in page

    refused = view.post("/hmi/recipes/upload", yaml_text=short_recipe())
    assert refused.status_code == 403 and "role viewer may not upload recipes" in refused.text
    refused = view.post(f"/hmi/recipes/{recipe_id}/versions/{version}/release-for-testing",
                        username="view", password=PASSWORD, reason="curious")
    assert refused.status_code == 403 and "Refused (403)" in refused.text


def test_an_engineer_uploads_a_file_and_sees_its_formula_and_procedure(signed_in: Callable[[str], HmiSession]) -> None:
    eng = signed_in("eng_a")
    text = short_recipe(version_comment="uploaded as a file")
    response = eng.client.post("/hmi/recipes/upload", data={"csrf_token": eng.csrf, "comment": "a file"},
                               files={"file": ("recipe.yaml", text.encode(), "application/yaml")})
    assert response.status_code == 200, response.text
    page = response.text
    assert 'data-recipe-state="draft"' in page and "a file" in page
    line_speed = re.search(r'data-parameter="line_speed">(.*?)</tr>', page, re.S)
    assert line_speed is not None
    assert re.findall(r"<td[^>]*>([^<]*)</td>", line_speed.group(1)) == ["2", "m/min", "0.5", "5"]
    steps = re.findall(r'data-step="(\w+)"', page)
    assert steps == ["warm_up", "production", "shutdown"]
    production = page[page.index('data-step="production"'):page.index('data-step="shutdown"')]
    assert "set dope_pump_1.speed_setpoint_rpm to" in production
    assert "Next step when <code>true</code> has held for 0:30:00" in production  # production_time = 30 min


def test_an_upload_with_errors_shows_each_at_the_line_of_its_field(signed_in: Callable[[str], HmiSession]) -> None:
    text = short_recipe().replace('line_speed: {value: "2 m/min"', 'line_speed: {value: "9 m/min"')
    eng = signed_in("eng_a")
    response = eng.post("/hmi/recipes/upload", yaml_text=text)
    assert response.status_code == 422, response.text
    number = next(n for n, line in enumerate(text.splitlines(), start=1) if line.lstrip().startswith("line_speed:"))
    shown = re.search(rf'<li id="line-{number}" value="{number}" class="has-error"><code>\s*line_speed: [^<]*</code>\s*'
                      r'<p class="field-error" data-field="formula\.line_speed\.value"[^>]*>(.*?)</p>', response.text, re.S)
    assert shown is not None, "the error is not under the line_speed line"
    assert "outside its limits 0.5..5 m/min" in shown.group(1)
    assert 'aria-invalid="true"' in response.text and "9 m/min" in response.text  # the text stays in the form

    nothing = eng.post("/hmi/recipes/upload", yaml_text="  ")
    assert nothing.status_code == 422 and "choose a YAML file or paste the recipe text" in nothing.text


def test_release_signs_with_user_name_and_password_and_a_wrong_password_is_refused(
        hmi_client: TestClient, users: dict[str, dict[str, str]], signed_in: Callable[[str], HmiSession]) -> None:
    eng_a, eng_b = signed_in("eng_a"), signed_in("eng_b")
    recipe_id, version = upload(eng_a, short_recipe(version_comment="to release"))
    url = f"/hmi/recipes/{recipe_id}/versions/{version}"
    page = eng_a.get(url).text
    assert "Meaning: Released for testing" in page and 'name="password" type="password"' in page

    refused = sign(eng_a, f"{url}/release-for-testing", "eng_a", password="not-my-password")
    assert refused.startswith("403") and "Refused (403)" in refused and 'data-recipe-state="draft"' in refused
    trail = hmi_client.get("/audit", params={"limit": 10_000}, headers=users["admin"]).json()
    assert any(e["action"] == "recipe.signature_refused" and e["subject"] == f"recipe {recipe_id} v{version}"
               and e["actor"] == "eng_a" for e in trail)
    assert sign(eng_a, f"{url}/release-for-testing", "eng_b").startswith("403")  # sign with your own name

    done = sign(eng_a, f"{url}/release-for-testing", "eng_a")
    assert done.startswith("200") and "released for testing, signed by eng_a" in done
    assert "Meaning: Released for production" in done

    own = sign(eng_a, f"{url}/release-for-production", "eng_a")  # the author may not approve
    assert own.startswith("403") and 'data-recipe-state="released_for_testing"' in own
    approved = sign(eng_b, f"{url}/release-for-production", "eng_b", reason="reviewed")
    assert approved.startswith("200") and 'data-recipe-state="released_for_production"' in approved
    assert re.search(r"released for production</td><td>Bruno Approver \(eng_b\)</td>", approved)


def test_the_diff_shows_the_changed_line(signed_in: Callable[[str], HmiSession]) -> None:
    eng = signed_in("eng_a")
    _, older = upload(eng, short_recipe(production_min=20))
    _, newer = upload(eng, short_recipe(production_min=25))
    page = eng.get(f"/hmi/recipes/{RECIPE_ID}/versions/{newer}").text
    assert f'<option value="{older}" selected>' in page  # the compare form offers the version before
    diff = eng.get(f"/hmi/recipes/{RECIPE_ID}/diff?from_version={older}&to_version={newer}")
    assert diff.status_code == 200, diff.text
    assert re.search(r'<del>-\s*production_time: \{value: &#34;20 min&#34;\}</del>', diff.text)
    assert re.search(r'<ins>\+\s*production_time: \{value: &#34;25 min&#34;\}</ins>', diff.text)
    assert "production_timeout" in diff.text  # changed too
    assert "<del>-  dope_temperature" not in diff.text  # an unchanged line is not marked
