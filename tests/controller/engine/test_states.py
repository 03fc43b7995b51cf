"""PackML state machine: the commands each state takes and where they lead."""

import pytest

from controller.engine.states import STATE_COMPLETE, Command, CommandRejected, UnitState, next_state


@pytest.mark.parametrize(("state", "command", "expected"), [
    (UnitState.IDLE, Command.START, UnitState.STARTING),
    (UnitState.EXECUTE, Command.HOLD, UnitState.HOLDING),
    (UnitState.HELD, Command.UNHOLD, UnitState.UNHOLDING),
    (UnitState.EXECUTE, Command.SUSPEND, UnitState.SUSPENDING),
    (UnitState.SUSPENDED, Command.UNSUSPEND, UnitState.UNSUSPENDING),
    (UnitState.HELD, Command.STOP, UnitState.STOPPING),
    (UnitState.COMPLETE, Command.RESET, UnitState.RESETTING),
    (UnitState.STOPPED, Command.RESET, UnitState.RESETTING),
    (UnitState.ABORTED, Command.CLEAR, UnitState.CLEARING),
])
def test_command_leads_to_acting_state(state, command, expected):
    assert next_state(state, command) is expected


@pytest.mark.parametrize("state", [s for s in UnitState if s not in (UnitState.ABORTING, UnitState.ABORTED)])
def test_abort_is_accepted_from_every_state_but_aborting_and_aborted(state):
    assert next_state(state, Command.ABORT) is UnitState.ABORTING


@pytest.mark.parametrize(("state", "command"), [
    (UnitState.EXECUTE, Command.UNHOLD),
    (UnitState.IDLE, Command.HOLD),
    (UnitState.EXECUTE, Command.START),
    (UnitState.ABORTED, Command.RESET),
    (UnitState.STOPPED, Command.STOP),
])
def test_command_out_of_place_is_rejected_naming_the_state(state, command):
    with pytest.raises(CommandRejected, match=state.value):
        next_state(state, command)


def test_every_acting_state_completes_into_a_wait_state():
    acting = set(STATE_COMPLETE)
    assert all(target not in acting for target in STATE_COMPLETE.values())
    assert len(UnitState) == 17  # PackML's 17 states
