"""Driving an engine scan by scan on its own clock, for tests that inject faults mid-run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from controller.engine.scan import Engine


def run_until(engine: Engine, predicate: Callable[[Engine], bool], max_duration_s: float) -> None:
    """Scan until ``predicate(engine)`` or ``max_duration_s`` of engine time is spent (bounded)."""

    async def go() -> None:
        await engine.line.connect()
        end_s = engine.clock.now_s() + max_duration_s
        while engine.clock.now_s() < end_s and not predicate(engine):
            await engine.scan()
            await engine.clock.sleep_until(engine.clock.now_s() + engine.scan_period_s)

    asyncio.run(go())
