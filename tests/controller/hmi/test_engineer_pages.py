"""The engineer's pages. Loop faceplates: everyone sees each loop's mode, measurement, setpoint
and output in display units; an engineer's form goes through the API's rules (a setpoint outside
the measurement's range is refused with the reason, a form without a reason too) and lands in
the audit trail. Simulator: the faults the line's simulator offers, injected and cleared by an
engineer. Operators get no form and a 403."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from api_support import wait_for
from fastapi.testclient import TestClient
from hmi_support import HmiSession

LOOP = "quench_bath_temperature"


def faceplate(html: str, loop: str) -> str:
    found = re.search(rf'<section class="faceplate[^"]*"[^>]*data-loop="{loop}">.*?</section>', html, re.DOTALL)
    assert found is not None, f"no faceplate of {loop}"
    return found.group(0)


def test_an_operator_sees_the_faceplates_without_a_form_and_may_not_change_a_loop(
        signed_in: Callable[[str], HmiSession]) -> None:
    op = signed_in("op")
    plate = faceplate(op.get("/hmi/loops").text, LOOP)
    assert "Quench bath temperature" in plate and "°C" in plate and "quench_bath.heater_output_pct" in plate
    assert "<form" not in plate
    response = op.post(f"/hmi/loops/{LOOP}", mode="manual", output="10", reason="curious")
    assert response.status_code == 403 and "needs role engineer" in response.text


def test_an_engineer_puts_a_loop_in_manual_with_a_reason_and_the_page_shows_it(
        hmi_client: TestClient, users: dict[str, dict[str, str]], signed_in: Callable[[str], HmiSession]) -> None:
    eng = signed_in("eng_a")
    page = eng.get("/hmi/loops").text
    assert 'aria-label="Apply to Quench bath temperature"' in faceplate(page, LOOP)

    response = eng.post(f"/hmi/loops/{LOOP}", mode="auto", setpoint="500", output="", reason="too hot")
    assert response.status_code == 422 and "outside quench_bath.temperature_c's range" in html.unescape(response.text)
    response = eng.post(f"/hmi/loops/{LOOP}", mode="manual", setpoint="20", output="15", reason=" ")
    assert response.status_code == 422 and "reason" in response.text

    response = eng.post(f"/hmi/loops/{LOOP}", mode="manual", setpoint="20", output="15", reason="preheat")
    assert response.status_code == 200, response.text
    assert f"loop {LOOP}: manual, setpoint 20, output 15" in response.text
    plate = faceplate(response.text, LOOP)
    assert "mode-manual" in plate and re.search(r"15\.0 %", plate)

    response = eng.post(f"/hmi/loops/{LOOP}", mode="off", setpoint="20", output="15", reason="done")
    assert response.status_code == 200 and f"loop {LOOP}: off" in response.text, response.text  # output ignored off
    def audit() -> list[tuple[str, str, float | None, str]]:  # the runtime's historian writes it, off its scan
        return [(e["actor"], e["details"]["mode"], e["details"]["output"], e["details"]["reason"])
                for e in hmi_client.get("/audit", headers=users["view"]).json() if e["action"] == "loop.set"]

    wait_for(lambda: len(audit()) >= 2, "the audit trail")
    assert audit() == [("eng_a", "manual", 15.0, "preheat"), ("eng_a", "off", None, "done")]


def test_an_engineer_injects_and_clears_a_simulator_fault_from_the_simulator_page(
        signed_in: Callable[[str], HmiSession]) -> None:
    op = signed_in("op")
    page = op.get("/hmi/simulator").text
    assert 'data-fault="heater"' in page and "<form" not in page.split("<h1>Simulator</h1>")[1]
    assert op.post("/hmi/simulator/faults", kind="heater", device="quench_bath").status_code == 403

    eng = signed_in("eng_a")
    response = eng.post("/hmi/simulator/faults", kind="heater", device="support_belt")
    assert response.status_code == 422 and "support_belt" in html.unescape(response.text), response.text
    response = eng.post("/hmi/simulator/faults", kind="heater", device="quench_bath")
    assert response.status_code == 200, response.text
    assert "fault heater injected on quench_bath" in response.text
    assert re.search(r"<h2>Active faults</h2>\s*<ul class=\"faults\"><li>[^<]*quench_bath", response.text)
    response = eng.post("/hmi/simulator/clear")
    assert response.status_code == 200 and "faults cleared; active: none" in response.text, response.text


def test_an_engineer_sets_the_unit_mode_on_run_control_and_every_page_shows_it(
        signed_in: Callable[[str], HmiSession]) -> None:
    op = signed_in("op")
    assert 'id="unit-mode"' not in op.get("/hmi/run").text  # operators see the mode, engineers set it
    assert op.post("/hmi/unit-mode", mode="maintenance", reason="x").status_code == 403

    eng = signed_in("eng_a")
    response = eng.post("/hmi/unit-mode", mode="maintenance", reason="bath heater service")
    assert response.status_code == 200 and "unit mode Maintenance" in response.text, response.text
    assert re.search(r"<dt>Mode</dt><dd>Maintenance</dd>", op.get("/").text)  # the overview's status panel
    try:
        assert eng.post("/hmi/unit-mode", mode="maintenance", reason=" ").status_code == 422
    finally:
        response = eng.post("/hmi/unit-mode", mode="production", reason="service done")
    assert response.status_code == 200 and "unit mode Production" in response.text, response.text
