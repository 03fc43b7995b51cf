"""An in-memory sliding-window limiter: at most ``limit`` events per key within ``window_s``.

The API keeps one on its services, keyed by client address, for wrong or refused passwords
(logins and signatures): an attempt takes a slot before its password is hashed, a
successful one gives it back, so neither a guesser nor a flood of concurrent attempts
gets more than ``limit`` hashes per window from one address.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["SlidingWindowLimiter", "Throttled"]


@dataclass(frozen=True, slots=True)
class Throttled:
    retry_after_s: int  # whole seconds until a slot frees (the Retry-After header)
    first: bool  # the first refusal since the key was last allowed (audit it once, not each time)


class SlidingWindowLimiter:
    def __init__(self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._refusing: set[str] = set()

    def acquire(self, key: str) -> Throttled | None:
        """Take a slot for ``key`` (None), or say how long to wait when its window is full."""
        now = self._clock()
        events = self._events.get(key)
        if events is None:
            self._make_room(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            first = key not in self._refusing
            self._refusing.add(key)
            return Throttled(max(1, math.ceil(events[0] + self.window_s - now)), first)
        self._refusing.discard(key)
        events.append(now)
        return None

    def release(self, key: str) -> None:
        """Give back the newest slot of ``key`` (the attempt succeeded)."""
        events = self._events.get(key)
        if events:
            events.pop()
            if not events:
                del self._events[key]

    def _make_room(self, now: float) -> None:
        """Keep at most ``max_keys`` keys: drop the idle ones, then the oldest."""
        if len(self._events) < self._max_keys:
            return
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= now - self.window_s]:
            del self._events[key]
            self._refusing.discard(key)
        while len(self._events) >= self._max_keys:
            key = next(iter(self._events))
            del self._events[key]
            self._refusing.discard(key)
