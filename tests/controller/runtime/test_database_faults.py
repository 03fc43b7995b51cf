"""Fault campaign, the database (issue 10): a line runtime process records a run while its
database is locked, hangs, refuses, resets or loses its backend.

In each, the documented behaviour (controller/store/historian.py, controller/runtime/service.py):
the scan keeps running on time (scans counted during the fault, the execution p99 well under
the period, health ``scanning``), the historian spools while the database is away and the
runtime raises ``HISTORIAN_BEHIND``; afterwards the spool is replayed in order exactly once,
the alarm clears, the run completes, and its batch record has every sample in order with
none twice, its steps and alarm journal, and an intact audit chain.

The historian's promise that bounds how long a fault may leave events in memory (the
largest data-loss window, controller/store/historian.py): an event waits at most
``flush_period_s`` in the queue and ``stall_s`` in a database call before it is spooled. A
writer stuck for longer in a database call must spool (and say so) instead of holding
seconds of events in memory; once it does, a longer outage changes nothing but the size
of the spool, which is why a few seconds of each fault stand for the campaign's 60 s.

The PostgreSQL faults share one run (``postgres_campaign``, one fault after the other); they
skip, naming the reason, when no PostgreSQL server is reachable (tests/conftest.py).

A database file turned read-only is made with ``chattr +i`` (immutable): unlike file
permissions (which root ignores) and a read-only remount (refused while files are open for
writing), it stops writes through the descriptors SQLite already holds open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from runtime_support import (
    LineRuntime,
    TcpProxy,
    Timeline,
    alarm_journal,
    assert_audit_intact,
    assert_samples_complete,
    assert_scanned_through,
    batch_record,
    casting_text,
    run_row,
    sqlite_url,
    step_names,
    until,
)
from sqlalchemy.engine import URL, make_url

SPEED = 40.0  # simulated seconds per wall second (scans every 25 ms of wall time)
FAULT_S = 4.0  # wall seconds each fault lasts: longer than the historian's flush period and retry
RECIPE = casting_text("3 min")  # ~310 simulated s, ~8 s of wall time: the fault sits well inside the run
ACTIVE = frozenset({"unacknowledged", "acknowledged"})


Fault = Callable[[], Awaitable[None]]


async def run_through_fault(runtime: LineRuntime, url: str, on: Fault, off: Fault,
                            fault_s: float = FAULT_S) -> tuple[int, Timeline, float, float]:
    """Start the run, wait until casting starts, apply the fault for ``fault_s``, lift it,
    wait for the historian to catch up and the run to end. Returns (run id, timeline, fault
    start, fault end) in the test's monotonic seconds."""
    await runtime.start()
    run_id = await runtime.start_run(RECIPE)
    await runtime.wait_step("start_casting", 30.0)
    async with Timeline(runtime) as timeline:
        await asyncio.sleep(0.5)
        fault_start = time.monotonic()
        await on()
        try:
            await asyncio.sleep(fault_s)
        finally:
            fault_end = time.monotonic()
            await off()
        status = await runtime.status()
        assert status["state"] == "Execute", f"the fault held or ended the run: {status}\n{runtime.log()}"
        await runtime.wait_historian_idle(40.0)
        await until(lambda: _behind_cleared(timeline), 10.0, "HISTORIAN_BEHIND to clear")
        final = await runtime.wait_state({"Complete", "Stopped", "Aborted"}, 60.0)
    assert final["state"] == "Complete", f"{final}\n{runtime.log()}"
    await runtime.wait_historian_idle(20.0)
    return run_id, timeline, fault_start, fault_end


def _behind_cleared(timeline: Timeline) -> bool:
    return bool(timeline.seen) and timeline.seen[-1].alarms.get("HISTORIAN_BEHIND") not in ACTIVE


