"""``poreline line run``: a line runtime in this process, until SIGTERM or SIGINT.

Under systemd (``Type=notify``) it says READY once it scans and pings the watchdog from the
scan loop (``WATCHDOG=1`` after every scan that ran, at most once a second), so a runtime
that stops scanning is restarted. The notification protocol is one datagram to
``$NOTIFY_SOCKET`` (sd_notify(3)); it is written here rather than pulled in as a library.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from controller.cli.common import LineOption, console
from controller.cli.errors import PorelineGroup, fail

if TYPE_CHECKING:
    from controller.runtime.service import LineService
    from controller.scada import OpcUaFacade
    from controller.scada.modbus_block import ModbusBlock


def _notify(message: str) -> None:
    """sd_notify(3): a datagram to $NOTIFY_SOCKET (an abstract socket when it starts with @)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    target = "\0" + address[1:] if address.startswith("@") else address
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(message.encode("ascii"), target)


# The runtime runs before its clients on a busy machine (like a PLC runtime's priority over its
# HMI): on 2 cores saturated by the API and its clients, scans at the default priority started
# up to 34 ms late (bench/scan_jitter.py). systemd's unit sets the same (Nice=-10).
RUNTIME_NICE = -10
# A nice value only weighs the runtime's share: a woken scan still waited for a busy core (up to
# 6 ms under bench/scan_jitter.py's load). A soft PLC on Linux runs its task under SCHED_FIFO, so
# that a due scan preempts every ordinary process at once; the kernel keeps 5 % of each second
# for the others (sched_rt_runtime_us), so a runaway scan cannot take the machine. On wall time
# only: a sped-up simulation that falls behind scans back to back and would hold a core.
RUNTIME_REALTIME_PRIORITY = 20


def _set_priority(nice: int) -> None:
    if os.getpriority(os.PRIO_PROCESS, 0) == nice:  # e.g. set by systemd (Nice=)
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except PermissionError:  # an unprivileged user may only lower its priority
        logging.getLogger(__name__).info("runtime priority stays at nice %d (raising it to %d needs CAP_SYS_NICE)",
                                         os.getpriority(os.PRIO_PROCESS, 0), nice)


def _set_realtime(priority: int, speed: float) -> None:
    """SCHED_FIFO at ``priority`` for this process and the threads it starts later (the
    historian writer, the channel's I/O), before any of them exists."""
    if priority <= 0 or speed != 1.0 or os.sched_getscheduler(0) == os.SCHED_FIFO:  # e.g. set by systemd
        return
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except PermissionError:
        logging.getLogger(__name__).info("runtime stays under the default scheduler (SCHED_FIFO %d needs "
                                         "CAP_SYS_NICE or an RLIMIT_RTPRIO of at least %d)", priority, priority)


# `poreline line`; also run alone as `python -m controller.cli.line run ...` (how `poreline serve`
# starts its runtime child): that loads the runtime's modules only, not every command's (~1 s less).
line_app = typer.Typer(help="The line runtime: one process per line.", no_args_is_help=True, cls=PorelineGroup)


@line_app.callback()
def _line() -> None:
    """The line runtime: one process per line."""  # a group, also with its one command (`line run`)


def register(app: typer.Typer) -> None:
    app.add_typer(line_app, name="line")


