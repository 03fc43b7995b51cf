"""Driver scan time over real sockets: what one ``Line.read_inputs()`` costs on the wire.

Serves the 2-layer casting plant (``simulator.casting.CastingPlant``) as a Modbus/TCP PLC
(``simulator.modbus_server.ModbusPlantServer``) in a SEPARATE process on 127.0.0.1 at a
free port, the plant stepping and publishing every 0.1 s of wall time. Then, interleaved
scan by scan so both see the same machine load:

- driver scan: ``Line.read_inputs()`` over a ``ModbusTransport`` for every device
  (block reads planned from the map, float32 decoding, DeviceReadings);
- floor: the same block reads with a bare pymodbus client (no driver layer, no decoding).

    .venv/bin/python bench/scan.py               # 2000 scans
    .venv/bin/python bench/scan.py --scans 500

Prints p50/p99 in ms of each; the LAST line is ``ratio N`` = driver p50 / floor p50.
Goals: driver p99 <= 10 ms, ratio <= 1.3.

OPC UA: :func:`measure_opcua` serves the same plant with ``simulator.opcua_server`` in
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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from drivers.clock import WallClock  # noqa: E402
from drivers.line import Line  # noqa: E402
from drivers.lines import LineDefinition, casting_line  # noqa: E402
from drivers.modbus_map import plan_line_map  # noqa: E402
from drivers.modbus_transport import ModbusEndpoint, ModbusTransport  # noqa: E402
from drivers.sim_transport import PlantPort  # noqa: E402

HOST = "127.0.0.1"
PUBLISH_PERIOD_S = 0.1
WARMUP_SCANS = 100
MAX_SCANS = 100_000


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


class _StandInPlant:
    """Used only if simulator.casting is missing: every tag holds its mid-range value."""

    def __init__(self, line: LineDefinition) -> None:
        self._values = {d.name: {t.name: (t.low + t.high) / 2.0 for t in d.profile.tags} for d in line.devices}

    def advance_to(self, t_s: float) -> None:
        pass

    def read_device(self, device: str) -> Mapping[str, float]:
        return dict(self._values[device])

    def write_device(self, device: str, values: Mapping[str, float]) -> None:
        self._values[device].update(values)


def _make_plant(line: LineDefinition) -> PlantPort:
    try:
        from simulator.casting import CastingPlant
    except ImportError:
        return _StandInPlant(line)
    return CastingPlant(line, seed=0)


async def _serve(port: int, ready: multiprocessing.synchronize.Event, stop: multiprocessing.synchronize.Event) -> None:
    from simulator.modbus_server import ModbusPlantServer

    line = casting_line(layers=2)
    clock = WallClock()
    plant = _make_plant(line)
    server = ModbusPlantServer(plant, plan_line_map(line), {d.name: d.profile for d in line.devices}, clock,
                               host=HOST, port=port)
    await server.start()
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(PUBLISH_PERIOD_S)
        plant.advance_to(clock.now_s())
        await server.publish()
    await server.stop()


def serve_process(port: int, ready: multiprocessing.synchronize.Event, stop: multiprocessing.synchronize.Event) -> None:
    """Child-process entry: serve the casting plant on ``port`` until ``stop`` is set."""
    asyncio.run(_serve(port, ready, stop))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def measure_modbus(port: int, scans: int) -> tuple[ScanFigures, ScanFigures]:
    """(driver scan, raw floor) over the Modbus server at ``port``."""
    line_definition = casting_line(layers=2)
    modbus_map = plan_line_map(line_definition)
    transport = ModbusTransport([ModbusEndpoint(HOST, port, modbus_map)], WallClock())
    line = Line(line_definition, [transport])
    raw = AsyncModbusTcpClient(HOST, port=port, timeout=0.3, retries=0, reconnect_delay=0.0)
    await line.connect()
    if not await raw.connect():
        raise ConnectionError(f"raw client cannot connect to {HOST}:{port}")
    blocks = [(b.address, b.count) for b in modbus_map.read_blocks]
    unit = modbus_map.unit_id
    driver_s: list[float] = []
    floor_s: list[float] = []
    clock = time.perf_counter
    try:
        for index in range(WARMUP_SCANS + scans):
            start = clock()
            readings = await line.read_inputs()
            middle = clock()
            for address, count in blocks:
                response = await raw.read_holding_registers(address, count=count, device_id=unit)
                if response.isError():
                    raise RuntimeError(f"raw read refused: {response}")
            end = clock()
            if index == 0:
                bad = [r.device for r in readings.values() if r.quality.value != "good"]
                if bad:
                    raise RuntimeError(f"devices not GOOD: {bad}: {next(iter(readings.values())).error}")
            if index >= WARMUP_SCANS:
                driver_s.append(middle - start)
                floor_s.append(end - middle)
    finally:
        raw.close()
        await line.close()
    return figures("modbus driver scan", driver_s), figures("modbus raw block reads (floor)", floor_s)


async def _serve_opcua(port: int, ready: multiprocessing.synchronize.Event,
                      stop: multiprocessing.synchronize.Event) -> None:
    from simulator.opcua_server import OpcUaPlantServer

    line = casting_line(layers=2)
    clock = WallClock()
    plant = _make_plant(line)
    server = OpcUaPlantServer(plant, line, port=port, host=HOST, clock=clock)
    await server.start()
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(PUBLISH_PERIOD_S)
        plant.advance_to(clock.now_s())
        await server.publish()
    await server.stop()


def serve_opcua_process(port: int, ready: multiprocessing.synchronize.Event,
                        stop: multiprocessing.synchronize.Event) -> None:
    """Child-process entry: serve the casting plant over OPC UA on ``port`` until ``stop``."""
    asyncio.run(_serve_opcua(port, ready, stop))


async def _measure_opcua_scans(port: int, scans: int) -> ScanFigures:
    from drivers.opcua_transport import OpcUaTransport

    line_definition = casting_line(layers=2)
    endpoint = f"opc.tcp://{HOST}:{port}/poreline/"
    transport = OpcUaTransport(endpoint, line_definition, tuple(d.name for d in line_definition.devices),
                               clock=WallClock())
    line = Line(line_definition, [transport])
    await line.connect()
    driver_s: list[float] = []
    clock = time.perf_counter
    try:
        for index in range(WARMUP_SCANS + scans):
            start = clock()
            readings = await line.read_inputs()
            end = clock()
            if index == 0:
                bad = [r for r in readings.values() if r.quality.value != "good"]
                if bad:
                    raise RuntimeError(f"devices not GOOD: {[r.device for r in bad]}: {bad[0].error}")
            if index >= WARMUP_SCANS:
                driver_s.append(end - start)
    finally:
        await line.close()
    return figures("opcua driver scan", driver_s)


async def measure_opcua(scans: int) -> ScanFigures | None:
    """Serve the plant over OPC UA (``simulator.opcua_server``, SecurityPolicy None) in
    another process, time ``Line.read_inputs()`` over an ``OpcUaTransport`` (one batched
    Read of all 55 tags per scan) for ``scans`` scans."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    stop = context.Event()
    port = free_port()
    server = context.Process(target=serve_opcua_process, args=(port, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(timeout=30.0):
            raise RuntimeError("the OPC UA plant server did not start within 30 s")
        return await _measure_opcua_scans(port, scans)
    finally:
        stop.set()
        server.join(timeout=5.0)
        if server.is_alive():
            server.terminate()
            server.join(timeout=5.0)


def _print(fig: ScanFigures) -> None:
    print(f"{fig.name:32s} n={fig.scans:6d}  p50 {fig.p50_ms:7.3f} ms  p99 {fig.p99_ms:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=2000, help="scans measured (after 100 warm-up)")
    args = parser.parse_args()
    scans = max(1, min(args.scans, MAX_SCANS))

    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    stop = context.Event()
    port = free_port()
    server = context.Process(target=serve_process, args=(port, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(timeout=30.0):
            raise RuntimeError("the Modbus plant server did not start within 30 s")
        driver, floor = asyncio.run(measure_modbus(port, scans))
    finally:
        stop.set()
        server.join(timeout=5.0)
        if server.is_alive():
            server.terminate()
            server.join(timeout=5.0)

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
