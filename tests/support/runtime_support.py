"""Helpers of the line runtime's fault campaign (tests/controller/runtime/): the runtime as a
real process (``poreline line run``) reached over its channel, a timeline of its health and
status while a fault is on, a TCP proxy that can hang, refuse or reset the database link,
and the checks of a complete batch record.

Every wait is bounded; every loop stops by itself; processes started here are stopped here
(SIGTERM, then SIGKILL after a bound), by their own pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paths import HIL_DATA, REPO_ROOT
from sqlalchemy import text
from sqlalchemy.orm import Session

from controller.lines import compile_for_line, kind_named
from controller.recipe.document import to_document
from controller.runtime import channel
from controller.runtime.client import RuntimeClient, RuntimeRefused, RuntimeUnavailable
from controller.runtime.process import ChildSettings
from controller.store import audit, create_engine_for, load_batch_record
from controller.store.batch import BatchRecord

SHORT_RECIPE = HIL_DATA / "short-casting.yaml"
FINAL_STATES = frozenset({"Complete", "Stopped", "Aborted"})


# ----------------------------------------------------------------------------- recipes
def casting_text(production: str = "1 min") -> str:
    """The HIL short casting recipe (set gap, start belt, start casting, production,
    shutdown) with ``production`` of steady casting (its timeout a minute longer)."""
    source = SHORT_RECIPE.read_text(encoding="utf-8")
    value, unit = production.split()
    timeout = f"{float(value) + 1:g} {unit}" if unit == "min" else f"{float(value) + 60:g} {unit}"
    changed = source.replace('production_time: {value: "1 min"}', f'production_time: {{value: "{production}"}}')
    changed = changed.replace('production_timeout: {value: "2 min"}', f'production_timeout: {{value: "{timeout}"}}')
    assert production == "1 min" or changed != source, "the short recipe's production time moved"
    return changed


def recipe_document(yaml_text: str) -> dict[str, Any]:
    """The compiled recipe document a client sends with ``start_run``."""
    recipe = compile_for_line(yaml_text)
    return to_document(recipe, kind_named(recipe.header.line_kind).block_document)


def step_names(yaml_text: str) -> list[str]:
    return [step.name for step in compile_for_line(yaml_text).steps]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


# ----------------------------------------------------------------------------- waiting
async def until(probe: Callable[[], Any | Awaitable[Any]], timeout_s: float, what: str,
                interval_s: float = 0.05) -> Any:
    """Poll ``probe`` (sync or async) until it returns something truthy; fail naming ``what``
    and the last value after ``timeout_s`` wall seconds."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while True:
        result = probe()
        last = await result if asyncio.iscoroutine(result) else result
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval_s)


