"""Fault campaign, the processes (issue 10): the line runtime stopped (SIGTERM) or killed
(SIGKILL) mid-run, and the API killed while the runtime runs on. Real processes, real
channel sockets, a SQLite batch record read as an operator would read it afterwards.

The documented behaviour:
- SIGTERM stops the line through PackML Stop and closes the record (controller/cli/line.py,
  LineService.stop);
- a runtime restarted after SIGKILL closes the run it lost as Aborted, "controller lost at
  <time of its last record>, last step <name>" (BatchRecorder.close_lost_runs); what the
  historian had committed stays; what can be lost is what was still in memory: the largest
  data-loss window is the writer's flush period plus its stall time (1 s + 2 s of wall time,
  controller/store/historian.py); with a database that answers in milliseconds, as here,
  the flush period (1 s), which the SIGKILL test checks;
- the runtime is its own process: an API that dies leaves it scanning; a restarted API
  attaches to it (controller/runtime/process.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from api_support import PASSWORD, create_users, release
from hil_support import free_port
from paths import REPO_ROOT
from runtime_support import (
    LineRuntime,
    alarm_journal,
    assert_audit_intact,
    assert_samples_complete,
    audit_actions,
    batch_record,
    casting_text,
    pid_alive,
    poreline_audit_verify,
    run_row,
    runtime_pids,
    sample_rows,
    sqlite_url,
    step_names,
    stop_pid,
    until,
)
from scanning import run_until

from controller.assembly import build_line
from controller.cli.line import RUNTIME_NICE, RUNTIME_REALTIME_PRIORITY
from controller.engine.states import TERMINAL, UnitState
from controller.lines import compile_for_line
from controller.store import BatchRecorder, create_engine_for, upgrade

SPEED = 40.0
RECIPE = casting_text("3 min")  # ~310 simulated s, ~8 s of wall time at SPEED
FLUSH_PERIOD_WALL_S = 1.0  # HistorianWriter's default flush_period_s: what a kill may lose


def assert_steps_in_order(record_steps: list[Any], expected: list[str]) -> None:
    names = [s.name for s in record_steps]
    assert names == expected[:len(names)], f"steps {names} are not the recipe's {expected} in order"
    indexes = [s.index for s in record_steps]
    assert indexes == list(range(len(names))), indexes
    for before, after in zip(record_steps, record_steps[1:], strict=False):
        assert before.ended_s is not None and before.ended_s <= after.started_s + 1e-9, (before, after)


# ------------------------------------------------------------------------ no fault at all
def test_a_run_without_faults_leaves_a_complete_record(tmp_path: Path) -> None:
    """The baseline every fault is measured against, on the engine and batch recorder the
    runtime runs (in this process, on virtual time: the runtime process adds nothing to
    sampling; the fault tests below and in test_database_faults.py run it for real).
    Sampling asked for faster than the scan (0.5 s, scans every 1 s), every scan of the run
    is sampled, each exactly once: the last one included (the scan that ends the run
    samples; closing the run must not sample "the final values" again at the same time)."""
    url = sqlite_url(tmp_path / "poreline.db")
    upgrade(url)
    db = create_engine_for(url)
    text = casting_text("1 min")
    recipe = compile_for_line(text)
    line = build_line(recipe=recipe, recorder=BatchRecorder(db), scan_period_s=1.0, sample_period_s=0.5)
    line.engine.request("start", "ann")
    run_until(line.engine, lambda e: e.state in TERMINAL, 1800.0)
    db.dispose()
    assert line.engine.state is UnitState.COMPLETE, line.engine.state
    run_id = line.engine.run_id
    assert run_id is not None
    run = run_row(url, run_id)
    assert run["final_state"] == "Complete" and run["end_reason"] is None
    record = batch_record(url, run_id)
    assert [(s.name, s.outcome) for s in record.steps] == [(n, "complete") for n in step_names(text)]
    times = assert_samples_complete(url, run_id, sample_period_s=0.5, scan_period_s=1.0, speed=1.0,
                                    longest_scan_s=1.0, until_t_s=run["ended_t_s"])
    assert times[-1] == run["ended_t_s"], "the run's last scan is not sampled"
    assert len(times) == line.engine.scan_count, "a scan of the run was not sampled"  # the run starts in scan 1
    verified = poreline_audit_verify(url)
    assert verified.returncode == 0 and "OK" in verified.stdout, verified.stdout + verified.stderr


# ------------------------------------------------------------------------ priority
def _may_use_sched_fifo(priority: int) -> bool:
    soft, _hard = resource.getrlimit(resource.RLIMIT_RTPRIO)
    return os.geteuid() == 0 or soft == resource.RLIM_INFINITY or soft >= priority


async def test_on_wall_time_the_runtime_scans_under_sched_fifo_where_it_may(tmp_path: Path) -> None:
    runtime = LineRuntime(tmp_path / "runtime", sqlite_url(tmp_path / "poreline.db"), speed=1.0)
    try:
        await runtime.start()
        assert runtime.process is not None
        policy = os.sched_getscheduler(runtime.process.pid)
        if _may_use_sched_fifo(RUNTIME_REALTIME_PRIORITY):  # a due scan preempts every ordinary process
            assert policy == os.SCHED_FIFO, runtime.log()
            assert os.sched_getparam(runtime.process.pid).sched_priority == RUNTIME_REALTIME_PRIORITY
        else:  # not permitted: it says so and scans on under the ordinary scheduler
            assert policy == os.SCHED_OTHER
            await until(lambda: "SCHED_FIFO" in runtime.log(), 10.0, "the runtime to say it stays unprivileged")
        assert (await runtime.health())["scanning"]
    finally:
        await runtime.close()


# ------------------------------------------------------------------------ SIGTERM
async def test_sigterm_mid_run_stops_the_line_through_packml_stop_and_closes_the_record(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "poreline.db")
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    try:
        await runtime.start()
        assert runtime.process is not None
        if os.geteuid() == 0:  # allowed to raise its priority: it runs before its clients
            assert os.getpriority(os.PRIO_PROCESS, runtime.process.pid) == RUNTIME_NICE
        # sped up, it would scan back to back when behind: never under the real-time scheduler
        assert os.sched_getscheduler(runtime.process.pid) == os.SCHED_OTHER
        run_id = await runtime.start_run(RECIPE)
        at = await runtime.wait_step("start_casting", 30.0)
        await asyncio.sleep(0.5)
        runtime.signal(signal.SIGTERM)
        code = await runtime.wait_exit(40.0)
        assert code == 0, runtime.log()

        run = run_row(url, run_id)
        assert run["final_state"] == "Stopped", run
        assert run["ended_t_s"] >= at["t_s"]
        record = batch_record(url, run_id)
        stops = [c for c in record.commands if c.command == "stop"]
        assert len(stops) == 1 and stops[0].accepted and stops[0].user == "system", record.commands
        assert "SIGTERM" in (stops[0].reason or ""), stops[0]
        assert_steps_in_order(record.steps, step_names(RECIPE))
        assert record.steps[-1].name in ("start_casting", "production"), record.steps
        assert all(s.ended_s is not None for s in record.steps), record.steps  # no step left open
        assert_samples_complete(url, run_id, sample_period_s=runtime.sample_period_s,
                                scan_period_s=runtime.scan_period_s, speed=runtime.speed, until_t_s=run["ended_t_s"])
        open_alarms = [a for a in alarm_journal(url, run_id) if a["cleared_t_s"] is None and a["condition_active"]]
        assert not open_alarms, open_alarms
        assert not runtime.spool_path.exists(), "a clean stop left a spool behind"
        assert_audit_intact(url)

        # restarted on the same state dir and database: nothing to close, the run stays Stopped
        await runtime.start()
        assert "closed as Aborted" not in runtime.log(tail=20), runtime.log()
        status = await runtime.status()
        assert status["run_id"] is None and status["state"] == "Idle", status
        assert run_row(url, run_id)["final_state"] == "Stopped"
    finally:
        await runtime.close()


# ------------------------------------------------------------------------ SIGKILL
LOST = re.compile(r"^controller lost at (?P<at>\S+), last step (?P<step>\S+)$")


async def test_sigkill_mid_run_then_restart_closes_the_run_as_aborted_and_a_new_run_completes(
        tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "poreline.db")
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    try:
        await runtime.start()
        started_wall = datetime.now(UTC)
        run_id = await runtime.start_run(RECIPE)
        await runtime.wait_step("production", 30.0)
        await asyncio.sleep(1.5)
        committed_before = sample_rows(url, run_id)  # what the historian has committed by now
        assert committed_before, "nothing committed before the kill: the test proves nothing"
        last = await runtime.status()
        assert last["state"] == "Execute" and last["step_name"] == "production", last
        scans = (await runtime.health())["scan"]  # a killed run records no scan statistics
        runtime.signal(signal.SIGKILL)
        assert await runtime.wait_exit(10.0) == -signal.SIGKILL

        await runtime.start()  # same state dir, same database
        assert f"run {run_id} closed as Aborted" in runtime.log(tail=30), runtime.log()
        status = await runtime.status()
        assert status["state"] == "Idle" and status["run_id"] is None, status

        run = run_row(url, run_id)
        assert run["final_state"] == "Aborted", run
        match = LOST.match(run["end_reason"] or "")
        assert match, f"end reason {run['end_reason']!r} is not 'controller lost at <time>, last step <name>'"
        assert match["step"] == "production", run["end_reason"]
        lost_at = datetime.fromisoformat(match["at"])
        rows = sample_rows(url, run_id)
        record = batch_record(url, run_id)
        # "the time of its last record", on the record's own time axis (time origin + run
        # seconds, as the record's timestamps and CSV export read): the last sample or step
        last_t_s = max([t for _i, t, _g in rows] + [s.started_s for s in record.steps])
        expected_at = record.run.time_origin.replace(tzinfo=record.run.time_origin.tzinfo or UTC) + timedelta(
            seconds=last_t_s)
        assert abs((lost_at - expected_at).total_seconds()) <= 1.0, (lost_at, expected_at)
        assert started_wall - timedelta(seconds=1) <= lost_at, (started_wall, lost_at)
        assert set(committed_before) <= set(rows), "samples committed before the kill are gone"
        times = assert_samples_complete(url, run_id, sample_period_s=runtime.sample_period_s,
                                        scan_period_s=runtime.scan_period_s, speed=runtime.speed,
                                        longest_scan_s=scans["scan_period_s"]["max"] * runtime.speed)
        window = FLUSH_PERIOD_WALL_S * SPEED + runtime.sample_period_s + runtime.scan_period_s
        assert times[-1] >= last["t_s"] - window, (
            f"the last sample is at {times[-1]:.1f} s; the run was at {last['t_s']:.1f} s when killed, "
            f"more than the historian's documented loss ({window:g} s) earlier")
        assert run["ended_t_s"] >= times[-1] - 1e-6, (run["ended_t_s"], times[-1])
        assert_steps_in_order(record.steps, step_names(RECIPE))
        assert [s.name for s in record.steps][-1] == "production"
        assert record.steps[-1].outcome == "lost", record.steps[-1]
        aborts = [c for c in record.commands if c.command == "abort"]
        assert len(aborts) == 1 and aborts[0].user == "system" and aborts[0].reason == run["end_reason"]
        assert ("system", "run.lost", f"run {run_id}") in audit_actions(url)
        assert_audit_intact(url)

        # the restarted runtime runs a new run to the end
        second = await runtime.start_run(casting_text("1 min"), reason="after the crash")
        assert second != run_id
        final = await runtime.wait_state({"Complete", "Stopped", "Aborted"}, 40.0)
        assert final["state"] == "Complete" and final["run_id"] == second, final
        await runtime.wait_historian_idle(10.0)
        assert run_row(url, second)["final_state"] == "Complete"
        assert run_row(url, run_id)["final_state"] == "Aborted"  # the lost run stays as it was closed
        assert_samples_complete(url, second, sample_period_s=runtime.sample_period_s,
                                scan_period_s=runtime.scan_period_s, speed=runtime.speed,
                                until_t_s=run_row(url, second)["ended_t_s"])
        assert_audit_intact(url)
    finally:
        await runtime.close()


# ------------------------------------------------------------------------ the API
class Api:
    """``poreline serve`` as a process (it starts the line runtime as its child)."""

    def __init__(self, tmp_path: Path, url: str) -> None:
        self.url = url
        self.state_dir = tmp_path / "runtime"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "api.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        env = {**os.environ, "PORELINE_SAMPLE_PERIOD_S": "5", "PORELINE_SCAN_PERIOD_S": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", "controller.cli", "serve", "--database", self.url, "--port", str(self.port),
                 "--state-dir", str(self.state_dir), "--sim-speed", repr(SPEED), "--line", "casting"],
                cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)

        async def up() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                async with httpx.AsyncClient(base_url=self.base, timeout=1.0) as client:
                    return (await client.get("/openapi.json")).status_code == 200
            except httpx.HTTPError:
                return False

        await until(up, 60.0, "the API to answer", interval_s=0.1)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-4000:]


async def test_api_killed_mid_run_the_runtime_goes_on_and_a_restarted_api_attaches(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "poreline.db")
    api = Api(tmp_path, url)
    runtime_pid: int | None = None
    try:
        await api.start()
        headers, run_id = await asyncio.to_thread(start_released_run, api.base, url)
        pids = runtime_pids(api.state_dir)
        assert len(pids) == 1, f"one line runtime expected, found {pids}"
        runtime_pid = pids[0]
        assert api.process is not None
        async with httpx.AsyncClient(base_url=api.base, timeout=5.0) as http:
            await until(lambda: _step(http, headers["op"], "production"), 30.0, "production")

        api.process.send_signal(signal.SIGKILL)
        api.process.wait(10.0)
        # the runtime goes on without any client
        observer = LineRuntime(api.state_dir, url, speed=SPEED)  # a client only: it starts no process
        try:
            await observer.attach()
            first = await observer.health()
            await asyncio.sleep(1.0)
            second = await observer.health()
            status = await observer.status()
        finally:
            await observer.close()
        assert pid_alive(runtime_pid), "the line runtime died with the API"
        assert second["scanning"], second
        assert second["scan"]["scans"] - first["scan"]["scans"] >= 0.5 / observer.scan_period_wall_s, (first, second)
        assert status["run_id"] == run_id and status["state"] == "Execute", status

        # a restarted API attaches to it (no second runtime) and shows the current state
        await api.start()
        assert runtime_pids(api.state_dir) == [runtime_pid], "the restarted API started a second runtime"
        async with httpx.AsyncClient(base_url=api.base, timeout=5.0) as http:
            login = await http.post("/auth/login", json={"username": "op", "password": PASSWORD})
            op = {"Authorization": f"Bearer {login.json()['access_token']}"}
            current = await until(lambda: _current(http, op), 20.0, "GET /runs/current")
            assert current["run_id"] == run_id and current["state"] in ("Execute", "Complete"), current
            if current["state"] == "Execute":
                assert current["step_name"] in ("production", "shutdown"), current
            health = (await http.get("/line/health", headers=op)).json()
            assert health["connected"] and health["scanning"], health
            done = await until(lambda: _current(http, op, {"Complete", "Stopped", "Aborted"}), 40.0, "the run's end")
            assert done["state"] == "Complete" and done["run_id"] == run_id, done

            async def closed() -> dict[str, Any] | None:
                r = await http.get(f"/runs/{run_id}/record", headers=op)
                return r.json() if r.status_code == 200 and r.json()["run"]["final_state"] else None

            record = await until(closed, 20.0, "the record to be closed")
        assert record["run"]["final_state"] == "Complete"
        assert [s["name"] for s in record["steps"]] == step_names(RECIPE)
        assert all(s["outcome"] == "complete" for s in record["steps"]), record["steps"]
        run = run_row(url, run_id)
        assert_samples_complete(url, run_id, sample_period_s=5.0, scan_period_s=1.0, speed=SPEED, until_t_s=run["ended_t_s"])
        assert_audit_intact(url)
    finally:
        if api.process is not None and api.process.poll() is None:
            api.process.terminate()
            try:
                api.process.wait(30.0)
            except subprocess.TimeoutExpired:
                api.process.kill()
        for pid in runtime_pids(api.state_dir):
            await stop_pid(pid)


def start_released_run(base: str, url: str) -> tuple[dict[str, dict[str, str]], int]:
    """Users, the recipe released by two engineers, and a run started by the operator, all
    through the API (the helpers of the API tests take a synchronous client)."""
    with httpx.Client(base_url=base, timeout=20.0) as http:
        headers = create_users(http, url)
        recipe_id, version = release(http, headers, RECIPE, PASSWORD)
        started = http.post("/runs", json={"recipe_id": recipe_id, "version": version, "reason": "campaign"},
                            headers=headers["op"])
        assert started.status_code == 202, started.text
        return headers, int(started.json()["run_id"])


async def _step(http: httpx.AsyncClient, headers: dict[str, str], name: str) -> bool:
    r = await http.get("/runs/current", headers=headers)
    return r.status_code == 200 and r.json()["step_name"] == name and r.json()["state"] == "Execute"


async def _current(http: httpx.AsyncClient, headers: dict[str, str],
                   states: set[str] | None = None) -> dict[str, Any] | None:
    r = await http.get("/runs/current", headers=headers)
    if r.status_code != 200:
        return None
    body: dict[str, Any] = r.json()
    return body if states is None or body["state"] in states else None

