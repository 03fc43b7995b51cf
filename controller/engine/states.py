"""PackML unit states and commands (ISA-TR88.00.02-2022, OPC 30050).

The transition table is data; ``next_state`` is a pure function. Acting states
(Starting, Holding, ...) finish at the end of the scan that performed their actions
("state complete"), which ``state_complete`` gives.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class UnitState(StrEnum):
    IDLE = "Idle"
    STARTING = "Starting"
    EXECUTE = "Execute"
    COMPLETING = "Completing"
    COMPLETE = "Complete"
    RESETTING = "Resetting"
    HOLDING = "Holding"
    HELD = "Held"
    UNHOLDING = "Unholding"
    SUSPENDING = "Suspending"
    SUSPENDED = "Suspended"
    UNSUSPENDING = "Unsuspending"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    ABORTING = "Aborting"
    ABORTED = "Aborted"
    CLEARING = "Clearing"


class UnitMode(IntEnum):
    """PackML unit modes (ISA-TR88.00.02 and OPC 30050 number them so). Runs start in
    Production only: in Maintenance and Manual the line is worked on (loops from their
    faceplates, simulator faults), and no batch record can claim a product."""

    PRODUCTION = 1
    MAINTENANCE = 2
    MANUAL = 3

    @property
    def text(self) -> str:
        return self.name.capitalize()


class Command(StrEnum):
    START = "start"
    HOLD = "hold"
    UNHOLD = "unhold"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    STOP = "stop"
    ABORT = "abort"
    RESET = "reset"
    CLEAR = "clear"


S = UnitState
# the unit mode changes only where no run executes (PackML lets a mode change in wait states)
MODE_CHANGE_STATES = frozenset({S.IDLE, S.STOPPED, S.ABORTED, S.COMPLETE})
_NOT_STOPPABLE = {S.STOPPING, S.STOPPED, S.ABORTING, S.ABORTED, S.CLEARING}

# (state, command) -> acting state entered. Stop and Abort are handled generically.
_COMMANDS: dict[tuple[UnitState, Command], UnitState] = {
    (S.IDLE, Command.START): S.STARTING,
    (S.EXECUTE, Command.HOLD): S.HOLDING,
    (S.SUSPENDED, Command.HOLD): S.HOLDING,
    (S.HELD, Command.UNHOLD): S.UNHOLDING,
    (S.EXECUTE, Command.SUSPEND): S.SUSPENDING,
    (S.SUSPENDED, Command.UNSUSPEND): S.UNSUSPENDING,
    (S.COMPLETE, Command.RESET): S.RESETTING,
    (S.STOPPED, Command.RESET): S.RESETTING,
    (S.ABORTED, Command.CLEAR): S.CLEARING,
}

# acting state -> the wait state it reaches when its actions are done
STATE_COMPLETE: dict[UnitState, UnitState] = {
    S.STARTING: S.EXECUTE,
    S.COMPLETING: S.COMPLETE,
    S.RESETTING: S.IDLE,
    S.HOLDING: S.HELD,
    S.UNHOLDING: S.EXECUTE,
    S.SUSPENDING: S.SUSPENDED,
    S.UNSUSPENDING: S.EXECUTE,
    S.STOPPING: S.STOPPED,
    S.ABORTING: S.ABORTED,
    S.CLEARING: S.STOPPED,
}


class CommandRejected(ValueError):
    """A command that does not fit the current state (or, with ``reason``, that the state
    accepts but the line forbids, e.g. a restart while an interlock is latched)."""

    def __init__(self, command: Command, state: UnitState, reason: str = "") -> None:
        super().__init__(reason or f"command {command.value} is not accepted in state {state.value}")
        self.command = command
        self.state = state
        self.reason = reason


# Commands that set a stopped or held line moving again (DESIGN.md: refused while a trip
# is latched or a hold-causing alarm is active or unacknowledged).
RESTARTING_COMMANDS = frozenset({Command.START, Command.UNHOLD, Command.UNSUSPEND, Command.RESET})


def next_state(state: UnitState, command: Command) -> UnitState:
    """The state a command leads to from ``state``; raises CommandRejected."""
    if command is Command.ABORT and state not in (S.ABORTING, S.ABORTED):
        return S.ABORTING
    if command is Command.STOP and state not in _NOT_STOPPABLE:
        return S.STOPPING
    try:
        return _COMMANDS[(state, command)]
    except KeyError:
        raise CommandRejected(command, state) from None


def accepted_commands(state: UnitState) -> list[Command]:
    return [c for c in Command if _accepts(state, c)]


def _accepts(state: UnitState, command: Command) -> bool:
    try:
        next_state(state, command)
    except CommandRejected:
        return False
    return True


TERMINAL = frozenset({S.COMPLETE, S.STOPPED, S.ABORTED})