# ----------------------------------------------------------------------------- the runtime
@dataclass
class LineRuntime:
    """``python -m controller.cli.line run`` in a child process (as `poreline serve` starts it), and a client of its channel."""

    state_dir: Path
    database_url: str
    line_id: str = "casting-1"
    kind: str | None = "casting"
    plant: Path | None = None
    speed: float = 20.0
    scan_period_s: float = 1.0
    sample_period_s: float = 5.0
    process: subprocess.Popen[bytes] | None = None
    client: RuntimeClient | None = None
    starts: int = 0

    @property
    def endpoint(self) -> str:
        return channel.endpoint_for(self.state_dir, self.line_id)

    @property
    def log_path(self) -> Path:
        return self.state_dir / f"{self.line_id}.runtime.log"

    @property
    def spool_path(self) -> Path:
        return self.state_dir / f"{self.line_id}.spool.jsonl"

    @property
    def scan_period_wall_s(self) -> float:
        return self.scan_period_s / self.speed

    def arguments(self) -> list[str]:
        """The command line `poreline serve` starts its runtime child with (ChildSettings)."""
        return ChildSettings(self.line_id, self.state_dir, self.database_url,
                             kind=self.kind if self.plant is None else None, plant_file=self.plant, speed=self.speed,
                             scan_period_s=self.scan_period_s, sample_period_s=self.sample_period_s).arguments()

    async def start(self, timeout_s: float = 60.0) -> RuntimeClient:
        """Start the process and connect once it answers on its channel."""
        assert self.process is None or self.process.poll() is not None, "already running"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            self.process = subprocess.Popen(self.arguments(), cwd=REPO_ROOT, stdout=log,  # noqa: ASYNC220
                                            stderr=subprocess.STDOUT)
        key_path = channel.key_path_for(self.endpoint)
        deadline = time.monotonic() + timeout_s
        while not key_path.exists():
            self._check_alive()
            assert time.monotonic() < deadline, f"no channel key after {timeout_s} s:\n{self.log()}"
            await asyncio.sleep(0.05)
        if self.client is not None:
            await self.client.close()
        self.client = RuntimeClient(self.endpoint, channel.read_key(key_path), timeout_s=10.0)
        await self.client.connect()
        while True:
            self._check_alive()
            try:
                await self.client.request("status", timeout_s=1.0)
                return self.client
            except (RuntimeUnavailable, RuntimeRefused):
                assert time.monotonic() < deadline, f"the runtime did not answer in {timeout_s} s:\n{self.log()}"
                await asyncio.sleep(0.05)

    async def attach(self) -> RuntimeClient:
        """Connect to a runtime of this state dir that another process started."""
        if self.client is not None:
            await self.client.close()
        self.client = RuntimeClient(self.endpoint, channel.read_key(channel.key_path_for(self.endpoint)),
                                    timeout_s=10.0)
        await self.client.connect()
        await self.request("status")
        return self.client

    def _check_alive(self) -> None:
        assert self.process is not None
        code = self.process.poll()
        assert code is None, f"the runtime exited with {code}:\n{self.log()}"

    def log(self, tail: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-tail:])
        except FileNotFoundError:
            return "(no log)"

    async def request(self, op: str, timeout_s: float | None = None, **args: Any) -> Any:
        assert self.client is not None, "not started"
        return await self.client.request(op, timeout_s=timeout_s, **args)

    async def status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("status")
        return result

    async def health(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.request("health")
        return result

    async def start_run(self, yaml_text: str, user: str = "ann", reason: str = "fault campaign") -> int:
        started = await self.request("start_run", timeout_s=20.0, document=recipe_document(yaml_text), user=user,
                                     reason=reason)
        return int(started["run_id"])

    async def wait_state(self, states: str | set[str] | frozenset[str], timeout_s: float) -> dict[str, Any]:
        wanted = {states} if isinstance(states, str) else set(states)

        async def probe() -> dict[str, Any] | None:
            try:
                status = await self.status()
            except RuntimeUnavailable:
                return None
            return status if status["state"] in wanted else None

        result: dict[str, Any] = await until(probe, timeout_s, f"state in {sorted(wanted)}")
        return result

    async def wait_step(self, name: str, timeout_s: float) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            status = await self.status()
            assert status["state"] not in FINAL_STATES, f"the run ended before step {name}: {status}"
            return status if status["step_name"] == name and status["state"] == "Execute" else None

        result: dict[str, Any] = await until(probe, timeout_s, f"step {name}")
        return result

    async def wait_historian_idle(self, timeout_s: float) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            historian = (await self.health())["historian"]
            return historian if historian["queued"] == 0 and historian["spooled"] == 0 else None

        result: dict[str, Any] = await until(probe, timeout_s, "the historian to be current (queue and spool empty)")
        return result

    def signal(self, signum: int) -> None:
        assert self.process is not None and self.process.poll() is None
        os.kill(self.process.pid, signum)

    async def wait_exit(self, timeout_s: float) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while self.process.poll() is None:
            assert time.monotonic() < deadline, f"the runtime did not exit within {timeout_s} s:\n{self.log()}"
            await asyncio.sleep(0.05)
        return int(self.process.returncode)

    async def close(self) -> None:
        """Disconnect; stop the process if it still runs (SIGTERM, SIGKILL after 40 s)."""
        if self.client is not None:
            await self.client.close()
            self.client = None
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            deadline = time.monotonic() + 40.0
            while process.poll() is None and time.monotonic() < deadline:  # noqa: ASYNC110 - a child process
                await asyncio.sleep(0.05)
            if process.poll() is None:
                process.kill()
                process.wait(5.0)


def runtime_pids(state_dir: Path) -> list[int]:
    """Pids of ``line run`` processes whose command line names ``state_dir`` (a runtime some
    other process started, e.g. ``poreline serve``: ``python -m controller.cli.line run``)."""
    pids = []
    wanted = str(state_dir.resolve()).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (b"line" in argv or b"controller.cli.line" in argv) and b"run" in argv and wanted in argv:
            pids.append(int(entry.name))
    return pids


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def stop_pid(pid: int, timeout_s: float = 40.0) -> None:
    """SIGTERM ``pid`` (a process this test caused to run), SIGKILL after ``timeout_s``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:  # noqa: ASYNC110 - polling another process
        await asyncio.sleep(0.05)
    if pid_alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- a timeline
@dataclass(frozen=True)
class Observation:
    wall_s: float  # time.monotonic() in the test process
    state: str
    t_s: float  # the line's clock
    scanning: bool
    scans: int
    execution_p99_s: float | None
    overruns: int
    queued: int
    spooled: int
    last_error: str
    alarms: dict[str, str]  # alarm id -> state, as the runtime annunciates them


@dataclass
class Timeline:
    """Status and health of a runtime every ``period_s`` while a fault is on."""

    runtime: LineRuntime
    period_s: float = 0.1
    seen: list[Observation] = field(default_factory=list)
    unanswered: list[tuple[float, str]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Timeline:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _watch(self) -> None:
        while True:  # cancelled by __aexit__
            started = time.monotonic()
            try:
                status = await self.runtime.request("status", timeout_s=2.0)
                health = await self.runtime.request("health", timeout_s=2.0)
            except (RuntimeUnavailable, RuntimeRefused) as exc:
                self.unanswered.append((started, str(exc)))
            else:
                scan, historian = health["scan"], health["historian"]
                self.seen.append(Observation(
                    wall_s=started, state=status["state"], t_s=status["t_s"], scanning=health["scanning"],
                    scans=scan["scans"], execution_p99_s=scan["execution_s"]["p99"], overruns=scan["overruns"],
                    queued=historian["queued"], spooled=historian["spooled"], last_error=historian["last_error"],
                    alarms={a["alarm_id"]: a["state"] for a in status["alarms"]}))
            await asyncio.sleep(max(0.0, self.period_s - (time.monotonic() - started)))

    def between(self, start_wall_s: float, end_wall_s: float) -> list[Observation]:
        return [o for o in self.seen if start_wall_s <= o.wall_s <= end_wall_s]

    def describe(self, observations: list[Observation] | None = None) -> str:
        rows = observations if observations is not None else self.seen
        return "\n".join(f"{o.wall_s:10.2f} {o.state:9} t={o.t_s:7.1f} scanning={o.scanning} scans={o.scans} "
                         f"p99={o.execution_p99_s} queued={o.queued} spooled={o.spooled} alarms={o.alarms} "
                         f"err={o.last_error[:60]!r}" for o in rows[-80:])


def assert_scanned_through(timeline: Timeline, start_wall_s: float, end_wall_s: float, period_wall_s: float,
                           *, on_time_fraction: float = 0.5, window_s: float = 0.5) -> None:
    """Over [start, end] the runtime answered, said ``scanning``, counted scans at (at least
    ``on_time_fraction`` of) its period, counted some in every ``window_s``, and no scan's
    execution came near ``window_s``: a scan that waited for the database (whose calls fail
    after a connect or statement timeout or the historian's stall time, each a second or
    more) would. How short scans are under load is a figure for bench/scan_jitter.py, not
    an assertion here: on a loaded CI machine it says more about the machine."""
    during = timeline.between(start_wall_s, end_wall_s)
    unanswered = [u for u in timeline.unanswered if start_wall_s <= u[0] <= end_wall_s]
    assert not unanswered, f"the runtime did not answer during the fault: {unanswered[:3]}"
    assert len(during) >= 3, f"too few observations during the fault:\n{timeline.describe()}"
    assert all(o.scanning for o in during), f"health said not scanning during the fault:\n{timeline.describe(during)}"
    first, last = during[0], during[-1]
    expected = (last.wall_s - first.wall_s) / period_wall_s
    counted = last.scans - first.scans
    assert counted >= on_time_fraction * expected, (
        f"{counted} scans in {last.wall_s - first.wall_s:.2f} s of fault, expected about {expected:.0f}:\n"
        f"{timeline.describe(during)}")
    for i, before in enumerate(during):
        after = next((o for o in during[i:] if o.wall_s >= before.wall_s + window_s), None)
        if after is not None:
            assert after.scans > before.scans, (
                f"no scan between {before.wall_s:.2f} and {after.wall_s:.2f}:\n{timeline.describe(during)}")
    worst = max(o.execution_p99_s or 0.0 for o in during)
    assert worst < window_s, (
        f"scan execution p99 {worst * 1000:.1f} ms during the fault: a scan waited (period "
        f"{period_wall_s * 1000:.0f} ms)")


# ----------------------------------------------------------------------------- a TCP proxy
class TcpProxy:
    """A small asyncio TCP proxy between the runtime and a server (PostgreSQL), on a port of
    its own that stays the same across :meth:`stop` and :meth:`start`.

    - :meth:`pause`: stop forwarding in both directions without closing anything (the
      connection hangs; the kernel still acknowledges what the client sends);
    - :meth:`stop`: stop listening and close every connection (connection refused);
    - :meth:`reset`: close every open connection with a TCP reset, keep listening;
      :meth:`keep_resetting` also resets each new connection as soon as it is accepted,
      until :meth:`stop_resetting`.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._resetting = False
        self.connections = 0
        self.resets = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self._close_all(reset=False)

    async def reset(self) -> None:
        await self._close_all(reset=True)

    async def keep_resetting(self) -> None:
        self._resetting = True
        await self.reset()

    def stop_resetting(self) -> None:
        self._resetting = False

    async def close(self) -> None:
        self.resume()
        await self.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _close_all(self, *, reset: bool) -> None:
        for pair in list(self._pairs):
            for writer in pair:
                _close(writer, reset=reset)
            self._pairs.discard(pair)
            if reset:
                self.resets += 1
        await asyncio.sleep(0)

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._resetting:
            _close(client_writer, reset=True)
            self.resets += 1
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self.connections += 1
        pair = (client_writer, server_writer)
        self._pairs.add(pair)
        for reader, writer in ((client_reader, server_writer), (server_reader, client_writer)):
            task = asyncio.create_task(self._pump(reader, writer, pair))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter]) -> None:
        try:
            while True:  # ends when either side closes
                await self._flowing.wait()  # paused: read nothing, send nothing, close nothing
                data = await reader.read(65536)
                if not data:
                    break
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if pair in self._pairs:
                self._pairs.discard(pair)
                for w in pair:
                    w.close()


