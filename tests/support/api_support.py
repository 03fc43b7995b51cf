"""Helpers of the API tests (reached through the ``api`` fixture in
tests/controller/api/conftest.py, or imported by name from other test folders): users,
logins, recipe release with two engineers' signatures (user name and password re-entered),
bounded waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import typer
from fastapi.testclient import TestClient
from paths import RECIPES
from typer.testing import CliRunner

from controller.cli.admin import register

PASSWORD = "correct-horse-battery"


def cli(*args: str, stdin: str | None = None) -> Any:
    """Run the admin CLI commands in-process (typer's runner), ``stdin`` as standard input."""
    app = typer.Typer()
    app.command("noop")(lambda: None)
    register(app)
    return CliRunner().invoke(app, list(args), input=stdin)


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def cli_user(url: str, username: str, role: str, full_name: str | None = None) -> None:
    """Create a user with the CLI (as the plant's administrator does on the server; such an
    account has no ``created_by``)."""
    names = ["--full-name", full_name] if full_name else []
    result = cli("users", "create", username, "--role", role, "--password-stdin", *names, "--database", url,
                 stdin=PASSWORD + "\n")
    assert result.exit_code == 0, result.output


FULL_NAMES = {"admin": "Ada Admin", "eng_a": "Anna Author", "eng_b": "Bruno Approver", "op": "Otto Operator",
              "view": "Vera Viewer"}


def create_users(client: TestClient, url: str) -> dict[str, dict[str, str]]:
    """admin and engineer B (the approver: an account an admin creates through the API may not
    approve for 30 days) via the CLI; engineer A, an operator and a viewer via the API.
    Returns the Authorization headers by name."""
    cli_user(url, "admin", "admin", FULL_NAMES["admin"])
    cli_user(url, "eng_b", "engineer", FULL_NAMES["eng_b"])
    headers = {"admin": login(client, "admin"), "eng_b": login(client, "eng_b")}
    for name, role in (("eng_a", "engineer"), ("op", "operator"), ("view", "viewer")):
        response = client.post("/users", json={"username": name, "password": PASSWORD, "role": role,
                                                "full_name": FULL_NAMES[name]}, headers=headers["admin"])
        assert response.status_code == 201, response.text
        headers[name] = login(client, name)
    return headers


def signature(username: str, reason: str = "tested", password: str = PASSWORD, **more: str) -> dict[str, str]:
    """The body of a signature: the signer's user name and password, re-entered, and the reason."""
    return {"username": username, "password": password, "reason": reason, **more}


def release(client: TestClient, h: dict[str, dict[str, str]], yaml_text: str, password: str,
            line_id: str | None = None) -> tuple[str, int]:
    """Create a recipe as eng_a, release it for testing (eng_a) and production (eng_b), on
    ``line_id`` only when given."""
    created = client.post("/recipes", json={"yaml_text": yaml_text, "comment": "test"}, headers=h["eng_a"])
    assert created.status_code == 201, created.text
    recipe_id, version = created.json()["recipe_id"], created.json()["version"]
    url = f"/recipes/{recipe_id}/versions/{version}"
    for step, who in (("release-for-testing", "eng_a"), ("release-for-production", "eng_b")):
        body = signature(who, password=password)
        body |= {"line_id": line_id} if line_id and step == "release-for-production" else {}
        r = client.post(f"{url}/{step}", json=body, headers=h[who])
        assert r.status_code == 200, r.text
    return recipe_id, version


def short_recipe(production_min: int = 30, version_comment: str = "") -> str:
    """Example VIII with a short procedure that does not depend on slow physics:
    warm up (bath loop, belt running), production for ``production_min``, shutdown."""
    text = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")
    head, _, _ = text.partition("procedure:\n")
    head = head.replace('production_time: {value: "2 h"}', f'production_time: {{value: "{production_min} min"}}')
    head = head.replace('production_timeout: {value: "2.5 h"}',
                        f'production_timeout: {{value: "{production_min + 30} min"}}')
    procedure = """procedure:
  - step: warm_up
    description: Heat the quench bath, open the gap, start the belt.
    actions:
      - {loop: quench_bath_temperature, mode: auto, setpoint: quench_temperature}
      - {set: dryer.fan_on, value: 1}
      - {set: casting_knife.gap_1_setpoint_um, value: layer_1_gap}
      - {set: support_belt.line_speed_setpoint_m_min, value: line_speed}
    transition: {condition: "true", hold_for: "2 min", timeout: "10 min", on_timeout: continue}
  - step: production
    description: Steady casting.
    production: true
    actions:
      - {set: dope_vessel_1.agitator_speed_setpoint_rpm, value: "60 rpm"}
      - {set: dope_pump_1.speed_setpoint_rpm, value: layer_1_pump_speed}
    transition: {condition: "true", hold_for: production_time, timeout: production_timeout, on_timeout: continue}
  - step: shutdown
    description: Everything off.
    actions:
      - {loop: quench_bath_temperature, mode: manual, output: "0 %"}
      - {set: dryer.fan_on, value: 0}
      - {set: casting_knife.gap_1_setpoint_um, value: "0 um"}
      - {set: dope_vessel_1.agitator_speed_setpoint_rpm, value: "0 rpm"}
      - {set: dope_pump_1.speed_setpoint_rpm, value: "0 rpm"}
      - {set: support_belt.line_speed_setpoint_m_min, value: "0 m/min"}
    transition: {condition: "true", hold_for: "10 s", timeout: "5 min", on_timeout: continue}
"""
    if version_comment:
        head = head.replace("header:\n", f"# {version_comment}\nheader:\n", 1)
    return head + procedure


def line_tags(line: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every tag of a ``GET /line`` answer by address: measurements, the setpoints paired with
    them, the other setpoints, commands and derived tags of every device."""
    tags: dict[str, dict[str, Any]] = {}
    for device in line["devices"]:
        for group in ("measurements", "setpoints", "commands", "derived"):
            for tag in device[group]:
                tags[tag["address"]] = tag
                if tag.get("setpoint") is not None:
                    tags[tag["setpoint"]["address"]] = tag["setpoint"]
    return tags


def wait_for(probe: Callable[[], Any], what: str, timeout_s: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")


def run_state(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get("/runs/current", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def closed_record(client: TestClient, headers: dict[str, str], run_id: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """The batch record of ``run_id`` once it is closed: the runtime's historian writes it off
    the scan path, moments after the line reached its final state."""
    def closed() -> dict[str, Any] | None:
        r = client.get(f"/runs/{run_id}/record", headers=headers)
        return r.json() if r.status_code == 200 and r.json()["run"]["final_state"] is not None else None

    return wait_for(closed, f"run {run_id}'s record to be closed", timeout_s)
