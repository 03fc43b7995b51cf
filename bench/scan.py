"""Driver scan time over real sockets: what one ``Line.read_inputs()`` costs on the wire.

Serves the 2-layer casting plant (``simulator.casting.plant.CastingPlant``) as a Modbus/TCP PLC
(``simulator.serve.modbus.ModbusPlantServer``) in a SEPARATE process on 127.0.0.1 at a
free port, the plant stepping and publishing every 0.1 s of wall time. Then, interleaved
scan by scan so both see the same machine load:

- driver scan: ``Line.read_inputs()`` over a ``ModbusTransport`` for every device
  (block reads planned from the map, float32 decoding, DeviceReadings);
- floor: the same block reads with a bare pymodbus client (no driver layer, no decoding).

    .venv/bin/python bench/scan.py               # 2000 scans
    .venv/bin/python bench/scan.py --scans 500

Prints p50/p99 in ms of each; the LAST line is ``ratio N`` = driver p50 / floor p50.
Goals: driver p99 <= 10 ms, ratio <= 1.3.

OPC UA: :func:`measure_opcua` serves the same plant with ``simulator.serve.opcua`` in
another process and times ``Line.read_inputs()`` over an ``OpcUaTransport``; ``main``
prints its figure (no OPC UA floor: the ratio is Modbus only).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import multiprocessing.synchronize
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymodbus.client import AsyncModbusTcpClient

from controller.assembly import simulated_plant
from controller.lines import default_kind
from drivers.clock import WallClock
from drivers.definition import LineDefinition
from drivers.line import Line
from drivers.modbus.client import ModbusEndpoint, ModbusTransport
from drivers.modbus.map import plan_line_map
from drivers.transport import DeviceReading

if TYPE_CHECKING:
    from simulator.serve.modbus import ModbusPlantServer
    from simulator.serve.opcua import OpcUaPlantServer

HOST = "127.0.0.1"
PUBLISH_PERIOD_S = 0.1
SERVER_START_TIMEOUT_S = 30.0
SERVER_STOP_TIMEOUT_S = 5.0
WARMUP_SCANS = 100
MAX_SCANS = 100_000

Protocol = Literal["modbus", "opcua"]
_PROTOCOL_NAMES: dict[Protocol, str] = {"modbus": "Modbus", "opcua": "OPC UA"}


@dataclass(frozen=True, slots=True)
class ScanFigures:
    name: str
    scans: int
    p50_ms: float
    p99_ms: float


def figures(name: str, samples_s: list[float]) -> ScanFigures:
    ordered = sorted(samples_s)
    n = len(ordered)
    return ScanFigures(name, n, 1e3 * ordered[(n - 1) // 2], 1e3 * ordered[min(n - 1, int(0.99 * n))])


def _line() -> LineDefinition:
    """The default kind's built-in line (the two-layer casting line)."""
    return default_kind().definition()


async def _serve(protocol: Protocol, port: int, ready: multiprocessing.synchronize.Event,
                 stop: multiprocessing.synchronize.Event) -> None:
    line = _line()
    clock = WallClock()
    plant = simulated_plant(default_kind(), line)
    if protocol == "modbus":
        from simulator.serve.modbus import ModbusPlantServer

        server: ModbusPlantServer | OpcUaPlantServer = ModbusPlantServer(
            plant, plan_line_map(line), {d.name: d.profile for d in line.devices}, clock, host=HOST, port=port)
    else:
        from simulator.serve.opcua import OpcUaPlantServer

        server = OpcUaPlantServer(plant, line, port=port, host=HOST, clock=clock)
    await server.start()
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(PUBLISH_PERIOD_S)
        plant.advance_to(clock.now_s())
        await server.publish()
    await server.stop()