@line_app.command("run")
def run(
    line_id: Annotated[str | None, typer.Option(
        "--line-id", help="Line id (default: the name of the kind's built-in line)")] = None,
    kind: LineOption = None,
    plant: Annotated[Path | None, typer.Option("--plant", exists=True, dir_okay=False,
                                               help="Plant file: the PLCs to drive (default: the simulator)")] = None,
    database: Annotated[str | None, typer.Option("--database", "-d", envvar="PORELINE_DATABASE_URL",
                                                 help="Database URL (default sqlite:///var/poreline.db)")] = None,
    state_dir: Annotated[Path, typer.Option("--state-dir", envvar="STATE_DIRECTORY",
                                            help="The spool, the channel's socket and key")] = Path("var/runtime"),
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", help="Channel endpoint (default ipc://<state dir>/<line id>.sock; tcp://127.0.0.1:P)")] = None,
    speed: Annotated[float, typer.Option(min=0.001, help="Simulated seconds per wall second (1 for a plant)")] = 1.0,
    scan_period_s: Annotated[float, typer.Option("--scan-period", min=0.01, help="Scan period, s")] = 1.0,
    sample_period_s: Annotated[float, typer.Option("--sample-period", min=0.01, help="Sample period, s")] = 10.0,
    seed: Annotated[int, typer.Option(help="Simulator noise seed")] = 0,
    opcua_endpoint: Annotated[str | None, typer.Option(
        "--opcua-endpoint", help="Serve the line to SCADA as a PackML unit at this OPC UA endpoint "
                                 "(opc.tcp://HOST:PORT\\[/PATH]); off when not given")] = None,
    opcua_cert: Annotated[Path | None, typer.Option(
        "--opcua-cert", exists=True, dir_okay=False,
        help="The OPC UA server's certificate (DER or PEM); default: made once in the state directory")] = None,
    opcua_key: Annotated[Path | None, typer.Option(
        "--opcua-key", exists=True, dir_okay=False, help="Its unencrypted RSA private key (PEM or DER)")] = None,
    opcua_trust_dir: Annotated[Path | None, typer.Option(
        "--opcua-trust-dir", exists=True, file_okay=False,
        help="Trust list: the SCADA clients' certificates (or their CA), DER or PEM")] = None,
    opcua_trust_any_client: Annotated[bool, typer.Option(
        "--opcua-trust-any-client", help="Accept any client certificate (a bench; users still log in)")] = False,
    modbus_endpoint: Annotated[str | None, typer.Option(
        "--modbus-endpoint", help="Serve the Modbus/TCP status and command block at HOST:PORT "
                                  "(docs/scada-modbus-block.md); off when not given")] = None,
    modbus_allow: Annotated[list[str] | None, typer.Option(
        "--modbus-allow", help="A client address or network whose Modbus writes are accepted (repeat it); "
                               "others may only read")] = None,
    modbus_recipe: Annotated[str | None, typer.Option(
        "--modbus-recipe", help="The recipe a Modbus Start runs (its newest version released for production "
                                "on this line)")] = None,
    nice: Annotated[int, typer.Option(
        "--nice", min=-20, max=19,
        help="CPU priority of the runtime (nice value; lower runs first): above its clients so a busy "
             "machine delays the API, not the scan. Where it may not be raised it stays as it is")] = RUNTIME_NICE,
    realtime_priority: Annotated[int, typer.Option(
        "--realtime-priority", min=0, max=99,
        help="On wall time (--speed 1), scan under SCHED_FIFO at this priority, ahead of every ordinary "
             "process (0: off). Where it is not permitted the runtime says so and goes on")] = RUNTIME_REALTIME_PRIORITY,
) -> None:
    """Run one line: scan, record, and serve the channel the API and SCADA use."""
    from controller.runtime import channel
    from controller.runtime.server import RuntimeServer
    from controller.runtime.service import LineService, RuntimeConfig
    from controller.store import default_database_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("asyncua").setLevel(logging.WARNING)  # the OPC UA server logs every node it builds
    _set_priority(nice)
    _set_realtime(realtime_priority, speed)
    config = RuntimeConfig(database_url=database or default_database_url(), state_dir=state_dir.resolve(),
                           kind=kind, plant_file=plant, line_id=line_id, speed=speed,
                           scan_period_s=scan_period_s, sample_period_s=sample_period_s, seed=seed)
    try:
        service = LineService(config)
    except ValueError as exc:
        fail(str(exc), 2)
    address = endpoint or channel.endpoint_for(config.state_dir, service.line_id)
    key = channel.ensure_key(channel.key_path_for(address, config.state_dir, service.line_id))
    scada = None
    if opcua_endpoint is not None:
        scada = _opcua_facade(service, opcua_endpoint, opcua_cert, opcua_key, opcua_trust_dir,
                              opcua_trust_any_client)
    elif opcua_cert or opcua_key or opcua_trust_dir or opcua_trust_any_client:
        fail("--opcua-cert, --opcua-key and the trust options need --opcua-endpoint", 2)
    block = None
    if modbus_endpoint is not None:
        block = _modbus_block(service, modbus_endpoint, modbus_allow or [], modbus_recipe)
    elif modbus_allow or modbus_recipe:
        fail("--modbus-allow and --modbus-recipe need --modbus-endpoint", 2)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if scada is not None:  # its address space is built before the line scans
            await scada.start()
            console.print(f"OPC UA: PackML unit {service.line_id} at {opcua_endpoint}", highlight=False)
        lost = await service.start()
        if scada is not None:
            await scada.refresh_users()  # the database is migrated now
        for run_id, reason in lost:
            console.print(f"run {run_id} closed as Aborted: {reason}", highlight=False)
        if block is not None:
            await block.start()
            console.print(f"Modbus/TCP: status and command block at {block.settings.host}:{block.port}; "
                          f"writes from {', '.join(block.settings.allow) or 'nobody'}", highlight=False)
        server = RuntimeServer(service, endpoint=address, key=key)
        await server.start()
        last_ping = [0.0]

        def ping(_service: LineService) -> None:
            now = time.monotonic()
            if now - last_ping[0] >= 1.0:
                last_ping[0] = now
                _notify("WATCHDOG=1")

        service.on_scan(ping)
        # what start-up built (modules, the line, the recipe compiler) lives as long as the process:
        # out of the collector's reach, a collection during a scan does not walk it (shorter pauses)
        gc.freeze()
        _notify("READY=1")
        console.print(f"line {service.line_id} ({service.kind.name}) scanning; channel {address}", highlight=False)
        await stop.wait()
        _notify("STOPPING=1")
        console.print(f"stopping line {service.line_id}", highlight=False)
        await server.close()
        if block is not None:
            await block.stop()
        if scada is not None:
            await scada.stop()
        await service.stop("runtime stopped (SIGTERM)")

    asyncio.run(go())


def _modbus_block(service: LineService, endpoint: str, allow: list[str], recipe_id: str | None) -> ModbusBlock:
    from controller.scada.modbus_block import ModbusBlock, ModbusSettings, parse_endpoint

    try:
        host, port = parse_endpoint(endpoint)
        settings = ModbusSettings(host, port, tuple(allow), recipe_id)
    except ValueError as exc:
        fail(str(exc), 2)
    if not allow:
        console.print("Modbus/TCP: no --modbus-allow: the block is read-only", highlight=False)
    return ModbusBlock(service, settings)


def _opcua_facade(service: LineService, endpoint: str, cert: Path | None, key: Path | None, trust_dir: Path | None,
                  trust_any_client: bool) -> OpcUaFacade:
    """The SCADA server of ``service``; its certificate given, or made once and kept in the
    state directory (clients pin it: it must not change at every restart)."""
    from controller.scada import FacadeSettings, OpcUaFacade
    from controller.scada.facade import APPLICATION_URI
    from drivers.opcua.security import (
        CertificateError,
        load_certificate_pair,
        make_self_signed_certificate,
        write_certificate_pair,
    )

    if not endpoint.startswith("opc.tcp://"):
        fail(f"--opcua-endpoint: {endpoint!r} is not an opc.tcp:// URL", 2)
    if (cert is None) != (key is None):
        fail("give both --opcua-cert and --opcua-key, or neither", 2)
    if cert is None or key is None:
        cert = service.config.state_dir / f"{service.line_id}.opcua-cert.der"
        key = service.config.state_dir / f"{service.line_id}.opcua-key.pem"
        if not cert.exists():
            cert.parent.mkdir(parents=True, exist_ok=True)
            write_certificate_pair(make_self_signed_certificate(APPLICATION_URI, f"Poreline {service.line_id}",
                                                                server=True), cert, key)
    try:
        pair = load_certificate_pair(cert, key)
        settings = FacadeSettings(endpoint, pair, trust_dir=trust_dir, trust_any_client=trust_any_client,
                                  type_cache_dir=service.config.state_dir)
    except (CertificateError, ValueError) as exc:
        fail(str(exc), 2)
    return OpcUaFacade(service, settings)


if __name__ == "__main__":
    line_app()