def _close(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    """Close a connection; with ``reset``, by a TCP RST (SO_LINGER 0) instead of a FIN."""
    if reset:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


# ----------------------------------------------------------------------------- the record
def run_row(url: str, run_id: int) -> dict[str, Any]:
    db = create_engine_for(url)
    try:
        with db.connect() as conn:
            row = conn.execute(text("SELECT * FROM runs WHERE id = :r"), {"r": run_id}).mappings().one()
            return dict(row)
    finally:
        db.dispose()


def batch_record(url: str, run_id: int) -> BatchRecord:
    db = create_engine_for(url)
    try:
        return load_batch_record(db, run_id)
    finally:
        db.dispose()


def sample_rows(url: str, run_id: int) -> list[tuple[int, float, str]]:
    """(id, t_s, tag) of every sample of the run, in insertion (id) order."""
    db = create_engine_for(url)
    try:
        with db.connect() as conn:
            return [(int(i), float(t), str(g)) for i, t, g in conn.execute(
                text("SELECT id, t_s, tag FROM samples WHERE run_id = :r ORDER BY id"), {"r": run_id})]
    finally:
        db.dispose()


def longest_scan_period(url: str, run_id: int, speed: float) -> float | None:
    """The run's longest scan period in run seconds, from the scan statistics the runtime
    records when a run ends (None: not recorded, e.g. a run whose runtime was killed)."""
    stats = run_row(url, run_id)["scan_stats"]
    if isinstance(stats, str):
        stats = json.loads(stats)
    if not stats or stats.get("scan_period_s", {}).get("max") is None:
        return None
    return float(stats["scan_period_s"]["max"]) * speed


def assert_samples_complete(url: str, run_id: int, *, sample_period_s: float, scan_period_s: float, speed: float,
                            longest_scan_s: float | None = None, until_t_s: float | None = None) -> list[float]:
    """Every sample event of the run is there once, in order, each with the same tags, and no
    two consecutive events are further apart than the sample period plus the longest scan
    period: a sample is taken by the first scan at or after its time, so a gap wider than
    that is a sample the record lost. The longest scan period is the run's recorded scan
    statistics (wall seconds times ``speed``), or ``longest_scan_s`` (run seconds) for a run
    that has none. Returns the sample times."""
    rows = sample_rows(url, run_id)
    assert rows, f"run {run_id} has no samples"
    by_tag: dict[str, list[float]] = {}
    for _id, t_s, tag in rows:
        by_tag.setdefault(tag, []).append(t_s)
    times = sorted({t for _i, t, _g in rows})
    twice = sorted({t for tag, ts in by_tag.items() for t in ts if ts.count(t) > 1})
    assert not twice, (f"sample events written twice, at run seconds {twice[:5]} "
                       f"({_why_twice(rows, twice[0], sample_period_s)})")
    disordered = [tag for tag, ts in by_tag.items() if ts != sorted(ts)]
    assert not disordered, f"samples out of order (inserted after later ones) for {disordered[:5]}"
    uneven = {tag: len(ts) for tag, ts in by_tag.items() if len(ts) != len(times)}
    assert not uneven, f"{len(times)} sample times, but tags with fewer/more: {dict(list(uneven.items())[:5])}"
    longest = longest_scan_period(url, run_id, speed) if longest_scan_s is None else longest_scan_s
    assert longest is not None, f"run {run_id} has no scan statistics: give longest_scan_s"
    limit = sample_period_s + max(scan_period_s, longest) * 1.02 + 1e-6  # 2 %: two clocks read apart
    gaps = [(a, b) for a, b in zip(times, times[1:], strict=False) if b - a > limit]
    assert not gaps, (f"sample gaps over {limit:.2f} s (run seconds; sample period {sample_period_s:g} s, "
                      f"longest scan period {longest:.2f} s): {gaps[:5]}")
    if until_t_s is not None:
        assert times[-1] >= until_t_s - limit, f"last sample at {times[-1]:.1f} s, the run went on to {until_t_s:.1f} s"
    return times


def _why_twice(rows: list[tuple[int, float, str]], t_s: float, sample_period_s: float) -> str:
    """Tell a replay (a copy inserted after later samples) from the engine sampling one scan
    twice (the copies inserted back to back)."""
    ids = sorted(i for i, t, _g in rows if t == t_s)
    later = [i for i, t, _g in rows if t > t_s and ids[0] < i < ids[-1]]
    if later:
        return "a copy inserted after later samples: replayed twice"
    last = max(t for _i, t, _g in rows)
    where = "the run's last scan" if t_s == last else "one scan"
    return (f"the copies are back to back (ids {ids[0]}..{ids[-1]}): {where} sampled twice; "
            f"the sample period is {sample_period_s:g} s")


def alarm_journal(url: str, run_id: int | None) -> list[dict[str, Any]]:
    """Every alarm occurrence of the run (``None``: run-less ones) with its events."""
    db = create_engine_for(url)
    try:
        with db.connect() as conn:
            where = "run_id = :r" if run_id is not None else "run_id IS NULL"
            alarms = [dict(a) for a in conn.execute(
                text(f"SELECT * FROM alarms WHERE {where} ORDER BY id"), {"r": run_id}).mappings()]
            for alarm in alarms:
                alarm["events"] = [dict(e) for e in conn.execute(
                    text("SELECT t_s, state, actor, note FROM alarm_events WHERE alarm_pk = :a ORDER BY id"),
                    {"a": alarm["id"]}).mappings()]
            return alarms
    finally:
        db.dispose()


def assert_audit_intact(url: str) -> int:
    """``controller.store.audit.verify`` says the chain is intact; returns its rows."""
    db = create_engine_for(url)
    try:
        with Session(db) as session:
            result = audit.verify(session)
    finally:
        db.dispose()
    assert result.ok, f"audit chain broken at row {result.first_bad_id}: {result.reason}"
    return result.rows_checked


def audit_actions(url: str) -> list[tuple[str, str, str]]:
    db = create_engine_for(url)
    try:
        with db.connect() as conn:
            return [(str(a), str(b), str(c)) for a, b, c in conn.execute(
                text("SELECT actor, action, subject FROM audit_log ORDER BY id"))]
    finally:
        db.dispose()


def poreline_audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    """``poreline audit verify --database URL`` as an operator would run it."""
    return subprocess.run([sys.executable, "-m", "controller.cli", "audit", "verify", "--database", url],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=False)