def assert_rode_through(runtime: LineRuntime, url: str, run_id: int, timeline: Timeline, fault_start: float,
                        fault_end: float) -> None:
    """What every database fault must leave behind (module docstring)."""
    period = runtime.scan_period_wall_s
    # the scan: on time, all through the fault
    assert_scanned_through(timeline, fault_start, fault_end, period)
    # the alarm, while the fault lasts, and the spool behind it
    during = timeline.between(fault_start, fault_end + 0.5)
    behind = [o for o in during if o.alarms.get("HISTORIAN_BEHIND") in ACTIVE]
    assert behind, ("HISTORIAN_BEHIND not raised during a database fault of "
                    f"{fault_end - fault_start:.1f} s:\n{timeline.describe(during)}")
    assert any(o.spooled > 0 for o in during), f"nothing spooled during the fault:\n{timeline.describe(during)}"
    # afterwards: drained, cleared, nothing dropped
    assert not runtime.spool_path.exists(), "the spool file is still there after the replay"
    assert timeline.seen[-1].alarms.get("HISTORIAN_BEHIND") not in ACTIVE
    # the record
    run = run_row(url, run_id)
    assert run["final_state"] == "Complete" and run["end_reason"] is None, run
    record = batch_record(url, run_id)
    assert [s.name for s in record.steps] == step_names(RECIPE)
    assert all(s.outcome == "complete" for s in record.steps), [(s.name, s.outcome) for s in record.steps]
    assert_samples_complete(url, run_id, sample_period_s=runtime.sample_period_s,
                            scan_period_s=runtime.scan_period_s, speed=runtime.speed, until_t_s=run["ended_t_s"])
    journal = [a for a in alarm_journal(url, run_id) if a["alarm_id"] == "HISTORIAN_BEHIND"]
    assert journal, "HISTORIAN_BEHIND is not in the run's alarm journal"
    assert all(a["cleared_t_s"] is not None and a["cleared_t_s"] >= a["raised_t_s"] for a in journal), journal
    assert [e["state"] for e in journal[0]["events"]][:1] == ["unacknowledged"], journal[0]["events"]
    assert_audit_intact(url)


# --------------------------------------------------------------------------- SQLite
async def test_sqlite_held_exclusively_from_outside_spools_alarms_and_replays(tmp_path: Path) -> None:
    """Another program takes SQLite's write lock (``BEGIN EXCLUSIVE``) for several seconds."""
    database = tmp_path / "poreline.db"
    url = sqlite_url(database)
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    outsider = sqlite3.connect(database, isolation_level=None, timeout=10.0)

    async def lock() -> None:
        outsider.execute("BEGIN EXCLUSIVE")

    async def unlock() -> None:
        outsider.execute("COMMIT")

    try:
        run_id, timeline, start, end = await run_through_fault(runtime, url, lock, unlock)
    finally:
        outsider.close()
        await runtime.close()
    assert_rode_through(runtime, url, run_id, timeline, start, end)


def _mount_tmpfs(where: Path, size: str) -> str | None:
    """Mount a small tmpfs at ``where``; the reason it cannot be done, or None."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root (CAP_SYS_ADMIN)"
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                            capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        return f"mount -t tmpfs refused: {result.stderr.strip() or result.returncode}"
    return None


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "small-fs"
    reason = _mount_tmpfs(where, "8m")
    if reason is not None:
        pytest.skip(f"no honest disk-full for SQLite here: {reason}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, timeout=30, check=False)


async def test_sqlite_on_a_full_disk_spools_alarms_and_replays_once_space_is_freed(
        tmp_path: Path, small_filesystem: Path) -> None:
    """The database lives on a small filesystem (tmpfs, 8 MiB) that another file fills up
    mid-run: SQLite answers "database or disk is full"; the spool lives in the state dir, on
    another filesystem. Deleting the filler frees the space."""
    url = sqlite_url(small_filesystem / "poreline.db")
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    filler = small_filesystem / "filler"

    async def fill() -> None:
        with filler.open("wb") as handle:
            chunk = b"\0" * 65536
            with contextlib.suppress(OSError):  # ENOSPC: the filesystem is full
                while True:  # ends with ENOSPC: the filesystem is 8 MiB
                    handle.write(chunk)
                    handle.flush()
        assert shutil.disk_usage(small_filesystem).free < 65536

    async def free() -> None:
        filler.unlink()

    try:
        run_id, timeline, start, end = await run_through_fault(runtime, url, fill, free)
    finally:
        await runtime.close()
    assert_rode_through(runtime, url, run_id, timeline, start, end)
    errors = {o.last_error for o in timeline.between(start, end) if o.last_error}
    assert any("full" in e for e in errors), errors


def _chattr(flag: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True, text=True, timeout=30, check=False)


async def test_sqlite_file_turned_read_only_spools_alarms_and_replays_once_writable(tmp_path: Path) -> None:
    """The database file and its write-ahead log become immutable mid-run (``chattr +i``,
    as an administrator or a filesystem gone read-only would leave them): every write
    through SQLite's open descriptors fails ("disk I/O error"). The shared-memory index
    stays writable: SQLite maps it into memory, and a mapped page of an immutable file
    faults the process (SIGBUS), which is a crash, not a read-only database."""
    database = tmp_path / "poreline.db"
    url = sqlite_url(database)
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    files = (database, database.with_name(database.name + "-wal"))
    probe = tmp_path / "probe"
    probe.touch()
    refused = _chattr("+i", probe)
    _chattr("-i", probe)
    if refused.returncode != 0:
        pytest.skip(f"no immutable files on this filesystem: chattr +i: {refused.stderr.strip()}")

    async def make_read_only() -> None:
        result = _chattr("+i", *files)
        assert result.returncode == 0, result.stderr

    async def make_writable() -> None:
        result = _chattr("-i", *files)
        assert result.returncode == 0, result.stderr

    try:
        run_id, timeline, start, end = await run_through_fault(runtime, url, make_read_only, make_writable)
    finally:
        _chattr("-i", *files)
        await runtime.close()
    assert_rode_through(runtime, url, run_id, timeline, start, end)
    errors = {o.last_error for o in timeline.between(start, end) if o.last_error}
    assert any("I/O" in e or "readonly" in e for e in errors), errors


# --------------------------------------------------------------------------- PostgreSQL
def _through(url: str, port: int, application_name: str) -> str:
    parsed = make_url(url).set(port=port)
    return parsed.update_query_dict({"application_name": application_name}).render_as_string(hide_password=False)


def _new_schema(database: URL) -> str:
    """A fresh, empty schema in the session's throw-away database (as ``postgres_schema_url``)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=database.host, port=database.port, user=database.username, password=database.password,
                         dbname=database.database, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return database.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture
