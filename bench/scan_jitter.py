"""Scan jitter of the line runtime, without load and under an abusive load on the REST API (issue 10).

The real thing on loopback: ``poreline serve`` in a subprocess (free port on 127.0.0.1, SQLite in
a temp dir, its own state dir), which starts the line runtime on the built-in simulator at a 1 s
scan on wall time (speed 1). Two phases, each on a freshly started server and runtime so that the
runtime's own figures (``health`` over the channel: the same as ``GET /line/health``) cover that
phase only:

1. no load: the runtime scans for ``--window`` seconds while nothing but this benchmark's health
   poll talks to it;
2. load, for the same window, every loop bounded in concurrency and stopping by itself at the end
   of the window (in-flight requests are cut 5 s later at the latest):
   - ``POST /recipes/validate`` with a unit string ``1 m*10**3200000`` (pint's big-integer stall),
   - 20 MB request bodies to ``/auth/login``,
   - 50 concurrent wrong-password logins (argon2 verifications),
   - the CSV export of a 24 h run (seeded before the measurement through BatchRecorder: 24 h of
     samples at 10 s for every tag of the line), several at once,
   - 20 SSE clients on ``/stream`` (at the shortest interval the API allows);
   plus light probes that show what a user sees meanwhile: a correct login every 2 s and
   ``GET /health`` every 0.5 s.

The scan period is measured per scan: the benchmark asks the runtime for ``health`` over the
channel twenty times a second; each answer carries the number of scans and the seconds since the
last scan started, on the runtime's monotonic clock, which on Linux is the machine's
CLOCK_MONOTONIC and so the benchmark's too. A request sent at t0 and answered at t1 places the
start of that scan in [t0 - since, t1 - since]; the intersection over all answers about the
same scan bounds it to a fraction of a millisecond (the bound is printed). Periods and their
deviation from the configured 1 s follow for exactly the scans of the window; the runtime's own
summary (period and execution time, since its start) is printed beside them.

The load generator runs on the same machine (2 cores here) as the server and the runtime: its
CPU is part of the load. Traffic goes to 127.0.0.1 only.

    .venv/bin/python bench/scan_jitter.py [--window 60] [--logins 50] [--sse-clients 20] ...

Last line: ``ratio N`` = p99 of |period - 1 s| under load / without load (the baseline floored
at 1 ms, said when it applies). Goal (issue 10): max deviation under load <= 20 ms, ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx

from controller.lines import default_kind
from controller.runtime import channel
from controller.runtime.client import RuntimeClient
from controller.store import BatchRecorder, create_engine_for, session_factory, upgrade, users

PASSWORD = "bench-password"
USER = "bench"
SCAN_PERIOD_S = 1.0
SAMPLE_PERIOD_S = 10.0
SEED_HOURS = 24
BASELINE_FLOOR_S = 0.001
BIG_BODY_BYTES = 20 * 1024 * 1024
STALL_UNIT = "1 m*10**3200000"
GRACE_S = 5.0  # in-flight requests are cut this long after the window at the latest


# ------------------------------------------------------------------ setup
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str) -> tuple[int, int, list[str]]:
    """A viewer, and a finished run of 24 h of samples at 10 s for every tag of the line."""
    upgrade(url)
    engine = create_engine_for(url)
    with session_factory(engine)() as session:
        users.create_user(session, USER, PASSWORD, "viewer")  # the default argon2 cost, as in production
        session.commit()
    definition = default_kind().definition()
    tags = [f"{d.name}.{t.name}" for d in definition.devices for t in d.profile.tags]
    tags += [d.address for d in definition.derived]
    recorder = BatchRecorder(engine, batch_size=50_000, max_buffer_age_s=None)
    run_id = recorder.start_run("bench-24h", 1, default_kind().name, {}, USER, True)
    for i in range(int(SEED_HOURS * 3600 / SAMPLE_PERIOD_S)):
        t_s = i * SAMPLE_PERIOD_S
        recorder.add_samples(run_id, t_s, [(tag, 20.0 + k + (i % 360) / 36.0, "good") for k, tag in enumerate(tags)])
    recorder.end_run(run_id, "Complete", SEED_HOURS * 3600.0)
    written = recorder.samples_written
    engine.dispose()
    return run_id, written, tags


def stall_recipe() -> str:
    text = (ROOT / "recipes" / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")
    stalled = text.replace('production_time: {value: "2 h"}', f'production_time: {{value: "{STALL_UNIT}"}}')
    assert stalled != text, "the recipe's production_time line moved; update the benchmark"
    return stalled


# ----------------------------------------------------------------- server
class Server:
    """``poreline serve`` in a subprocess, with the line runtime it starts."""

    def __init__(self, tmp: Path, name: str, url: str) -> None:
        self.state_dir = tmp / f"state-{name}"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"serve-{name}.log"
        env = dict(os.environ, PORELINE_SCAN_PERIOD_S=repr(SCAN_PERIOD_S), PORELINE_SAMPLE_PERIOD_S=repr(SAMPLE_PERIOD_S),
                   PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controller.cli", "serve", "--database", url, "--host", "127.0.0.1",
                 "--port", str(self.port), "--state-dir", str(self.state_dir), "--sim-speed", "1"],
                stdout=log, stderr=subprocess.STDOUT, cwd=tmp, env=env)
        line_id = default_kind().definition().name
        self.endpoint = channel.endpoint_for(self.state_dir, line_id)

    def wait_until_up(self, timeout_s: float = 90.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"poreline serve exited with {self.process.returncode}; see {self.log}:\n"
                                 + self.log.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise SystemExit(f"poreline serve not up within {timeout_s} s; see {self.log}")

    def key(self) -> str:
        return channel.read_key(channel.key_path_for(self.endpoint))

    def runtime_pids(self) -> list[int]:
        """The runtime this server started (found by its state dir, which is this benchmark's own)."""
        pids = []
        marker = f"--state-dir\0{self.state_dir.resolve()}\0".encode()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if marker in (entry / "cmdline").read_bytes():
                        pids.append(int(entry.name))
                except OSError:
                    pass
        return pids

    def stop(self) -> str:
        """SIGTERM (the server stops its runtime through PackML Stop); SIGKILL after 60 s."""
        runtimes = self.runtime_pids()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in runtimes:  # only if it outlived its server
            deadline = time.monotonic() + 30
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            if Path(f"/proc/{pid}").exists():
                os.kill(pid, signal.SIGKILL)
        runtime_log = self.state_dir / f"{default_kind().definition().name}.log"
        return self.log.read_text(errors="replace") + (runtime_log.read_text(errors="replace")
                                                       if runtime_log.exists() else "")


# --------------------------------------------------------------- scan watch
@dataclass
class ScanWatch:
    """Polls the runtime's ``health`` over the channel (in a thread of its own) and bounds the
    start of every scan on the shared monotonic clock."""

    endpoint: str
    key: str
    poll_s: float = 0.05
    bounds: dict[int, list[float]] = field(default_factory=dict)  # scan count -> [earliest, latest] start
    last: dict[str, Any] | None = None
    history: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (answered at, report)
    polls: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="scan-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _run(self) -> None:
        client = RuntimeClient(self.endpoint, self.key, timeout_s=5.0)
        await client.connect()
        try:
            while not self._stop.is_set():
                t0 = time.perf_counter()
                try:
                    report = await client.request("health")
                except Exception as exc:  # noqa: BLE001 - counted and shown, the poll goes on
                    self.failures[type(exc).__name__] += 1
                    await asyncio.sleep(self.poll_s)
                    continue
                t1 = time.perf_counter()
                self.polls += 1
                scan = report["scan"]
                self.last = report
                self.history.append((t1, report))
                since = scan["seconds_since_last_scan"]
                if since is not None:
                    lo, hi = t0 - since, t1 - since
                    bound = self.bounds.get(scan["scans"])
                    if bound is None:
                        self.bounds[scan["scans"]] = [lo, hi]
                    else:
                        bound[0], bound[1] = max(bound[0], lo), min(bound[1], hi)
                await asyncio.sleep(self.poll_s)
        finally:
            await client.close()

    def wait_scanning(self, scans: int = 3, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.last is not None and self.last["scanning"] and self.last["scan"]["scans"] >= scans:
                return
            time.sleep(0.1)
        raise SystemExit(f"the runtime is not scanning after {timeout_s} s: {self.last}")

    def report_at(self, moment: float) -> dict[str, Any]:
        """The last health report answered by ``moment``."""
        before = [report for at, report in self.history if at <= moment]
        return before[-1] if before else self.history[0][1]

    def periods(self, start: float, end: float) -> tuple[list[float], list[float], int]:
        """Periods between consecutive scans started in [start, end], the uncertainty of each
        (half the sum of both bounds' widths), and how many periods are unknown (a scan no poll
        saw)."""
        scans = sorted(n for n, (lo, hi) in self.bounds.items() if start <= (lo + hi) / 2 <= end)
        periods, uncertainties, unknown = [], [], 0
        for a, b in itertools.pairwise(scans):
            if b != a + 1:
                unknown += b - a - 1
                continue
            (lo_a, hi_a), (lo_b, hi_b) = self.bounds[a], self.bounds[b]
            periods.append((lo_b + hi_b) / 2 - (lo_a + hi_a) / 2)
            uncertainties.append((hi_a - lo_a + hi_b - lo_b) / 2)
        return periods, uncertainties, unknown


def pct(values: list[float], q: float) -> float:
    """The runtime's own percentile (controller/runtime/health.py): the ceil(q n)-th smallest."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


# ------------------------------------------------------------------- load
@dataclass
class Tally:
    """What one kind of load got back."""

    requests: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    note: str = ""

    def done(self, status: str, started: float) -> None:
        self.requests += 1
        self.statuses[status] += 1
        self.latencies_s.append(time.perf_counter() - started)

    def line(self, name: str) -> str:
        lat = sorted(self.latencies_s)
        timing = (f"latency p50 {lat[(len(lat) - 1) // 2] * 1000:8.1f} ms  max {lat[-1] * 1000:8.1f} ms"
                  if lat else "no answer")
        statuses = ", ".join(f"{k} x{v}" for k, v in sorted(self.statuses.items()))
        return f"  {name:28} {self.requests:5d} requests  {timing}  [{statuses}]{self.note}"


def _status(exc: BaseException) -> str:
    detail = str(exc).strip()
    return f"{type(exc).__name__} ({detail[:60]})" if detail else type(exc).__name__


async def _loop(deadline: float, tally: Tally, one: Any) -> None:
    """Call ``one()`` again and again until the deadline (each call timed and tallied)."""
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            status = await one()
        except (httpx.HTTPError, OSError) as exc:
            status = _status(exc)
        tally.done(status, started)


async def _bounded(deadline: float, coroutines: list[Any]) -> None:
    """Run the loops; cancel what is still in flight GRACE_S after the deadline."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        async with asyncio.timeout(max(0.0, deadline - time.monotonic()) + GRACE_S):
            await asyncio.gather(*tasks, return_exceptions=True)
    except TimeoutError:
        pass
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def abuse(base: str, run_id: int, window_s: float,
                args: argparse.Namespace) -> tuple[dict[str, Tally], float]:
    """The load for ``window_s``; returns what each kind got back and when the window began
    (perf_counter)."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=base, timeout=60.0, limits=limits) as client:
        login = await client.post("/auth/login", json={"username": USER, "password": PASSWORD})
        login.raise_for_status()
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        recipe = {"yaml_text": stall_recipe()}
        big_body = b'{"username": "' + USER.encode() + b'", "password": "' + b"x" * BIG_BODY_BYTES + b'"}'
        window_start, deadline = time.perf_counter(), time.monotonic() + window_s
        tallies = {name: Tally() for name in ("validate (pint stall)", "login, 20 MB body", "login, wrong password",
                                               "CSV export 24 h", "SSE /stream", "probe: correct login",
                                               "probe: GET /health")}

        async def validate() -> str:
            r = await client.post("/recipes/validate", json=recipe, headers=auth)
            if r.status_code == 200 and r.json().get("valid"):
                tallies["validate (pint stall)"].note = "  (!) the stalling unit was accepted as valid"
            return str(r.status_code)

        async def big_login() -> str:
            r = await client.post("/auth/login", content=big_body, headers={"Content-Type": "application/json"})
            return str(r.status_code)

        async def wrong_login() -> str:
            r = await client.post("/auth/login", json={"username": USER, "password": "wrong-password"})
            return str(r.status_code)

        export_bytes: list[int] = []  # of complete exports
        first_bytes: list[float] = []
        received = [0]

        async def export() -> str:
            started = time.perf_counter()
            size = 0
            async with client.stream("GET", f"/runs/{run_id}/record.csv", headers=auth) as r:
                async for piece in r.aiter_raw():
                    if size == 0:
                        first_bytes.append(time.perf_counter() - started)
                    size += len(piece)
                    received[0] += len(piece)
                    if time.monotonic() > deadline:
                        return f"{r.status_code}, cut at the window's end"
            export_bytes.append(size)
            return str(r.status_code)

        sse_events: list[int] = []

        async def sse_client() -> None:
            tally = tallies["SSE /stream"]
            events, started = 0, time.perf_counter()
            params = {"interval_s": args.sse_interval}
            status = "ended"
            try:
                async with client.stream("GET", "/stream", params=params, headers=auth) as r:
                    status = str(r.status_code)
                    async for line in r.aiter_lines():
                        if line.startswith("event: status"):
                            events += 1
                        if time.monotonic() >= deadline:
                            break
            except (httpx.HTTPError, OSError) as exc:
                status = _status(exc)
            sse_events.append(events)
            tally.done(status, started)

        async def probe_login() -> str:
            await asyncio.sleep(2.0)
            r = await client.post("/auth/login", json={"username": USER, "password": PASSWORD}, timeout=30.0)
            return str(r.status_code)

        async def probe_health() -> str:
            await asyncio.sleep(0.5)
            r = await client.get("/health", timeout=30.0)
            return str(r.status_code)

        loops = (
            [_loop(deadline, tallies["validate (pint stall)"], validate) for _ in range(args.validators)]
            + [_loop(deadline, tallies["login, 20 MB body"], big_login) for _ in range(args.big_bodies)]
            + [_loop(deadline, tallies["login, wrong password"], wrong_login) for _ in range(args.logins)]
            + [_loop(deadline, tallies["CSV export 24 h"], export) for _ in range(args.exports)]
            + [sse_client() for _ in range(args.sse_clients)]
            + [_loop(deadline, tallies["probe: correct login"], probe_login),
               _loop(deadline, tallies["probe: GET /health"], probe_health)]
        )
        await _bounded(deadline, loops)
        if first_bytes:
            whole = f"{max(export_bytes) / 1e6:.1f} MB each complete one, " if export_bytes else ""
            tallies["CSV export 24 h"].note = (f"  {whole}{received[0] / 1e6 / window_s:.1f} MB/s in all, first byte "
                                               f"after {max(first_bytes) * 1000:.0f} ms at most")
        if sse_events:
            tallies["SSE /stream"].note = (f"  events per client {min(sse_events)}-{max(sse_events)} "
                                           f"(asked: one per {args.sse_interval:g} s)")
        return tallies, window_start


# ---------------------------------------------------------------- phases
@dataclass
class Phase:
    name: str
    periods: list[float]
    uncertainties_s: list[float]
    unknown: int
    runtime: dict[str, Any]
    scans_before_window: int
    tallies: dict[str, Tally] | None = None

    @property
    def deviations(self) -> list[float]:
        return [abs(p - SCAN_PERIOD_S) for p in self.periods]

    def report(self, window_s: float) -> None:
        if not self.periods:
            print(f"{self.name}: {window_s:g} s window, no scan period observed")
            return
        u = self.uncertainties_s
        print(f"{self.name}: {window_s:g} s window, {len(self.periods)} scan periods observed, each to +/- "
              f"{pct(u, 0.5) * 1000:.2f} ms (median; worst {max(u) * 1000:.2f} ms); {self.unknown} periods unseen")
        p, d = self.periods, self.deviations
        print(f"  scan period     p50 {pct(p, 0.5):.4f} s  p99 {pct(p, 0.99):.4f} s  max {max(p):.4f} s"
              f"  min {min(p):.4f} s")
        print(f"  |period - 1 s|  p50 {pct(d, 0.5) * 1000:7.2f} ms  p99 {pct(d, 0.99) * 1000:7.2f} ms"
              f"  max {max(d) * 1000:7.2f} ms")
        scan = self.runtime["scan"]
        sp, ex = scan["scan_period_s"], scan["execution_s"]
        print(f"  runtime's own health ({scan['scans']} scans since it started, {self.scans_before_window} before the "
              f"window; overruns {scan['overruns']}, failed {scan['failed_scans']}):")
        print(f"    scan period   p50 {sp['p50']:.4f} s  p99 {sp['p99']:.4f} s  max {sp['max']:.4f} s"
              f"  min {sp['min']:.4f} s")
        print(f"    execution     p50 {ex['p50'] * 1000:7.2f} ms  p99 {ex['p99'] * 1000:7.2f} ms"
              f"  max {ex['max'] * 1000:7.2f} ms")
        historian = self.runtime["historian"]
        print(f"    historian     queued {historian['queued']}  spooled {historian['spooled']}  "
              f"dropped {historian['dropped_samples']}  last error {historian['last_error'] or '-'}")
        if self.tallies is not None:
            print("  load (and probes) during the window:")
            for name, tally in self.tallies.items():
                print(tally.line(name))


_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Group)\b.*)$")


def report_log(text: str) -> None:
    """What the server and the runtime logged as errors and warnings during the load, counted."""
    seen: Counter[str] = Counter()
    for line in text.splitlines():
        stripped = line.strip()
        if "WARNING" in line or "ERROR" in line or "CRITICAL" in line:
            seen[re.sub(r"^\S+ \S+ ", "", stripped)[:160]] += 1  # without the time stamp
        elif (match := _EXCEPTION.match(line)) is not None:
            seen["  raised: " + match.group(1)[:160]] += 1
    for message, count in seen.most_common(12):
        print(f"  server/runtime log x{count}: {message}")


def run_phase(tmp: Path, url: str, name: str, window_s: float, run_id: int,
              args: argparse.Namespace, loaded: bool) -> tuple[Phase, str]:
    server = Server(tmp, name, url)
    try:
        server.wait_until_up()
        watch = ScanWatch(server.endpoint, server.key())
        watch.start()
        try:
            watch.wait_scanning()
            assert watch.last is not None
            config = watch.last["configuration"]
            if config["speed"] != 1.0 or config["scan_period_s"] != SCAN_PERIOD_S:
                raise SystemExit(f"the runtime runs {config}, not a 1 s scan at speed 1")
            before = int(watch.last["scan"]["scans"])
            tallies = None
            if loaded:
                tallies, start = asyncio.run(abuse(server.base, run_id, window_s, args))
            else:
                start = time.perf_counter()
                time.sleep(window_s)
            end = start + window_s
            time.sleep(0.3)  # the last scan of the window seen by a poll or two more
            runtime = watch.report_at(end)
        finally:
            watch.stop()
        periods, uncertainties, unknown = watch.periods(start, end)
        if watch.failures:
            print(f"  (health polls that failed: {dict(watch.failures)} of {watch.polls + sum(watch.failures.values())})")
        return Phase(name, periods, uncertainties, unknown, runtime, before, tallies), server.stop()
    except BaseException:
        server.stop()
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=60.0, help="seconds measured per phase")
    parser.add_argument("--validators", type=int, default=4, help="concurrent POST /recipes/validate loops")
    parser.add_argument("--big-bodies", type=int, default=2, help="concurrent 20 MB login-body loops")
    parser.add_argument("--logins", type=int, default=50, help="concurrent wrong-password login loops")
    parser.add_argument("--exports", type=int, default=3, help="concurrent CSV export loops (issue 10: three broke logins)")
    parser.add_argument("--sse-clients", type=int, default=20)
    parser.add_argument("--sse-interval", type=float, default=0.05, help="seconds between events (the API's minimum)")
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the server and runtime logs here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scan-jitter-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.db'}"
        t0 = time.perf_counter()
        run_id, samples, tags = seed(url)
        print(f"seeded run {run_id}: {samples} samples ({len(tags)} tags, {SEED_HOURS} h at {SAMPLE_PERIOD_S:g} s) "
              f"in {time.perf_counter() - t0:.1f} s")
        print(f"machine: {os.cpu_count()} CPUs; load generator, API server and runtime share them")
        base, _log = run_phase(tmp, url, "no load", args.window, run_id, args, loaded=False)
        base.report(args.window)
        load, load_log = run_phase(tmp, url, "load", args.window, run_id, args, loaded=True)
        load.report(args.window)
        report_log(load_log)
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for path in [*tmp.glob("serve-*.log"), *tmp.glob("state-*/*.log")]:
                (args.keep_logs / f"{path.parent.name}-{path.name}").write_bytes(path.read_bytes())
        if not base.periods or not load.periods:
            raise SystemExit("no scan periods observed in a phase: no ratio")
        base_p99 = pct(base.deviations, 0.99)
        load_p99 = pct(load.deviations, 0.99)
        floor = max(base_p99, BASELINE_FLOOR_S)
        load_max = max(load.deviations)
        print(f"max deviation under load {load_max * 1000:.2f} ms (goal <= 20 ms: {'met' if load_max <= 0.020 else 'NOT met'})")
        note = (f" (baseline p99 {base_p99 * 1000:.3f} ms floored at {BASELINE_FLOOR_S * 1000:g} ms)"
                if base_p99 < BASELINE_FLOOR_S else "")
        ratio = load_p99 / floor
        print(f"p99 deviation: load {load_p99 * 1000:.2f} ms / no load {floor * 1000:.2f} ms{note}; "
              f"goal ratio <= 1.5: {'met' if ratio <= 1.5 else 'NOT met'}")
        print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