def serve_process(protocol: Protocol, port: int, ready: multiprocessing.synchronize.Event,
                  stop: multiprocessing.synchronize.Event) -> None:
    """Child-process entry: serve the casting plant over ``protocol`` on ``port`` until ``stop`` is set."""
    asyncio.run(_serve(protocol, port, ready, stop))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def served_plant(protocol: Protocol) -> Iterator[int]:
    """The casting plant served over ``protocol`` by a separate process; yields its port."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    stop = context.Event()
    port = free_port()
    server = context.Process(target=serve_process, args=(protocol, port, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(timeout=SERVER_START_TIMEOUT_S):
            raise RuntimeError(f"the {_PROTOCOL_NAMES[protocol]} plant server did not start "
                               f"within {SERVER_START_TIMEOUT_S:g} s")
        yield port
    finally:
        stop.set()
        server.join(timeout=SERVER_STOP_TIMEOUT_S)
        if server.is_alive():
            server.terminate()
            server.join(timeout=SERVER_STOP_TIMEOUT_S)


def _check_good(readings: Mapping[str, DeviceReading]) -> None:
    bad = [r for r in readings.values() if r.quality.value != "good"]
    if bad:
        raise RuntimeError(f"devices not GOOD: {[r.device for r in bad]}: {bad[0].error}")


async def _time_scans(scans: int, *steps: Callable[[], Awaitable[object]]) -> list[list[float]]:
    """Wall times [s] of each step, the steps run one after the other in every scan
    (interleaved, so all see the same machine load), after ``WARMUP_SCANS`` untimed scans."""
    samples: list[list[float]] = [[] for _ in steps]
    clock = time.perf_counter
    for index in range(WARMUP_SCANS + scans):
        for step, step_samples in zip(steps, samples, strict=True):
            start = clock()
            await step()
            elapsed = clock() - start
            if index >= WARMUP_SCANS:
                step_samples.append(elapsed)
    return samples


async def measure_modbus(port: int, scans: int) -> tuple[ScanFigures, ScanFigures]:
    """(driver scan, raw floor) over the Modbus server at ``port``."""
    line_definition = _line()
    modbus_map = plan_line_map(line_definition)
    transport = ModbusTransport([ModbusEndpoint(HOST, port, modbus_map)], WallClock())
    line = Line(line_definition, [transport])
    raw = AsyncModbusTcpClient(HOST, port=port, timeout=0.3, retries=0, reconnect_delay=0.0)
    await line.connect()
    if not await raw.connect():
        raise ConnectionError(f"raw client cannot connect to {HOST}:{port}")
    blocks = [(b.address, b.count) for b in modbus_map.read_blocks]
    unit = modbus_map.unit_id

    async def raw_block_reads() -> None:
        for address, count in blocks:
            response = await raw.read_holding_registers(address, count=count, device_id=unit)
            if response.isError():
                raise RuntimeError(f"raw read refused: {response}")

    try:
        _check_good(await line.read_inputs())
        driver_s, floor_s = await _time_scans(scans, line.read_inputs, raw_block_reads)
    finally:
        raw.close()
        await line.close()
    return figures("modbus driver scan", driver_s), figures("modbus raw block reads (floor)", floor_s)


async def _measure_opcua_scans(port: int, scans: int) -> ScanFigures:
    from drivers.opcua.client import OpcUaTransport

    line_definition = _line()
    endpoint = f"opc.tcp://{HOST}:{port}/poreline/"
    transport = OpcUaTransport(endpoint, line_definition, tuple(d.name for d in line_definition.devices),
                               clock=WallClock())
    line = Line(line_definition, [transport])
    await line.connect()
    try:
        _check_good(await line.read_inputs())
        (driver_s,) = await _time_scans(scans, line.read_inputs)
    finally:
        await line.close()
    return figures("opcua driver scan", driver_s)


async def measure_opcua(scans: int) -> ScanFigures | None:
    """Serve the plant over OPC UA (``simulator.serve.opcua``, SecurityPolicy None) in
    another process, time ``Line.read_inputs()`` over an ``OpcUaTransport`` (one batched
    Read of all 55 tags per scan) for ``scans`` scans."""
    with served_plant("opcua") as port:
        return await _measure_opcua_scans(port, scans)


def _print(fig: ScanFigures) -> None:
    print(f"{fig.name:32s} n={fig.scans:6d}  p50 {fig.p50_ms:7.3f} ms  p99 {fig.p99_ms:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=2000, help="scans measured (after 100 warm-up)")
    args = parser.parse_args()
    scans = max(1, min(args.scans, MAX_SCANS))

    with served_plant("modbus") as port:
        driver, floor = asyncio.run(measure_modbus(port, scans))

    _print(driver)
    _print(floor)
    opcua = asyncio.run(measure_opcua(scans))
    if opcua is not None:
        _print(opcua)
    print(f"goal: driver p99 <= 10 ms ({'met' if driver.p99_ms <= 10.0 else 'NOT met'}), "
          f"ratio <= 1.3 ({'met' if driver.p50_ms / floor.p50_ms <= 1.3 else 'NOT met'})")
    print(f"ratio {driver.p50_ms / floor.p50_ms:.2f}")


if __name__ == "__main__":
    main()
