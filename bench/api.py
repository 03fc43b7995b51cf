"""Latency of the REST API on loopback: live line state, a 24 h trend, and /health as the floor.

Starts the real server (uvicorn in a subprocess, free port, SQLite in a temp dir), seeds a run
with 24 simulated hours of 1 s samples for 20 tags (BatchRecorder bulk inserts), then:
- GET /line at a fixed rate (default 200 requests/s for 10 s), concurrently;
- GET /health at the same rate (the floor);
- GET /runs/{id}/trend over the whole 24 h of one tag, <= 1000 points, repeated.
Prints p50/p99 of each; the last line is ``ratio N`` (live-state p99 / health p99).

    .venv/bin/python bench/api.py [--rate 200] [--seconds 10] [--trend-repeats 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from controller.lines import default_kind
from controller.store import BatchRecorder, create_engine_for, session_factory, upgrade, users

TAGS = 20
HOURS = 24
PASSWORD = "bench-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(url: str) -> int:
    upgrade(url)
    engine = create_engine_for(url)
    with session_factory(engine)() as session:
        users.create_user(session, "bench", PASSWORD, "viewer")
        session.commit()
    recorder = BatchRecorder(engine, batch_size=20_000, max_buffer_age_s=None)
    run_id = recorder.start_run("bench", 1, default_kind().name, {}, "bench", True)
    t0 = time.perf_counter()
    for t in range(HOURS * 3600):
        for k in range(TAGS):
            recorder.add_sample(run_id, float(t), f"bench_device.tag_{k:02d}", 20.0 + (t % 600) / 60.0 + k)
    recorder.end_run(run_id, "Complete", float(HOURS * 3600))
    print(f"seeded {recorder.samples_written} samples in {time.perf_counter() - t0:.1f} s")
    engine.dispose()
    return run_id


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not up within {timeout_s} s")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class KeepAliveClient:
    """GETs over a pool of keep-alive HTTP/1.1 connections, with nothing else to do.

    The load generator shares this 2-core machine with the server, so its own CPU is stolen
    from the server: httpx spends ~0.6 ms of client CPU per request (measured in session 2),
    twice the server's own cost. This client writes a prepared request and reads the response
    by its Content-Length (uvicorn sends one for every JSON response); httpx stays for the
    log-in and the trend query, where the client's cost does not matter.
    """

    def __init__(self, host: str, port: int, connections: int) -> None:
        self._host, self._port, self._connections = host, port, connections
        self._idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
        self._all: list[asyncio.StreamWriter] = []

    async def open(self) -> None:
        for _ in range(self._connections):
            reader, writer = await asyncio.open_connection(self._host, self._port)
            self._all.append(writer)
            self._idle.put_nowait((reader, writer))

    async def close(self) -> None:
        for writer in self._all:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self._all), return_exceptions=True)

    @staticmethod
    def request(path: str, headers: dict[str, str]) -> bytes:
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    async def get(self, request: bytes) -> bytes:
        reader, writer = await self._idle.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            length = None
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length is None:
                raise RuntimeError(f"response without Content-Length: {head!r}")
            body = await reader.readexactly(length)
        except BaseException:
            writer.close()  # a half-read connection is not reused
            raise
        self._idle.put_nowait((reader, writer))
        if status != b"200":
            raise RuntimeError(f"HTTP {status.decode()}: {body[:200]!r}")
        return body


async def paced(client: KeepAliveClient, request: bytes, rate: float, seconds: float) -> list[float]:
    """``rate`` GETs a second for ``seconds``, each started on its own schedule (open loop: a
    slow response does not delay the next request, so queueing shows in the latency)."""
    latencies: list[float] = []

    async def one() -> None:
        start = time.perf_counter()
        await client.get(request)
        latencies.append((time.perf_counter() - start) * 1000.0)

    tasks = []
    t0 = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies


async def load(base: str, run_id: int, rate: float, seconds: float, trend_repeats: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
        token = (await client.post("/auth/login", json={"username": "bench", "password": PASSWORD})).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        port = int(base.rsplit(":", 1)[1])
        fast = KeepAliveClient("127.0.0.1", port, connections=32)
        await fast.open()
        try:
            line, health = KeepAliveClient.request("/line", headers), KeepAliveClient.request("/health", {})
            await fast.get(line)  # warm up
            live, health_ms = await asyncio.gather(paced(fast, line, rate, seconds),
                                                   paced(fast, health, rate, seconds))
        finally:
            await fast.close()
        trend: list[float] = []
        params = {"tag": "bench_device.tag_07", "t_from_s": 0, "t_to_s": HOURS * 3600, "max_points": 1000}
        for _ in range(trend_repeats):
            start = time.perf_counter()
            response = await client.get(f"/runs/{run_id}/trend", params=params, headers=headers)
            response.raise_for_status()
            trend.append((time.perf_counter() - start) * 1000.0)
        points = len(response.json()["points"])
    for name, values in (("health", health_ms), ("live line state", live), (f"trend 24 h -> {points} points", trend)):
        print(f"{name:32} n={len(values):5d}  p50 {statistics.median(values):7.2f} ms  p99 {pct(values, 0.99):7.2f} ms")
    print(f"ratio {pct(live, 0.99) / pct(health_ms, 0.99):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="requests/s for /line and /health each")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--trend-repeats", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        run_id = seed(url)
        port = free_port()
        env = dict(os.environ, PORELINE_DATABASE_URL=url)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "controller.api.app:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"], env=env)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/health", server)
            asyncio.run(load(f"http://127.0.0.1:{port}", run_id, args.rate, args.seconds, args.trend_repeats))
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
