"""Scan supervision (issue 10, item 7): an exception in a scan is caught, alarmed (SCAN_FAULT,
which holds a running line) and counted, and the next scan runs; after three failed scans in a
row the runtime's health says it is not scanning; a scan longer than its period raises
SCAN_OVERRUN. In process, on a runtime at 100x (a 1 s scan is 10 ms of wall time)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from runtime_support import casting_text, recipe_document, sqlite_url, until

from controller.engine.states import UnitState
from controller.runtime.service import FAILED_SCANS_NOT_SCANNING, LineService, RuntimeConfig

SPEED = 100.0


def _active(service: LineService, alarm_id: str) -> bool:
    alarms = service.line.engine.alarms
    return alarm_id in alarms and alarms.get(alarm_id).active


async def test_a_failing_scan_is_alarmed_holds_the_run_and_the_next_scan_runs(tmp_path: Path) -> None:
    service = LineService(RuntimeConfig(database_url=sqlite_url(tmp_path / "poreline.db"),
                                        state_dir=tmp_path / "runtime", kind="casting", speed=SPEED))
    await service.start()
    try:
        await service.start_run(recipe_document(casting_text("10 min")), "ann", "supervision test")
        engine = service.line.engine
        await until(lambda: engine.state is UnitState.EXECUTE, 30.0, "Execute")
        healthy: Callable[[], Awaitable[None]] = engine.scan

        async def failing_scan() -> None:
            raise RuntimeError("device map out of step")

        engine.scan = failing_scan  # type: ignore[method-assign]
        await until(lambda: service.health.failed_scans >= FAILED_SCANS_NOT_SCANNING + 2, 10.0, "failing scans")
        assert _active(service, "SCAN_FAULT")
        snapshot = service.health_snapshot()  # still failing: every scan since the fault
        assert not snapshot["scanning"], snapshot  # three failed scans in a row: not scanning
        assert snapshot["scan"]["failed_scans"] >= FAILED_SCANS_NOT_SCANNING + 2
        assert "RuntimeError: device map out of step" in snapshot["scan"]["last_error"]
        engine.scan = healthy  # type: ignore[method-assign]

        scans = service.health.scans
        await until(lambda: service.health.scans >= scans + 5, 10.0, "scans after the fault")  # the loop lives
        assert service.scanning() and not _active(service, "SCAN_FAULT")  # cleared by a good scan
        await until(lambda: engine.state is UnitState.HELD, 10.0, "the run to hold on SCAN_FAULT")
        journal = [a for a in engine.status().alarms if a["alarm_id"] == "SCAN_FAULT"]
        assert journal, engine.status().alarms  # unacknowledged: the operator sees it happened

        async def slow_scan() -> None:
            await asyncio.sleep(2.0 * service.health.scan_period_s)  # execution longer than the period
            await healthy()

        overruns = service.health.overruns
        engine.scan = slow_scan  # type: ignore[method-assign]
        await until(lambda: _active(service, "SCAN_OVERRUN"), 10.0, "SCAN_OVERRUN")
        assert service.health.overruns > overruns
        engine.scan = healthy  # type: ignore[method-assign]
    finally:
        await service.stop()
