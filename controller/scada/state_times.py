"""Seconds the line spends in each PackML state, as OPC 30050's ``Admin.StateCurrentTime``
and ``Admin.StateCumulativeTime`` give them: Int32 matrices indexed ``[unit mode][state
number]`` (rows 0..3: 1 Production, 2 Maintenance, 3 Manual, row 0 unused; columns 0..17:
the ISA-TR88.00.02 state numbers, 0 unused).

- StateCurrentTime: the seconds of the state's latest stay in its mode; the current state's
  grows every scan, a state's starts again at 0 when the line enters it.
- StateCumulativeTime: the seconds of all its stays in that mode since the runtime started.

Seconds of the engine's clock (wall seconds on a plant; simulated seconds on a sped-up
simulator), counted at scan resolution: the interval between two scans goes to the mode and
state the line was in during it. A new engine's clock may start again: a step backwards
counts 0.
"""

from __future__ import annotations

from controller.engine.states import UnitMode
from controller.scada.packml import STATE_NUMBERS

STATE_COLUMNS = max(STATE_NUMBERS.values()) + 1
MODE_ROWS = max(UnitMode) + 1
INT32_MAX = 2**31 - 1


class StateTimes:
    def __init__(self) -> None:
        self._at: tuple[int, int] | None = None  # (mode, state number) of the last scan
        self._at_s = 0.0  # the engine time of the last scan
        self._current_s = [[0.0] * STATE_COLUMNS for _ in range(MODE_ROWS)]
        self._cumulative_s = [[0.0] * STATE_COLUMNS for _ in range(MODE_ROWS)]

    def update(self, mode: int, state_number: int, now_s: float) -> None:
        """Account one scan: the line is in unit ``mode`` and ``state_number`` at engine time ``now_s``."""
        if self._at is not None:
            elapsed_s = max(0.0, now_s - self._at_s)
            last_mode, last_state = self._at
            self._current_s[last_mode][last_state] += elapsed_s
            self._cumulative_s[last_mode][last_state] += elapsed_s
        if (mode, state_number) != self._at:
            self._current_s[mode][state_number] = 0.0
        self._at, self._at_s = (mode, state_number), now_s

    def current(self) -> list[list[int]]:
        return _matrix(self._current_s)

    def cumulative(self) -> list[list[int]]:
        return _matrix(self._cumulative_s)


def _matrix(seconds: list[list[float]]) -> list[list[int]]:
    """Whole seconds, rolled over at Int32's maximum as OPC 30050 says."""
    return [[int(s) % (INT32_MAX + 1) for s in row] for row in seconds]
