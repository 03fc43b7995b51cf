"""Alarm handling with ISA-18.2 states, evaluated once per scan.

States (ANSI/ISA-18.2-2016, figure 5): NORMAL; UNACKNOWLEDGED (active, not yet
acknowledged); ACKNOWLEDGED (active, acknowledged); RTN_UNACKNOWLEDGED (returned to
normal before acknowledgement). An alarm condition must hold for its on-delay before the
alarm is raised.

Shelving (SHELVED in the journal) changes what an operator is shown, never what the
control system does: a shelved alarm goes through the same states, returns its action
when raised (a hold still holds) and keeps its interlock latched until it is acknowledged
after its condition cleared. When the shelf expires (or is lifted) the alarm is shown again
in whatever state it has reached.
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
    note: str = ""  # why (a shelve's reason, "shelve expired")
    shelved_until_s: float | None = None


@dataclass(slots=True)
class ActiveAlarm:
    definition: AlarmDefinition
    state: AlarmState = AlarmState.NORMAL
    condition_true_s: float | None = None  # how long the condition has held; None: false
    active: bool = False  # the alarm condition (after its delay) is present
    raised_t_s: float = 0.0
    shelved_until_s: float | None = None  # None: not shelved; else when the shelf expires
    interlock_latched: bool = False
    external: bool = False  # raised and cleared by the engine, not by a condition


AlarmListener = Callable[[AlarmEvent], None]


class AlarmManager:
    """Evaluates alarm definitions against the process image and tracks their states."""

    def __init__(self, listener: AlarmListener | None = None) -> None:
        self._alarms: dict[str, ActiveAlarm] = {}
        self._listener = listener
        self.events: list[AlarmEvent] = []
        self.raised: list[str] = []  # the ids of the alarms the last evaluate raised

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
        self._emit_state(alarm, alarm.state, t_s, user)

    def _emit_state(self, alarm: ActiveAlarm, state: AlarmState, t_s: float, user: str = "", note: str = "") -> None:
        d = alarm.definition
        event = AlarmEvent(d.alarm_id, d.message, d.priority, state, t_s, user, note, alarm.shelved_until_s)
        self.events.append(event)
        if self._listener is not None:
            self._listener(event)

    def evaluate(
        self, image: Mapping[str, float], t_s: float, dt_s: float, step: str | None
    ) -> list[AlarmAction]:
        """Update every alarm; return the actions of the alarms raised in this scan (their
        ids, in the same order, are in ``raised``)."""
        actions: list[AlarmAction] = []
        self.raised = []
        for alarm in self._alarms.values():
            d = alarm.definition
            if alarm.external:  # raised and cleared by the engine (e.g. lost communication), no condition
                present = alarm.active
            else:
                in_scope = not d.only_in_steps or (step is not None and step in d.only_in_steps)
                try:
                    present = in_scope and d.condition.evaluate(image)
                except KeyError:  # a tag with no value (its device never answered): its COMM alarm stands
                    present = False
            if not present:
                alarm.condition_true_s = None
            elif alarm.condition_true_s is None:
                alarm.condition_true_s = 0.0  # first seen true now
            else:
                alarm.condition_true_s += dt_s
            if (present and not alarm.active and alarm.condition_true_s is not None
                    and alarm.condition_true_s >= d.delay_s - 1e-9):
                self._set_active(alarm, t_s)
                actions.append(d.action)
                self.raised.append(d.alarm_id)
            elif not present and alarm.active:
                self._set_cleared(alarm, t_s)
            if alarm.shelved_until_s is not None and t_s >= alarm.shelved_until_s:
                self.unshelve(alarm.definition.alarm_id, t_s, "system", "shelve expired")
        return actions

    def raise_external(self, definition: AlarmDefinition, t_s: float) -> AlarmAction | None:
        """Raise an alarm detected outside the condition grammar (e.g. lost communication).
        Raised again after it cleared, it carries the message of this raising (the values it
        names are this occasion's); while active it is left as it is (None returned)."""
        alarm = self._alarms.get(definition.alarm_id)
        if alarm is None:
            alarm = self._alarms[definition.alarm_id] = ActiveAlarm(definition, external=True)
        if alarm.active:
            return None
        if alarm.external:
            alarm.definition = definition
        self._set_active(alarm, t_s)
        return definition.action

    def clear_external(self, alarm_id: str, t_s: float) -> None:
        alarm = self._alarms.get(alarm_id)
        if alarm is not None and alarm.active:
            self._set_cleared(alarm, t_s)

    def _set_active(self, alarm: ActiveAlarm, t_s: float) -> None:
        """Raise the alarm (shelved or not: shelving never suppresses the action)."""
        alarm.active = True
        alarm.raised_t_s = t_s
        if alarm.definition.force_safe:
            alarm.interlock_latched = True
        alarm.state = AlarmState.UNACKNOWLEDGED
        self._emit(alarm, t_s)

    def _set_cleared(self, alarm: ActiveAlarm, t_s: float) -> None:
        alarm.active = False
        if alarm.state is AlarmState.UNACKNOWLEDGED:
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

    def shelve(self, alarm_id: str, t_s: float, until_s: float, user: str, reason: str = "") -> None:
        """Hide the alarm from the operator until ``until_s`` (journaled as SHELVED);
        its states, action and interlock go on as if it were not shelved."""
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise KeyError(f"no alarm {alarm_id}")
        if until_s <= t_s:
            raise ValueError("a shelve needs an expiry in the future")
        alarm.shelved_until_s = until_s
        self._emit_state(alarm, AlarmState.SHELVED, t_s, user, reason)

    def unshelve(self, alarm_id: str, t_s: float, user: str, note: str = "") -> None:
        """Show the alarm again, in the state it has reached (journaled with ``user``)."""
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise KeyError(f"no alarm {alarm_id}")
        if alarm.shelved_until_s is None:
            raise ValueError(f"alarm {alarm_id} is not shelved")
        alarm.shelved_until_s = None
        self._emit_state(alarm, alarm.state, t_s, user, note)

    def annunciated(self) -> list[ActiveAlarm]:
        """Alarms an operator must see: active or not yet acknowledged, not shelved."""
        return [a for a in self._alarms.values() if a.shelved_until_s is None and a.state is not AlarmState.NORMAL]

    def shelved(self) -> list[ActiveAlarm]:
        return [a for a in self._alarms.values() if a.shelved_until_s is not None]

    def blocking_restart(self) -> list[ActiveAlarm]:
        """Alarms that forbid a command restarting motion (start, unhold, reset): a latched
        interlock, and a hold/stop/abort alarm (lost communication included) that is still
        active or not yet acknowledged; shelved or not."""
        return [a for a in self._alarms.values()
                if a.interlock_latched or (a.definition.action is not AlarmAction.NONE
                                           and (a.active or a.state is AlarmState.RTN_UNACKNOWLEDGED))]

    def latched_interlocks(self) -> list[AlarmDefinition]:
        return [a.definition for a in self._alarms.values() if a.interlock_latched]
