"""The PDF batch report parsed back, and the wide CSV, of one run made over HTTP against the
simulated line: released by two engineers, started by an operator, a dope pump jammed in
production (its interlock forced the pump safe and held the run: a production deviation and an
alarm), freed, acknowledged, unheld with a reason, and run to Complete. The report is fetched
through the API and written by the CLI; both are read with pypdf."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import api_support as api
import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from controller.api import Settings, create_app
from controller.cli.main import app as cli_app
from controller.lines import kind_named
from controller.report import gather
from controller.report.analysis import hms
from controller.report.model import Report
from controller.store import create_engine_for

ALARM = "DOPE_PUMP_1_STALLED"
PUMP_SETPOINT = "dope_pump_1.speed_setpoint_rpm"
SPECIFICATION = 'specification:\n  - {quantity: casting_knife.wet_thickness_um, low: "150 um", high: "350 um"}\n'
SPEED = 300.0  # simulated seconds per wall second


@dataclass(frozen=True)
class FaultedRun:
    client: TestClient
    headers: dict[str, dict[str, str]]
    url: str
    run_id: int
    record: dict[str, Any]
    pdf: bytes
    pages: list[str]


def pump_setpoint(client: TestClient, headers: dict[str, str]) -> float | None:
    r = client.get("/line", headers=headers)
    assert r.status_code == 200, r.text
    return api.line_tags(r.json())[PUMP_SETPOINT]["value"]


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def faulted_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultedRun]:
    tmp = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{tmp / 'poreline.db'}"
    settings = Settings(database_url=url, sim_speed=SPEED, scan_period_s=1.0, sample_period_s=5.0,
                        state_dir=tmp / "runtime")
    with TestClient(create_app(settings)) as client:
        h = api.create_users(client, url)
        recipe_id, version = api.release(client, h, api.short_recipe(production_min=20) + SPECIFICATION,
                                         api.PASSWORD)
        r = client.post("/runs", json={"recipe_id": recipe_id, "version": version, "reason": "report test"},
                        headers=h["op"])
        assert r.status_code == 202, r.text
        run_id = api.wait_for(lambda: (s := api.run_state(client, h["op"]))["step_name"] == "production"
                              and s["run_id"], "the production step", 60)
        api.wait_for(lambda: pump_setpoint(client, h["view"]), "the pump running")
        r = client.post("/sim/faults", json={"kind": "pump", "device": "dope_pump_1"}, headers=h["eng_a"])
        assert r.status_code == 201, r.text
        api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Held", "the interlock's hold", 60)
        r = client.delete("/sim/faults", params={"device": "dope_pump_1"}, headers=h["eng_a"])
        assert r.status_code == 200, r.text
        r = client.post(f"/alarms/{ALARM}/acknowledge", headers=h["op"])
        assert r.status_code == 200, r.text
        r = client.post("/runs/current/unhold", json={"reason": "pump freed"}, headers=h["op"])
        assert r.status_code == 202, r.text
        record = api.closed_record(client, h["view"], run_id, timeout_s=120)
        r = client.get(f"/runs/{run_id}/report.pdf", headers=h["view"])
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        yield FaultedRun(client, h, url, run_id, record, r.content, page_texts(r.content))


@pytest.fixture(scope="module")
def report(faulted_run: FaultedRun) -> Report:
    engine = create_engine_for(faulted_run.url)
    try:
        with Session(engine) as session:
            return gather(session, faulted_run.run_id)
    finally:
        engine.dispose()


def whole(faulted_run: FaultedRun) -> str:
    """Every page's text, runs of white space (a table cell's line breaks) as one space."""
    return " ".join(" ".join(faulted_run.pages).split())


# ------------------------------------------------------------------- the run itself
def test_the_run_completed_with_a_deviation_and_an_alarm(faulted_run: FaultedRun) -> None:
    record = faulted_run.record
    assert record["run"]["final_state"] == "Complete"
    assert [d["alarm_ids"] for d in record["deviations"]] == [[ALARM]]
    assert ALARM in [a["alarm_id"] for a in record["alarms"]]


# ------------------------------------------------------------------- the PDF
def test_the_header_names_line_recipe_version_hash_product_run_times_state_and_operators(
        faulted_run: FaultedRun) -> None:
    run = faulted_run.record["run"]
    version = faulted_run.client.get(f"/recipes/{run['recipe_id']}/versions/{run['recipe_version']}",
                                     headers=faulted_run.headers["view"]).json()
    first = faulted_run.pages[0]
    assert f"Batch report — run {faulted_run.run_id}" in first
    assert f"Line {run['line_id']} ({run['line_kind']})" in first
    assert f"Recipe {run['recipe_id']} version {run['recipe_version']}" in first
    assert version["content_sha256"] in first
    assert f"Product {report_product(faulted_run)}" in first
    started = datetime.fromisoformat(run["started_at"]).isoformat(sep=" ", timespec="seconds")
    ended = datetime.fromisoformat(run["ended_at"]).isoformat(sep=" ", timespec="seconds")
    assert f"Started (UTC) {started}" in first and f"Ended (UTC) {ended}" in first
    assert "Final state Complete" in first
    operators = re.search(r"Operators (.+)", first)
    assert operators is not None and {"op"} <= set(operators.group(1).split(", "))


def report_product(faulted_run: FaultedRun) -> str:
    yaml_text = faulted_run.client.get(f"/recipes/{faulted_run.record['run']['recipe_id']}/versions/"
                                       f"{faulted_run.record['run']['recipe_version']}",
                                       headers=faulted_run.headers["view"]).json()["yaml_text"]
    found = re.search(r"product: (.+)", yaml_text)
    assert found is not None
    return found.group(1).strip()


def test_the_header_names_the_recipes_product(faulted_run: FaultedRun) -> None:
    assert f"Product {report_product(faulted_run)}" in faulted_run.pages[0]


def test_the_release_signatures_are_printed_with_signer_and_meaning(faulted_run: FaultedRun) -> None:
    text = whole(faulted_run)
    section = text[text.index("Release signatures"):text.index("Formula")]
    for user, name in (("eng_a", api.FULL_NAMES["eng_a"]), ("eng_b", api.FULL_NAMES["eng_b"])):
        assert user in section and name in section
    assert "released_for_testing" in section and "released_for_production" in section
    assert section.count("tested") == 2  # the reason each signer gave


def test_every_step_and_every_alarm_is_in_the_report(faulted_run: FaultedRun) -> None:
    text = whole(faulted_run)
    steps = [s["name"] for s in faulted_run.record["steps"]]
    assert steps == ["warm_up", "production", "shutdown"]
    log = text[text.index("Step log"):text.index("PackML state timeline")]
    for name in steps:
        assert name in log
    alarms = text[text.index("Alarms"):text.index("Operator commands")]
    for alarm in faulted_run.record["alarms"]:
        assert alarm["alarm_id"] in alarms


def test_a_simulated_runs_events_are_told_in_run_time_not_as_wall_times_it_never_had(
        faulted_run: FaultedRun) -> None:
    text = whole(faulted_run)
    assert faulted_run.record["run"]["simulated"] is True
    assert "Run time at the end" in text and "event times below are run time" in text
    assert "Started (run time)" in text and "Raised (run time)" in text and "Time (run time)" in text
    alarms = text[text.index("Alarms"):text.index("Operator commands")]
    alarm = next(a for a in faulted_run.record["alarms"] if a["alarm_id"] == ALARM)
    assert hms(alarm["raised_t_s"]) in alarms
    commands = text[text.index("Operator commands"):text.index("Production summary")]
    assert all(hms(c["t_s"]) in commands for c in faulted_run.record["commands"])


def test_the_commands_keep_their_reasons(faulted_run: FaultedRun) -> None:
    text = whole(faulted_run)
    commands = text[text.index("Operator commands"):text.index("Production summary")]
    assert "pump freed" in commands and "report test" in commands


def test_the_production_deviation_is_reported(faulted_run: FaultedRun) -> None:
    text = whole(faulted_run)
    assert "Production deviation: 1 span(s) of production with outputs forced safe" in text
    deviations = text[text.index("Production deviations"):text.index("Trends")]
    assert ALARM in deviations and PUMP_SETPOINT in deviations
    assert "with production deviations" in faulted_run.pages[0]  # the verdict in the header says so too


def test_the_trend_figures_of_the_kinds_key_tags_are_present(faulted_run: FaultedRun) -> None:
    text = whole(faulted_run)
    for tag, _setpoint in kind_named(faulted_run.record["run"]["line_kind"]).report_trends:
        assert f"Trend {tag}" in text


def test_every_page_says_page_n_of_m_and_carries_the_audit_checkpoint(faulted_run: FaultedRun) -> None:
    pages = faulted_run.pages
    assert len(pages) >= 2
    head = faulted_run.record["audit_head"]
    for n, text in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in text
        assert "Audit checkpoint: audit trail row" in text and "sha256" in text
    # the head printed is the trail's at the time of the report: at or after the record's
    found = re.search(r"audit trail row (\d+), sha256 ([0-9a-f]{64})", pages[0])
    assert found is not None and int(found.group(1)) >= head["id"]


def test_the_pdf_is_pdfa_3b_with_the_batch_record_attached(faulted_run: FaultedRun) -> None:
    reader = PdfReader(io.BytesIO(faulted_run.pdf))
    (attached,) = reader.attachments["batch-record.json"]
    record = json.loads(attached)
    assert record["run"]["id"] == faulted_run.run_id
    assert [s["name"] for s in record["steps"]] == [s["name"] for s in faulted_run.record["steps"]]
    assert record["deviation_s"] == faulted_run.record["deviation_s"]
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()  # the PDF/A identification
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp


def test_the_cli_writes_the_report_of_the_run(faulted_run: FaultedRun, tmp_path: Path) -> None:
    target = tmp_path / "report.pdf"
    result = CliRunner().invoke(cli_app, ["report", str(faulted_run.run_id), "-o", str(target),
                                          "--database", faulted_run.url])
    assert result.exit_code == 0, result.output
    pages = page_texts(target.read_bytes())
    assert f"Batch report — run {faulted_run.run_id}" in pages[0]
    assert all(f"Page {n} of {len(pages)}" in text for n, text in enumerate(pages, start=1))
    assert ALARM in "\n".join(pages)


def test_the_cli_names_a_missing_run_in_one_line(faulted_run: FaultedRun, tmp_path: Path) -> None:
    target = tmp_path / "none.pdf"
    result = CliRunner().invoke(cli_app, ["report", "999999", "-o", str(target), "--database", faulted_run.url])
    assert result.exit_code == 1
    assert result.output.strip() == "poreline: error: run 999999 not found in the database"
    assert not target.exists()


# ------------------------------------------------------------------- the report's content
def test_the_api_gives_the_reports_production_summary_as_json(faulted_run: FaultedRun, report: Report) -> None:
    r = faulted_run.client.get(f"/runs/{faulted_run.run_id}/summary", headers=faulted_run.headers["view"])
    assert r.status_code == 200, r.text
    summary = r.json()
    assert (summary["run_id"], summary["final_state"]) == (faulted_run.run_id, "Complete")
    assert summary["verdict"] == report.production.verdict  # the record's verdict, and the deviation said with it
    assert summary["verdict"].startswith(faulted_run.record["run"]["quality"]["verdict"]) and "deviation" in summary["verdict"]
    assert summary["quantity_label"] == "Membrane cast" and summary["quantity_unit"] == "m"
    assert summary["quantity"] == pytest.approx(report.production.quantity)
    assert summary["deviation_s"] == pytest.approx(faulted_run.record["deviation_s"]) and summary["deviation_s"] > 0
    assert summary["production_s"] == pytest.approx(report.production.production_s)
    line_speed = next(f for f in summary["formula"] if f["name"] == "line_speed")
    assert line_speed["actual_tag"] == "support_belt.line_speed_m_min" and line_speed["deviation"] is not None
    assert {m["tag"] for m in summary["means"]} >= {"support_belt.line_speed_m_min"}
    missing = faulted_run.client.get("/runs/999999/summary", headers=faulted_run.headers["view"])
    assert missing.status_code == 404 and "run 999999 not found" in missing.json()["detail"]


def test_the_formula_compares_the_line_speed_with_its_production_mean(report: Report) -> None:
    line_speed = next(row for row in report.formula if row.name == "line_speed")
    assert line_speed.actual_tag == "support_belt.line_speed_m_min"
    assert line_speed.actual is not None and line_speed.deviation is not None
    assert abs(line_speed.deviation) < 0.02 * line_speed.setpoint  # the belt follows its setpoint closely
    quench = next(row for row in report.formula if row.name == "quench_temperature")
    assert quench.actual_tag == "quench_bath.temperature_c"  # set through the bath's loop: its pv measures it


def test_the_state_timeline_shows_the_alarms_hold_and_the_operators_unhold(report: Report) -> None:
    states = [(s.state, s.cause) for s in report.states]
    assert states[0] == ("Execute", "start by op: report test")
    assert ("Held", f"hold by system: alarm {ALARM}") in states
    assert ("Execute", "unhold by op: pump freed") in states
    assert states[-1][0] == "Complete"
    ends = [s.end_t_s for s in report.states]
    assert ends == sorted(ends) and all(s.seconds >= 0.0 for s in report.states)


def test_the_alarm_row_has_raise_acknowledge_and_clear_times_and_the_user(report: Report) -> None:
    alarm = next(a for a in report.alarms if a.alarm_id == ALARM)
    assert alarm.acknowledged_by == "op"
    assert alarm.acknowledged_at is not None and alarm.cleared_at is not None
    assert alarm.raised_at <= alarm.cleared_at


# ------------------------------------------------------------------- refusals
def test_a_missing_run_is_404_with_the_reason(faulted_run: FaultedRun) -> None:
    r = faulted_run.client.get("/runs/999999/report.pdf", headers=faulted_run.headers["view"])
    assert r.status_code == 404 and r.json()["detail"] == "run 999999 not found"
    r = faulted_run.client.get("/runs/999999/samples.csv", headers=faulted_run.headers["view"])
    assert r.status_code == 404 and r.json()["detail"] == "run 999999 not found"


def test_the_report_needs_a_login(faulted_run: FaultedRun) -> None:
    assert faulted_run.client.get(f"/runs/{faulted_run.run_id}/report.pdf").status_code == 401


# ------------------------------------------------------------------- the wide CSV
def test_the_wide_csv_has_a_column_per_tag_wall_clock_timestamps_and_a_row_per_sample_instant(
        faulted_run: FaultedRun) -> None:
    r = faulted_run.client.get(f"/runs/{faulted_run.run_id}/samples.csv", headers=faulted_run.headers["view"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    header, body = rows[0], rows[1:]
    tags = faulted_run.record["tags"]
    assert header == ["timestamp", "t_s", *tags]
    assert len(body) * len(tags) == faulted_run.record["sample_count"]  # every tag sampled at every instant
    origin = datetime.fromisoformat(faulted_run.record["run"]["time_origin"])
    for row in (body[0], body[len(body) // 2], body[-1]):
        stamp = datetime.fromisoformat(row[0])
        assert stamp.tzinfo is not None and stamp == origin + timedelta(seconds=float(row[1]))
    t_s = [float(row[1]) for row in body]
    assert t_s == sorted(t_s) and len(set(t_s)) == len(t_s)


def test_the_cli_writes_the_same_wide_csv(faulted_run: FaultedRun, tmp_path: Path) -> None:
    target = tmp_path / "samples.csv"
    result = CliRunner().invoke(cli_app, ["report", str(faulted_run.run_id), "--csv", "-o", str(target),
                                          "--database", faulted_run.url])
    assert result.exit_code == 0, result.output
    served = faulted_run.client.get(f"/runs/{faulted_run.run_id}/samples.csv", headers=faulted_run.headers["view"])
    assert target.read_bytes().decode("utf-8") == served.text  # byte for byte, CSV's CRLF line ends included
