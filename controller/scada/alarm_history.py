"""The alarm journal as PackML's ``Admin.Alarm[]`` needs it (when each annunciated alarm was
acknowledged) and ``Admin.AlarmHistory[]``: the last :data:`HISTORY_LENGTH` alarms that
ended, i.e. returned to normal and were acknowledged (in either order), newest last.

:meth:`AlarmJournalReader.follow` reads the engine's alarm events after every scan, only
those it has not read; wall times are computed as the events are read (``wall``: the wall
time of an engine time). A new engine starts its journal afresh (:meth:`restart`); the
history is kept across engines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.engine.alarms import AlarmEvent, AlarmState

HISTORY_LENGTH = 16  # alarms kept in Admin.AlarmHistory (assumption: a shift's worth on a healthy line)


@dataclass(frozen=True, slots=True)
class PastAlarm:
    alarm_id: str
    message: str
    priority: int
    raised_at: datetime
    acknowledged_at: datetime


class AlarmJournalReader:
    def __init__(self, length: int = HISTORY_LENGTH) -> None:
        self._read = 0  # how many of the engine's alarm events were read
        self._states: dict[str, AlarmState] = {}  # each alarm's state as last read
        self._raised_at: dict[str, datetime] = {}
        self.acknowledged_at: dict[str, datetime] = {}  # of the alarms not ended yet
        self.history: deque[PastAlarm] = deque(maxlen=length)

    def restart(self) -> None:
        """A new engine: its journal starts from its first event (the history stays)."""
        self._read = 0
        self._states = {}
        self._raised_at = {}
        self.acknowledged_at = {}

    def follow(self, events: Sequence[AlarmEvent], wall: Callable[[float], datetime]) -> bool:
        """Read the events not read yet; whether the history changed."""
        ended = False
        for event in events[self._read:]:
            alarm_id = event.alarm_id
            if event.state is AlarmState.SHELVED or self._states.get(alarm_id) is event.state:
                continue  # a shelve, or an unshelve repeating the state the alarm is in
            self._states[alarm_id] = event.state
            if event.state is AlarmState.UNACKNOWLEDGED:
                self._raised_at[alarm_id] = wall(event.t_s)
                self.acknowledged_at.pop(alarm_id, None)
            elif event.state is AlarmState.ACKNOWLEDGED:
                self.acknowledged_at[alarm_id] = wall(event.t_s)
            elif event.state is AlarmState.NORMAL and alarm_id in self._raised_at:
                # cleared after its acknowledge, or acknowledged (this event) after it cleared
                acknowledged = self.acknowledged_at.pop(alarm_id, None) or wall(event.t_s)
                self.history.append(PastAlarm(alarm_id, event.message, event.priority,
                                              self._raised_at.pop(alarm_id), acknowledged))
                ended = True
        self._read = len(events)
        return ended
