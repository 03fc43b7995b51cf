"""One API server attached to line runtimes started elsewhere (``serve --line-runtime``,
repeatable): it lists the lines, every line route takes ``line_id``, a run starts on the
line named and on no other, and the runtimes go on when the API restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import line_tags
from fastapi.testclient import TestClient

from controller.api import Settings, create_app
from controller.runtime.process import ChildRuntime, ChildSettings

SPEED = 300.0


@pytest.fixture
def runtimes(tmp_path: Path, sqlite_url: str) -> Iterator[dict[str, str]]:
    """casting-1 and foaming-1 as processes of their own (as systemd starts them): line id -> endpoint."""
    children = [ChildRuntime(ChildSettings(line_id=f"{kind}-1", state_dir=tmp_path / "runtimes", database_url=sqlite_url,
                                           kind=kind, speed=SPEED, sample_period_s=5.0))
                for kind in ("casting", "foaming")]
    try:
        endpoints = {c.settings.line_id: asyncio.run(c.start())[0] for c in children}
        yield endpoints
    finally:
        for child in children:
            asyncio.run(child.stop())


def attached(url: str, state_dir: Path, *line_runtime: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=url, line_runtime=list(line_runtime), state_dir=state_dir)))


def test_one_server_controls_two_lines_each_named_by_its_line_id(runtimes: dict[str, str], sqlite_url: str,
                                                                 tmp_path: Path, api: Any) -> None:
    casting, foaming = runtimes["casting-1"], runtimes["foaming-1"]
    # the casting runtime says which line it runs; the foaming one is named on the command line
    with attached(sqlite_url, tmp_path / "api", casting, f"foaming-1={foaming}") as client:
        h = api.create_users(client, sqlite_url)
        lines = {line["line_id"]: line for line in client.get("/lines", headers=h["view"]).json()}
        assert {(i, line["line_kind"], line["state"], line["endpoint"]) for i, line in lines.items()} == {
            ("casting-1", "casting", "Idle", casting), ("foaming-1", "foaming", "Idle", foaming)}

        r = client.get("/line", headers=h["view"])
        assert r.status_code == 422 and "name one of casting-1, foaming-1" in r.json()["detail"], r.text
        r = client.get("/line", params={"line_id": "casting-9"}, headers=h["view"])
        assert r.status_code == 404 and "no line 'casting-9'" in r.json()["detail"], r.text
        foaming_tags = set(line_tags(client.get("/line", params={"line_id": "foaming-1"}, headers=h["view"]).json()))
        assert "melt_pump_2.speed_rpm" in foaming_tags and "support_belt.line_speed_m_min" not in foaming_tags

        recipe_id, version = api.release(client, h, api.short_recipe(production_min=60), api.PASSWORD)
        r = client.post("/runs", params={"line_id": "casting-1"}, json={"recipe_id": recipe_id, "version": version},
                        headers=h["op"])
        assert r.status_code == 202, r.text
        run_id = r.json()["run_id"]
        current = client.get("/runs/current", params={"line_id": "foaming-1"}, headers=h["view"]).json()
        assert current["state"] == "Idle" and current["run_id"] is None  # the other line did not move
        runs = {line_id: [(run["id"], run["line_id"]) for run in
                          client.get("/runs", params={"line_id": line_id}, headers=h["view"]).json()]
                for line_id in ("casting-1", "foaming-1")}
        assert runs == {"casting-1": [(run_id, "casting-1")], "foaming-1": []}

    # the API goes away and comes back: the runtime went on running the run
    with attached(sqlite_url, tmp_path / "api", f"casting-1={casting}") as client:
        h = {"op": api.login(client, "op")}
        current = api.run_state(client, h["op"])  # one line now: line_id may be omitted
        assert current["run_id"] == run_id and current["state"] in ("Starting", "Execute")
        assert client.post("/runs/current/abort", headers=h["op"]).status_code == 202
        api.wait_for(lambda: api.run_state(client, h["op"])["state"] == "Aborted", "Aborted")


def test_a_runtime_named_for_another_line_is_reported_not_commanded(runtimes: dict[str, str], sqlite_url: str,
                                                                   tmp_path: Path, api: Any) -> None:
    with attached(sqlite_url, tmp_path / "api", f"casting-2={runtimes['casting-1']}") as client:
        h = api.create_users(client, sqlite_url)
        r = client.get("/runs/current", headers=h["view"])
        assert r.status_code == 503 and "runs line casting-1, not casting-2" in r.json()["detail"], r.text
        r = client.post("/runs/current/hold", headers=h["op"])
        assert r.status_code == 503, r.text
        [line] = client.get("/lines", headers=h["view"]).json()
        assert (line["line_id"], line["scanning"], line["state"]) == ("casting-2", False, None)


def test_a_runtime_address_that_is_no_channel_stops_the_server_with_the_reason(sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"expected \[LINE_ID=\]ipc://PATH"), \
            attached(sqlite_url, tmp_path / "api", "casting-1=http://127.0.0.1:8000"):
        pass


def test_a_runtime_that_dies_is_shown_disconnected_commands_get_503_and_it_is_attached_again(
        sqlite_url: str, tmp_path: Path, api: Any) -> None:
    settings = ChildSettings(line_id="casting-1", state_dir=tmp_path / "runtimes", database_url=sqlite_url,
                             kind="casting", speed=SPEED, sample_period_s=5.0)
    first, second = ChildRuntime(settings), ChildRuntime(settings)
    try:
        endpoint = asyncio.run(first.start())[0]
        with attached(sqlite_url, tmp_path / "api", endpoint) as client:
            h = api.create_users(client, sqlite_url)

            def line_summary() -> dict[str, Any]:
                summaries: list[dict[str, Any]] = client.get("/lines", headers=h["view"]).json()
                return summaries[0]

            api.wait_for(lambda: line_summary()["connected"] and line_summary()["state"] == "Idle", "connected")
            assert first.process is not None
            first.process.kill()  # the runtime dies (its plant's watchdog takes the plant safe)
            first.process.wait(10.0)
            down = api.wait_for(lambda: None if (s := line_summary())["connected"] else s, "disconnected")
            assert down["state"] is None and not down["scanning"], down  # never a state it cannot know
            r = client.post("/runs/current/hold", json={"reason": "check"}, headers=h["op"])
            assert r.status_code == 503 and "line runtime" in r.json()["detail"], r.text  # with the reason
            assert client.get("/line", headers=h["view"]).status_code == 503

            asyncio.run(second.start())  # systemd restarts it: the API attaches again by itself
            api.wait_for(lambda: line_summary()["connected"] and line_summary()["state"] == "Idle", "reconnected")
            assert client.get("/line", headers=h["view"]).status_code == 200
    finally:
        for child in (first, second):
            asyncio.run(child.stop())
