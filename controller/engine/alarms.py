"""Alarm handling with ISA-18.2 states, evaluated once per scan.

States (ANSI/ISA-18.2-2016, figure 5): NORMAL; UNACKNOWLEDGED (active, not yet
acknowledged); ACKNOWLEDGED (active, acknowledged); RTN_UNACKNOWLEDGED (returned to
normal before acknowledgement); SHELVED (suppressed by the operator until an expiry).
An alarm condition must hold for its on-delay before the alarm is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from controller.recipe.model import AlarmAction, AlarmDefinition


class AlarmState(StrEnum):
    NORMAL = "normal"
    UNACKNOWLEDGED = "unacknowledged"
    ACKNOWLEDGED = "acknowledged"
    RTN_UNACKNOWLEDGED = "rtn_unacknowledged"
    SHELVED = "shelved"


@dataclass(slots=True)
class AlarmEvent:
    alarm_id: str
    message: str
    priority: int
    state: AlarmState  # the state entered
    t_s: float
    user: str = ""


@dataclass(slots=True)
class ActiveAlarm:
    definition: AlarmDefinition
    state: AlarmState = AlarmState.NORMAL
    condition_true_s: float | None = None  # how long the condition has held; None: false
    active: bool = False  # the alarm condition (after its delay) is present
    raised_t_s: float = 0.0
    shelved_until_s: float = 0.0
    interlock_latched: bool = False


AlarmListener = Callable[[AlarmEvent], None]


class AlarmManager:
    """Evaluates alarm definitions against the process image and tracks their states."""

    def __init__(self, listener: AlarmListener | None = None) -> None:
        self._alarms: dict[str, ActiveAlarm] = {}
        self._listener = listener
        self.events: list[AlarmEvent] = []

    def define(self, definition: AlarmDefinition) -> None:
        if definition.alarm_id in self._alarms:
            raise ValueError(f"alarm {definition.alarm_id} defined twice")
        self._alarms[definition.alarm_id] = ActiveAlarm(definition)

    def remove_all_except(self, keep: set[str]) -> None:
        for alarm_id in [a for a in self._alarms if a not in keep]:
            del self._alarms[alarm_id]

    def get(self, alarm_id: str) -> ActiveAlarm:
        return self._alarms[alarm_id]

    def __contains__(self, alarm_id: str) -> bool:
        return alarm_id in self._alarms

    def _emit(self, alarm: ActiveAlarm, t_s: float, user: str = "") -> None:
        d = alarm.definition
        event = AlarmEvent(d.alarm_id, d.message, d.priority, alarm.state, t_s, user)
        self.events.append(event)
        if self._listener is not None:
            self._listener(event)

    def evaluate(
        self, image: Mapping[str, float], t_s: float, dt_s: float, step: str | None
    ) -> list[AlarmAction]:
        """Update every alarm; return the actions of the alarms raised in this scan."""
        actions: list[AlarmAction] = []
        for alarm in self._alarms.values():
            d = alarm.definition
            in_scope = not d.only_in_steps or (step is not None and step in d.only_in_steps)
            present = in_scope and d.condition.evaluate(image)
            if not present:
                alarm.condition_true_s = None
            elif alarm.condition_true_s is None:
                alarm.condition_true_s = 0.0  # first seen true now
            else:
                alarm.condition_true_s += dt_s
            if (present and not alarm.active and alarm.condition_true_s is not None
                    and alarm.condition_true_s >= d.delay_s - 1e-9):
                if self._set_active(alarm, t_s):
                    actions.append(d.action)
            elif not present and alarm.active:
                self._set_cleared(alarm, t_s)
            if alarm.state is AlarmState.SHELVED and t_s >= alarm.shelved_until_s:
                alarm.state = (AlarmState.UNACKNOWLEDGED if alarm.active else AlarmState.NORMAL)
                self._emit(alarm, t_s, "shelve expired")
        return actions

    def raise_external(self, definition: AlarmDefinition, t_s: float) -> AlarmAction | None:
        """Raise an alarm detected outside the condition grammar (e.g. lost communication)."""
        alarm = self._alarms.get(definition.alarm_id)
        if alarm is None:
            alarm = self._alarms[definition.alarm_id] = ActiveAlarm(definition)
        if alarm.active:
            return None
        return definition.action if self._set_active(alarm, t_s) else None

    def clear_external(self, alarm_id: str, t_s: float) -> None:
        alarm = self._alarms.get(alarm_id)
        if alarm is not None and alarm.active:
            self._set_cleared(alarm, t_s)

    def _set_active(self, alarm: ActiveAlarm, t_s: float) -> bool:
        """Returns True when the alarm is annunciated (not shelved)."""
        alarm.active = True
        alarm.raised_t_s = t_s
        if alarm.definition.force_safe:
            alarm.interlock_latched = True
        if alarm.state is AlarmState.SHELVED:
            return False
        alarm.state = AlarmState.UNACKNOWLEDGED
        self._emit(alarm, t_s)
        return True

    def _set_cleared(self, alarm: ActiveAlarm, t_s: float) -> None:
        alarm.active = False
        if alarm.state is AlarmState.SHELVED:
            alarm.interlock_latched = False
        elif alarm.state is AlarmState.UNACKNOWLEDGED:
            alarm.state = AlarmState.RTN_UNACKNOWLEDGED
            self._emit(alarm, t_s)
        elif alarm.state is AlarmState.ACKNOWLEDGED:
            alarm.state = AlarmState.NORMAL
            alarm.interlock_latched = False
            self._emit(alarm, t_s)

    def acknowledge(self, alarm_id: str, t_s: float, user: str) -> None:
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise KeyError(f"no alarm {alarm_id}")
        if alarm.state is AlarmState.UNACKNOWLEDGED:
            alarm.state = AlarmState.ACKNOWLEDGED
        elif alarm.state is AlarmState.RTN_UNACKNOWLEDGED:
            alarm.state = AlarmState.NORMAL
            alarm.interlock_latched = False
        else:
            raise ValueError(f"alarm {alarm_id} is {alarm.state.value}: nothing to acknowledge")
        self._emit(alarm, t_s, user)

    def shelve(self, alarm_id: str, t_s: float, until_s: float, user: str) -> None:
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise KeyError(f"no alarm {alarm_id}")
        if until_s <= t_s:
            raise ValueError("a shelve needs an expiry in the future")
        alarm.state = AlarmState.SHELVED
        alarm.shelved_until_s = until_s
        self._emit(alarm, t_s, user)

    def annunciated(self) -> list[ActiveAlarm]:
        """Alarms an operator must see: active or not yet acknowledged, not shelved."""
        return [a for a in self._alarms.values()
                if a.state in (AlarmState.UNACKNOWLEDGED, AlarmState.ACKNOWLEDGED,
                               AlarmState.RTN_UNACKNOWLEDGED)]

    def latched_interlocks(self) -> list[AlarmDefinition]:
        return [a.definition for a in self._alarms.values() if a.interlock_latched]
