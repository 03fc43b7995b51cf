"""Injected time: a virtual clock for the in-process simulator, a wall clock for hardware.

The controller, the transports and the historian ask a clock for the time; nothing calls
``time.time()`` or ``asyncio.sleep()`` for process time directly. With ``VirtualClock`` an
8-hour run finishes in seconds with the very same controller code.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now_s(self) -> float:
        """Seconds since the clock's origin (run start for a virtual clock)."""
        ...

    async def sleep_until(self, t_s: float) -> None:
        """Return when ``now_s() >= t_s``."""
        ...


class VirtualClock:
    """Time that advances only when someone sleeps: sleeping jumps to the wake-up time."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s

    def now_s(self) -> float:
        return self._now_s

    def advance_to(self, t_s: float) -> None:
        if t_s > self._now_s:
            self._now_s = t_s

    async def sleep_until(self, t_s: float) -> None:
        self.advance_to(t_s)


class WallClock:
    """Monotonic real time, optionally sped up (``speed`` simulated seconds per second)."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._speed = speed
        self._origin = time.monotonic()

    def now_s(self) -> float:
        return (time.monotonic() - self._origin) * self._speed

    async def sleep_until(self, t_s: float) -> None:
        delay_s = (t_s - self.now_s()) / self._speed
        if delay_s > 0:
            await asyncio.sleep(delay_s)
