"""The runtime's own timing, as a PLC reports it: scan period and scan execution time, every
scan, with overruns; the figures a client sees (``GET /line/health``) and a run records."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

WINDOW_SCANS = 3600  # the recent window clients see (an hour of 1 s scans)


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"min": None, "p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    n = len(ordered)
    return {"min": ordered[0], "p50": ordered[(n - 1) // 2], "p99": ordered[min(n - 1, math.ceil(0.99 * n) - 1)],
            "max": ordered[-1]}


@dataclass
class ScanHealth:
    """Wall-clock seconds of each scan period and execution, a recent window and a per-run
    accumulation; an overrun is a scan whose execution took longer than the period."""

    scan_period_s: float  # wall seconds the runtime means to scan at
    periods_s: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW_SCANS))
    executions_s: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW_SCANS))
    run_periods_s: list[float] = field(default_factory=list)
    run_executions_s: list[float] = field(default_factory=list)
    scans: int = 0
    overruns: int = 0
    run_overruns: int = 0
    failed_scans: int = 0
    consecutive_failures: int = 0
    last_error: str = ""
    last_scan_wall_s: float | None = None

    def record(self, started_wall_s: float, execution_s: float) -> bool:
        """Note one scan; True when it overran its period."""
        if self.last_scan_wall_s is not None:
            period = started_wall_s - self.last_scan_wall_s
            self.periods_s.append(period)
            self.run_periods_s.append(period)
        self.last_scan_wall_s = started_wall_s
        self.executions_s.append(execution_s)
        self.run_executions_s.append(execution_s)
        self.scans += 1
        self.consecutive_failures = 0
        overrun = execution_s > self.scan_period_s
        if overrun:
            self.overruns += 1
            self.run_overruns += 1
        return overrun

    def failed(self, error: str) -> None:
        self.failed_scans += 1
        self.consecutive_failures += 1
        self.last_error = error

    def start_run(self) -> None:
        self.run_periods_s, self.run_executions_s, self.run_overruns = [], [], 0

    def run_statistics(self) -> dict[str, Any]:
        """Per run: scan period and execution time (min, p50, p99, max, wall seconds) and overruns."""
        return {"scan_period_s": _summary(self.run_periods_s), "execution_s": _summary(self.run_executions_s),
                "scans": len(self.run_executions_s), "overruns": self.run_overruns}

    def snapshot(self, now_wall_s: float) -> dict[str, Any]:
        since = None if self.last_scan_wall_s is None else now_wall_s - self.last_scan_wall_s
        return {"scan_period_s": _summary(list(self.periods_s)), "execution_s": _summary(list(self.executions_s)),
                "configured_scan_period_s": self.scan_period_s, "scans": self.scans, "overruns": self.overruns,
                "failed_scans": self.failed_scans, "last_error": self.last_error,
                "seconds_since_last_scan": since}
