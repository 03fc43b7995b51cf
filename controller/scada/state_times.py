"""Seconds the line spends in each PackML state, as OPC 30050's ``Admin.StateCurrentTime``
and ``Admin.StateCumulativeTime`` give them: Int32 matrices indexed ``[unit mode][state
number]`` (rows 0..``UNIT_MODE_PRODUCE``: the engine has Production only, row 0 stays 0;
columns 0..17: the ISA-TR88.00.02 state numbers, 0 unused).

- StateCurrentTime: the seconds of the state's latest stay; the current state's grows
  every scan, a state's starts again at 0 when the line enters it.
- StateCumulativeTime: the seconds of all its stays since the runtime started.

Seconds of the engine's clock (wall seconds on a plant; simulated seconds on a sped-up
simulator), counted at scan resolution: the interval between two scans goes to the state
the line was in during it. A new engine's clock may start again: a step backwards counts 0.
"""

from __future__ import annotations

from controller.scada.packml import STATE_NUMBERS, UNIT_MODE_PRODUCE

STATE_COLUMNS = max(STATE_NUMBERS.values()) + 1
MODE_ROWS = UNIT_MODE_PRODUCE + 1
INT32_MAX = 2**31 - 1


class StateTimes:
    def __init__(self) -> None:
        self._state: int | None = None  # the state number of the last scan
        self._at_s = 0.0  # the engine time of the last scan
        self._current_s = [0.0] * STATE_COLUMNS
        self._cumulative_s = [0.0] * STATE_COLUMNS

    def update(self, state_number: int, now_s: float) -> None:
        """Account one scan: the line is in ``state_number`` at engine time ``now_s``."""
        if self._state is not None:
            elapsed_s = max(0.0, now_s - self._at_s)
            self._current_s[self._state] += elapsed_s
            self._cumulative_s[self._state] += elapsed_s
        if state_number != self._state:
            self._current_s[state_number] = 0.0
        self._state, self._at_s = state_number, now_s

    def current(self) -> list[list[int]]:
        return _matrix(self._current_s)

    def cumulative(self) -> list[list[int]]:
        return _matrix(self._cumulative_s)


def _matrix(seconds: list[float]) -> list[list[int]]:
    """The Production row of ``seconds`` (whole seconds, rolled over at Int32's maximum as
    OPC 30050 says) under empty rows for the modes the engine does not have."""
    row = [int(s) % (INT32_MAX + 1) for s in seconds]
    return [[0] * STATE_COLUMNS for _ in range(UNIT_MODE_PRODUCE)] + [row]