async def postgres_proxy(postgres_schema_url: Callable[[], str]) -> AsyncIterator[tuple[str, str, TcpProxy]]:
    """(URL through the proxy, direct URL, proxy): a fresh schema, reached through a TCP
    proxy of the test's own in front of the server. The proxy runs on the test's event loop:
    the test reads the record through the direct URL (a blocking read through the proxy
    would wait for the very loop it blocks)."""
    direct = postgres_schema_url()
    server = make_url(direct)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    name = f"poreline-fault-{uuid.uuid4().hex[:8]}"
    try:
        yield _through(direct, proxy.port, name), direct, proxy
    finally:
        await proxy.close()


@dataclass
class Campaign:
    """One run through several database faults, one after the other (module docstring)."""

    runtime: LineRuntime
    url: str  # read the record here
    run_id: int
    timeline: Timeline
    windows: dict[str, tuple[float, float]]
    evidence: dict[str, int]  # proof that each fault happened (resets, terminated backends)


PG_RECIPE = casting_text("60 min")  # far longer than the faults: stopped once they are over


async def _postgres_campaign(tmp_path: Path, database: URL) -> Campaign:
    """The runtime records through the proxy; one after the other, each for FAULT_S and each
    lifted only once the historian is current again and HISTORIAN_BEHIND has cleared:

    - ``hang``: the proxy stops forwarding in both directions without closing (no error, no
      data). Equivalent to the campaign's 60 s: the writer's database thread stays in its
      call for as long as the link hangs (the kernel acknowledges, so neither TCP keepalives
      nor the user timeout end it), and once a call has lasted ``stall_s`` (2 s) the writer
      spools and calls nothing else until that call returns (controller/store/historian.py):
      from then on a longer hang only makes the spool longer;
    - ``refused``: the proxy stops listening and closes its connections;
    - ``reset``: every open connection, and every new one at once, is reset (TCP RST);
    - ``terminated``: another connection terminates the runtime's backends
      (``pg_terminate_backend``) every 20 ms: a backend lives long enough to answer a
      little, rarely to commit (and a commit whose answer is lost must not be replayed twice).

    Then the operator stops the run (its production is an hour long, to outlast the faults)."""
    direct = _new_schema(database)
    server = make_url(direct)
    proxy = TcpProxy(server.host or "127.0.0.1", server.port or 5432)
    await proxy.start()
    application_name = f"poreline-fault-{uuid.uuid4().hex[:8]}"
    url = _through(direct, proxy.port, application_name)
    admin = await psycopg.AsyncConnection.connect(host=server.host, port=server.port, user=server.username,
                                                  password=server.password, dbname=server.database,
                                                  autocommit=True)
    terminated: list[int] = []
    killing: list[asyncio.Task[None]] = []

    async def keep_terminating() -> None:
        while True:  # cancelled when the fault ends
            cursor = await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                (application_name,))
            terminated.extend(1 for row in await cursor.fetchall() if row[0])
            await asyncio.sleep(0.02)

    async def start_terminating() -> None:
        killing.append(asyncio.create_task(keep_terminating()))

    async def stop_terminating() -> None:
        for task in killing:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def hang() -> None:
        proxy.pause()

    async def release() -> None:
        proxy.resume()

    async def reset() -> None:
        await proxy.keep_resetting()

    async def stop_resetting() -> None:
        proxy.stop_resetting()

    faults: list[tuple[str, Fault, Fault]] = [
        ("hang", hang, release), ("refused", proxy.stop, proxy.start), ("reset", reset, stop_resetting),
        ("terminated", start_terminating, stop_terminating)]
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    windows: dict[str, tuple[float, float]] = {}
    try:
        await runtime.start()
        run_id = await runtime.start_run(PG_RECIPE)
        await runtime.wait_step("start_casting", 30.0)
        async with Timeline(runtime) as timeline:
            for name, on, off in faults:
                await asyncio.sleep(0.5)
                windows[name] = await _one_fault(runtime, timeline, on, off)
            status = await runtime.status()
            assert status["state"] == "Execute", f"the faults held or ended the run: {status}\n{runtime.log()}"
            await runtime.request("command", command="stop", user="ann", reason="database faults are over")
            final = await runtime.wait_state({"Complete", "Stopped", "Aborted"}, 30.0)
        assert final["state"] == "Stopped", f"{final}\n{runtime.log()}"
        await runtime.wait_historian_idle(20.0)
    finally:
        await runtime.close()
        await stop_terminating()
        await admin.close()
        await proxy.close()
    return Campaign(runtime, direct, run_id, timeline, windows,
                    {"resets": proxy.resets, "terminated": len(terminated)})


