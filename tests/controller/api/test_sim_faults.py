"""/sim/faults offers exactly the faults of the running line's simulator: the foaming line
its own (die blocked, coolant, head cooling, feed, heaters, sensors), the casting line its
own; a kind or device that does not fit is a 422 naming what would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from controller.api import Settings, create_app

FOAMING_KINDS = ["heater", "die_blocked", "coolant_failed", "head_cooling_failed", "feed_starved", "sensor"]
CASTING_KINDS = ["heater", "pump", "trace_heater", "belt", "sensor"]


@pytest.fixture
def foaming_client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The API with the foaming line idle on the built-in simulator (``serve --line-kind foaming``)."""
    url = f"sqlite:///{tmp_path / 'var' / 'poreline.db'}"
    settings = Settings(database_url=url, line_kind="foaming", sim_speed=300.0, scan_period_s=1.0,
                        sample_period_s=5.0, state_dir=tmp_path / "runtime")
    with TestClient(create_app(settings)) as client:
        yield client, url


def offered_by_kind(response: Any) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in response.json()["offered"]}


def test_the_foaming_line_offers_its_faults_and_a_blocked_die_injected_over_the_api_is_active(
        foaming_client: tuple[TestClient, str], api: Any) -> None:
    client, url = foaming_client
    h = api.create_users(client, url)
    r = client.get("/sim/faults", headers=h["view"])
    assert r.status_code == 200, r.text
    assert r.json()["active"] == []
    offered = offered_by_kind(r)
    assert list(offered) == FOAMING_KINDS
    assert offered["die_blocked"]["devices"] == ["die"] and offered["die_blocked"]["needs_tag"] is False
    assert offered["coolant_failed"]["devices"] == ["heat_exchanger"]
    assert sorted(offered["head_cooling_failed"]["devices"]) == ["co2_pump", "water_pump"]
    assert offered["feed_starved"]["devices"] == ["extruder"]
    assert sorted(offered["heater"]["devices"]) == ["die", "extruder"]
    assert offered["sensor"]["needs_tag"] is True and "melt_pump_1" in offered["sensor"]["devices"]
    assert all(o["description"] for o in offered.values())

    r = client.post("/sim/faults", json={"kind": "die_blocked", "device": "die"}, headers=h["eng_a"])
    assert r.status_code == 201, r.text
    assert r.json()["active"] == ["die blocked"]
    assert client.get("/sim/faults", headers=h["view"]).json()["active"] == ["die blocked"]
    entries = api.wait_for(lambda: [e for e in client.get("/audit", headers=h["view"]).json()
                                    if e["action"] == "sim.fault_injected"], "the runtime's audit entry")
    assert entries[-1]["subject"] == "device die"
    assert entries[-1]["details"] == {"kind": "die_blocked", "tag": None, "line_id": "foaming-1"}

    r = client.delete("/sim/faults", params={"device": "die"}, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["active"] == [], r.text


def test_a_kind_the_line_does_not_offer_is_refused_naming_the_offered_ones(
        foaming_client: tuple[TestClient, str], api: Any) -> None:
    client, url = foaming_client
    h = api.create_users(client, url)
    r = client.post("/sim/faults", json={"kind": "belt", "device": "extruder"}, headers=h["eng_a"])
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "belt" in detail and "foaming" in detail
    assert all(kind in detail for kind in FOAMING_KINDS), detail
    assert client.get("/sim/faults", headers=h["view"]).json()["active"] == []


def test_a_device_the_fault_does_not_apply_to_is_refused_naming_the_devices_it_does(
        foaming_client: tuple[TestClient, str], api: Any) -> None:
    client, url = foaming_client
    h = api.create_users(client, url)
    r = client.post("/sim/faults", json={"kind": "die_blocked", "device": "extruder"}, headers=h["eng_a"])
    assert r.status_code == 422 and "die" in r.json()["detail"] and "extruder" in r.json()["detail"], r.text
    r = client.post("/sim/faults", json={"kind": "head_cooling_failed", "device": "melt_pump_1"}, headers=h["eng_a"])
    assert r.status_code == 422 and "co2_pump" in r.json()["detail"], r.text
    r = client.post("/sim/faults", json={"kind": "die_blocked", "device": "no_such_device"}, headers=h["eng_a"])
    assert r.status_code == 404, r.text


def test_a_frozen_sensor_needs_a_measured_tag_and_clears_by_tag(
        foaming_client: tuple[TestClient, str], api: Any) -> None:
    client, url = foaming_client
    h = api.create_users(client, url)
    r = client.post("/sim/faults", json={"kind": "sensor", "device": "die"}, headers=h["eng_a"])
    assert r.status_code == 422 and r.json()["detail"].startswith("tag:"), r.text
    r = client.post("/sim/faults", json={"kind": "sensor", "device": "die", "tag": "gap_setpoint_mm"},
                    headers=h["eng_a"])
    assert r.status_code == 422 and "not a sensor" in r.json()["detail"], r.text
    r = client.post("/sim/faults", json={"kind": "sensor", "device": "die", "tag": "no_such_tag"}, headers=h["eng_a"])
    assert r.status_code == 422 and "no_such_tag" in r.json()["detail"], r.text
    r = client.post("/sim/faults", json={"kind": "die_blocked", "device": "die", "tag": "gap_mm"}, headers=h["eng_a"])
    assert r.status_code == 422 and "takes no tag" in r.json()["detail"], r.text

    r = client.post("/sim/faults", json={"kind": "sensor", "device": "die", "tag": "melt_pressure_bar"},
                    headers=h["eng_a"])
    assert r.status_code == 201, r.text
    assert [a.split(" frozen at ")[0] for a in r.json()["active"]] == ["die.melt_pressure_bar"]
    r = client.delete("/sim/faults", params={"tag": "melt_pressure_bar"}, headers=h["eng_a"])
    assert r.status_code == 422, r.text  # a tag is cleared with its device
    r = client.delete("/sim/faults", params={"device": "die", "tag": "melt_pressure_bar"}, headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["active"] == [], r.text


def test_the_casting_line_offers_its_own_faults(sqlite_client: TestClient, sqlite_url: str, api: Any) -> None:
    client = sqlite_client
    h = api.create_users(client, sqlite_url)
    offered = offered_by_kind(client.get("/sim/faults", headers=h["view"]))
    assert list(offered) == CASTING_KINDS
    assert offered["belt"]["devices"] == ["support_belt"]
    assert "quench_bath" in offered["heater"]["devices"] and "support_belt" not in offered["heater"]["devices"]
    r = client.post("/sim/faults", json={"kind": "die_blocked", "device": "support_belt"}, headers=h["eng_a"])
    assert r.status_code == 422, r.text
    assert all(kind in r.json()["detail"] for kind in CASTING_KINDS), r.text
    r = client.post("/sim/faults", json={"kind": "belt", "device": "support_belt"}, headers=h["eng_a"])
    assert r.status_code == 201 and r.json()["active"] == ["support_belt stopped"], r.text
    r = client.delete("/sim/faults", headers=h["eng_a"])
    assert r.status_code == 200 and r.json()["active"] == [], r.text
