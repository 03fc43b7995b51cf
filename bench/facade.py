"""The line runtime's OPC UA server under subscribers (issue 13): every process and PackML node
of one line, updated at a 100 ms scan, to N subscribed clients over Basic256Sha256
SignAndEncrypt.

In this process: the line runtime (``LineService``, casting line on the built-in simulator,
wall time, ``--scan-period`` 0.1 s) running the Example VIII recipe (so the values move),
and its OPC UA server (``OpcUaFacade``, on its own thread and loop). SQLite in a temp dir,
a viewer user in the store, endpoint on 127.0.0.1 only.

Two phases of ``--window`` seconds, figures from the runtime's own health (the scan periods
it records, start to start, wall seconds):

1. without subscribers;
2. with ``--clients`` clients in a child process (a SCADA is another program), each logged
   in as the viewer over SignAndEncrypt, one subscription each (``--publishing-interval``)
   with a monitored item on every node: every tag under ``Tags``, every variable of
   ``Status`` and ``Admin``, each state machine's ``CurrentState``, each loop's ``Mode``,
   ``SetValue`` and ``Output``. Notification latency =
   the client's wall clock at delivery minus the value's SourceTimestamp (the runtime
   stamps it when it collects the scan's changed values), over the window after a 2 s
   warm-up; same machine, same clock.

The clients' process shares the machine's cores with the runtime: its CPU (decrypting and
decoding every notification) is part of the load.

    .venv/bin/python bench/facade.py [--window 30] [--clients 5] [--publishing-interval 100]

Last line: ``ratio N`` = the runtime's scan-period p99 with subscribers / without.
Goal (issue 13): notification p99 <= 200 ms, ratio <= 1.2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RECIPE = ROOT / "recipes" / "psf-microfilter-example-viii.yaml"
USER, PASSWORD = "scada-viewer", "bench-viewer-password"
WARM_UP_S = 2.0
CLIENT_URI = "urn:poreline:bench:scada-client"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))] if ordered else float("nan")


# ---------------------------------------------------------------------------- the clients (child process)
async def _client_main(endpoint: str, node_strings: list[str], cert_file: Path, key_file: Path, clients: int,
                       interval_ms: float, run_s: float) -> dict[str, Any]:
    from asyncua import Client, ua
    from asyncua.crypto import uacrypto
    from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

    node_ids = [ua.NodeId.from_string(n) for n in node_strings]
    latencies_s: list[float] = []
    counting = [False]

    class Handler:
        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            stamp = data.monitored_item.Value.SourceTimestamp
            if counting[0] and stamp is not None:
                latencies_s.append(time.time() - stamp.replace(tzinfo=UTC).timestamp())

    opened: list[Client] = []
    try:
        for _ in range(clients):
            client = Client(endpoint, timeout=30)
            client.application_uri = CLIENT_URI
            await client.set_security(SecurityPolicyBasic256Sha256,
                                      certificate=uacrypto.CertProperties(str(cert_file), extension="der"),
                                      private_key=uacrypto.CertProperties(str(key_file), extension="pem"),
                                      mode=ua.MessageSecurityMode.SignAndEncrypt)
            client.set_user(USER)
            client.set_password(PASSWORD)
            await client.connect()
            opened.append(client)
            subscription = await client.create_subscription(interval_ms, Handler())
            await subscription.subscribe_data_change([client.get_node(n) for n in node_ids], queuesize=10)
        print("subscribed", flush=True)
        await asyncio.sleep(WARM_UP_S)
        counting[0] = True
        await asyncio.sleep(run_s)
        counting[0] = False
    finally:
        for client in opened:
            try:
                await asyncio.wait_for(client.disconnect(), 10)
            except Exception:  # noqa: BLE001 - the bench ends either way
                pass
    return {"notifications": len(latencies_s), "nodes": len(node_ids),
            "p50_s": pct(latencies_s, 0.5), "p99_s": pct(latencies_s, 0.99),
            "max_s": max(latencies_s) if latencies_s else float("nan")}


# ---------------------------------------------------------------------------- the runtime (this process)
def _seed(url: str) -> None:
    from sqlalchemy.orm import Session

    from controller.store import create_engine_for, upgrade
    from controller.store.users import add_user, hash_password

    upgrade(url)
    db = create_engine_for(url)
    try:
        with Session(db) as session:
            add_user(session, USER, hash_password(PASSWORD), "viewer")
            session.commit()
    finally:
        db.dispose()


def _document() -> dict[str, Any]:
    from controller.lines import compile_for_line, kind_named
    from controller.recipe.document import to_document

    compiled = compile_for_line(RECIPE.read_text(encoding="utf-8"))
    return to_document(compiled, kind_named(compiled.header.line_kind).block_document)


def _node_ids(facade: Any) -> list[str]:
    nodes = facade.nodes
    ids = [t.node_id for t in nodes.tags] + list(nodes.status.values()) + list(nodes.admin.values())
    ids += [m.current for m in (nodes.base, nodes.machine, nodes.execute)]
    ids += [n for loop in nodes.loops for n in (loop.mode, loop.setpoint, loop.output)]
    return [n.to_string() for n in ids]


def _periods(service: Any, scans_before: int) -> list[float]:
    new = service.health.scans - scans_before
    periods = list(service.health.periods_s)
    return periods[-new:] if new > 0 else []


async def _bench(args: argparse.Namespace, workdir: Path) -> float:
    from controller.runtime.service import LineService, RuntimeConfig
    from controller.scada import FacadeSettings, OpcUaFacade
    from controller.scada.facade import APPLICATION_URI
    from drivers.opcua.security import make_self_signed_certificate, write_certificate_pair

    url = f"sqlite:///{workdir / 'poreline.db'}"
    await asyncio.to_thread(_seed, url)
    server_pair = make_self_signed_certificate(APPLICATION_URI, "Poreline bench runtime", server=True)
    client_pair = make_self_signed_certificate(CLIENT_URI, "Bench SCADA", server=False)
    cert_file, key_file = workdir / "client-cert.der", workdir / "client-key.pem"
    write_certificate_pair(client_pair, cert_file, key_file)
    service = LineService(RuntimeConfig(database_url=url, state_dir=workdir / "runtime", kind=None, speed=1.0,  # the default kind
                                        scan_period_s=args.scan_period, sample_period_s=10.0))
    with socket_port() as port:
        endpoint = f"opc.tcp://127.0.0.1:{port}/poreline/"
    facade = OpcUaFacade(service, FacadeSettings(endpoint, server_pair, trust_any_client=True))
    await facade.start()
    await service.start()
    await facade.refresh_users()
    try:
        await service.start_run(_document(), "bench", "bench/facade.py")
        nodes_file = workdir / "nodes.json"
        nodes_file.write_text(json.dumps(_node_ids(facade)))
        print(f"machine: {os.cpu_count()} CPUs, shared with the clients' process (and whatever else runs)")
        print(f"line {service.line_id}: {len(_node_ids(facade))} nodes, scan {args.scan_period * 1000:g} ms, "
              f"run {service.status()['run_id']} ({RECIPE.name}), state {service.status()['state']}")

        await asyncio.sleep(1.0)
        before = service.health.scans
        await asyncio.sleep(args.window)
        alone = _periods(service, before)

        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--as-clients", endpoint, "--nodes", str(nodes_file), "--cert", str(cert_file),
            "--key", str(key_file), "--clients", str(args.clients), "--publishing-interval",
            str(args.publishing_interval), "--window", str(args.window), stdout=subprocess.PIPE)
        assert child.stdout is not None
        ready = await asyncio.wait_for(child.stdout.readline(), timeout=120.0)
        if ready.strip() != b"subscribed":
            raise SystemExit(f"the clients did not subscribe: {ready!r}")
        await asyncio.sleep(WARM_UP_S)
        before = service.health.scans
        await asyncio.sleep(args.window)
        loaded = _periods(service, before)
        out, _ = await asyncio.wait_for(child.communicate(), timeout=args.window + 60.0)
        clients = json.loads(out.decode().strip().splitlines()[-1])
    finally:
        await facade.stop()
        await service.stop()

    period = args.scan_period
    for name, periods in (("without subscribers", alone), (f"with {args.clients} subscribers", loaded)):
        print(f"scan period {name}: {len(periods)} scans  p50 {pct(periods, 0.5) * 1000:.1f} ms  "
              f"p99 {pct(periods, 0.99) * 1000:.1f} ms  max {max(periods) * 1000:.1f} ms  "
              f"(configured {period * 1000:g} ms)")
    print(f"notifications: {clients['notifications']} over {args.window:g} s to {args.clients} clients "
          f"({clients['nodes']} monitored items each, publishing interval {args.publishing_interval:g} ms)")
    print(f"notification latency p50 {clients['p50_s'] * 1000:.1f} ms  p99 {clients['p99_s'] * 1000:.1f} ms  "
          f"max {clients['max_s'] * 1000:.1f} ms (goal p99 <= 200 ms: "
          f"{'met' if clients['p99_s'] <= 0.2 else 'NOT met'})")
    return pct(loaded, 0.99) / pct(alone, 0.99)


class socket_port:
    """A free loopback port (closed again before the server binds it)."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        return int(self._sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self._sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=30.0, help="seconds measured per phase")
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--publishing-interval", type=float, default=100.0, help="subscription publishing interval, ms")
    parser.add_argument("--scan-period", type=float, default=0.1, help="the runtime's scan period, s (wall time)")
    parser.add_argument("--as-clients", metavar="ENDPOINT", help=argparse.SUPPRESS)
    parser.add_argument("--nodes", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cert", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--key", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 1.0 <= args.window <= 3600.0 or not 1 <= args.clients <= 50:
        parser.error("--window 1..3600 s, --clients 1..50")
    if args.as_clients:
        result = asyncio.run(_client_main(args.as_clients, json.loads(args.nodes.read_text()), args.cert, args.key, args.clients,
                                          args.publishing_interval, args.window + WARM_UP_S))
        print(json.dumps(result), flush=True)
        return
    import logging

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="poreline-bench-facade-") as tmp:
        ratio = asyncio.run(_bench(args, Path(tmp)))
    print(f"ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