async def _one_fault(runtime: LineRuntime, timeline: Timeline, on: Fault, off: Fault) -> tuple[float, float]:
    fault_start = time.monotonic()
    await on()
    try:
        await asyncio.sleep(FAULT_S)
    finally:
        fault_end = time.monotonic()
        await off()
    status = await runtime.status()
    assert status["state"] == "Execute", f"the fault held or ended the run: {status}\n{runtime.log()}"
    await runtime.wait_historian_idle(40.0)
    await until(lambda: _behind_cleared(timeline), 10.0, "HISTORIAN_BEHIND to clear")
    return fault_start, fault_end


@pytest.fixture(scope="module")
def postgres_campaign(postgres_database: URL, tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    return asyncio.run(_postgres_campaign(tmp_path_factory.mktemp("postgres-campaign"), postgres_database))


def assert_rode_through_postgres(campaign: Campaign, fault: str) -> None:
    """What each fault leaves behind (module docstring), on the campaign's stopped run."""
    runtime, timeline, url, run_id = campaign.runtime, campaign.timeline, campaign.url, campaign.run_id
    fault_start, fault_end = campaign.windows[fault]
    assert_scanned_through(timeline, fault_start, fault_end, runtime.scan_period_wall_s)
    during = timeline.between(fault_start, fault_end + 0.5)
    assert any(o.alarms.get("HISTORIAN_BEHIND") in ACTIVE for o in during), (
        f"HISTORIAN_BEHIND not raised during the fault {fault}:\n{timeline.describe(during)}")
    assert any(o.spooled > 0 for o in during), f"nothing spooled during the fault {fault}:\n{timeline.describe(during)}"
    assert not runtime.spool_path.exists(), "the spool file is still there after the replay"
    run = run_row(url, run_id)
    assert run["final_state"] == "Stopped" and run["end_reason"] is None, run
    record = batch_record(url, run_id)
    steps = step_names(PG_RECIPE)
    assert [(s.name, s.outcome) for s in record.steps] == [
        *((n, "complete") for n in steps[:steps.index("production")]), ("production", "stopping")], record.steps
    stops = [c for c in record.commands if c.command == "stop"]
    assert len(stops) == 1 and stops[0].user == "ann", record.commands
    assert_samples_complete(url, run_id, sample_period_s=runtime.sample_period_s,
                            scan_period_s=runtime.scan_period_s, speed=runtime.speed, until_t_s=run["ended_t_s"])
    # unacknowledged, the alarm stays one occurrence; each fault raises it again (ISA-18.2)
    journal = [a for a in alarm_journal(url, run_id) if a["alarm_id"] == "HISTORIAN_BEHIND"]
    assert journal and all(a["cleared_t_s"] is not None and a["cleared_t_s"] >= a["raised_t_s"] for a in journal), (
        journal)
    events = [e for a in journal for e in a["events"]]
    begin, end = timeline_t_s(timeline, fault_start), timeline_t_s(timeline, fault_end + 1.5)
    raised = [e["t_s"] for e in events if e["state"] == "unacknowledged" and begin <= e["t_s"] <= end]
    assert raised, f"HISTORIAN_BEHIND not journaled as raised during the fault {fault}: {events}"
    assert any(e["state"] in ("rtn_unacknowledged", "normal") and e["t_s"] > raised[0] for e in events), events
    assert_audit_intact(url)


def timeline_t_s(timeline: Timeline, wall_s: float) -> float:
    """The line's clock at ``wall_s`` (test monotonic seconds), from the nearest observation."""
    nearest = min(timeline.seen, key=lambda o: abs(o.wall_s - wall_s))
    return nearest.t_s + (wall_s - nearest.wall_s) * SPEED


def test_postgres_link_that_hangs_without_data(postgres_campaign: Campaign) -> None:
    assert_rode_through_postgres(postgres_campaign, "hang")


def test_postgres_connection_refused(postgres_campaign: Campaign) -> None:
    assert_rode_through_postgres(postgres_campaign, "refused")


def test_postgres_connections_reset(postgres_campaign: Campaign) -> None:
    assert postgres_campaign.evidence["resets"] > 0, "no connection was reset: the fault did not happen"
    assert_rode_through_postgres(postgres_campaign, "reset")


def test_postgres_backend_terminated_repeatedly(postgres_campaign: Campaign) -> None:
    assert postgres_campaign.evidence["terminated"] > 0, "no backend was terminated: the fault did not happen"
    assert_rode_through_postgres(postgres_campaign, "terminated")


# --------------------------------------------------------------------------- both at once
async def test_runtime_killed_while_spooling_then_restarted_replays_once_and_closes_the_run_honestly(
        tmp_path: Path, postgres_proxy: tuple[str, str, TcpProxy]) -> None:
    """The database goes away, a step starts while the historian spools, and the runtime is
    killed (SIGKILL) with the spool on disk. Restarted once the database is back, on the same
    state dir: the spool is replayed exactly once, and the lost run is closed as Aborted
    naming the step it was really in, at the time of its last record, after its last sample."""
    url, direct, proxy = postgres_proxy
    runtime = LineRuntime(tmp_path / "runtime", url, speed=SPEED)
    try:
        await runtime.start()
        run_id = await runtime.start_run(RECIPE)
        await runtime.wait_step("start_casting", 30.0)
        await proxy.stop()  # connection refused from now on
        await runtime.wait_step("production", 30.0)
        await asyncio.sleep(2.0)  # more than the writer's flush period: the production step is spooled
        spooling = (await runtime.health())["historian"]
        assert spooling["spooled"] > 0 and runtime.spool_path.exists(), spooling
        last = await runtime.status()
        assert last["state"] == "Execute" and last["step_name"] == "production", last
        scans = (await runtime.health())["scan"]  # a killed run records no scan statistics
        runtime.signal(signal.SIGKILL)
        assert await runtime.wait_exit(10.0) == -signal.SIGKILL

        await proxy.start()  # the database is back
        await runtime.start()
        await runtime.wait_historian_idle(10.0)  # a spool of seconds replays in well under a second
        assert not runtime.spool_path.exists(), "the spool was not replayed"
        status = await runtime.status()
        assert status["state"] == "Idle" and status["run_id"] is None, status
    finally:
        await runtime.close()

    run = run_row(direct, run_id)
    assert run["final_state"] == "Aborted", run
    assert (run["end_reason"] or "").endswith(", last step production"), (
        f"end reason {run['end_reason']!r}; the run was in step production when it was lost")
    times = assert_samples_complete(direct, run_id, sample_period_s=runtime.sample_period_s,
                                    scan_period_s=runtime.scan_period_s, speed=runtime.speed,
                                    longest_scan_s=scans["scan_period_s"]["max"] * runtime.speed)
    window = 1.0 * SPEED + runtime.sample_period_s + runtime.scan_period_s  # the writer's flush period
    assert times[-1] >= last["t_s"] - window, (times[-1], last["t_s"])
    assert run["ended_t_s"] >= times[-1], (
        f"the run is closed at {run['ended_t_s']:.1f} s, but its record goes on to {times[-1]:.1f} s")
    record = batch_record(direct, run_id)
    assert [s.name for s in record.steps] == step_names(RECIPE)[:len(record.steps)]
    assert record.steps[-1].name == "production", [(s.name, s.outcome) for s in record.steps]
    assert all(s.ended_s is not None for s in record.steps), [(s.name, s.ended_s, s.outcome) for s in record.steps]
    assert record.steps[-1].outcome == "lost", [(s.name, s.outcome) for s in record.steps]
    assert [c.command for c in record.commands].count("abort") == 1, record.commands
    assert_audit_intact(direct)
