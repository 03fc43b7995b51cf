"""The parts of the pages the event stream refreshes: status, schematic, derived tags,
run commands. Each is rendered from the runtime's status and tags, the same way on the first
page load and on every event."""

from __future__ import annotations

from typing import Any

from controller.api.runtime import LineConnection
from controller.hmi import display
from controller.lines import kind_named
from controller.report.analysis import setpoint_pairs

COMMANDS: tuple[tuple[str, str], ...] = (
    ("hold", "Hold"), ("unhold", "Unhold"), ("suspend", "Suspend"), ("unsuspend", "Unsuspend"), ("stop", "Stop"),
    ("abort", "Abort"), ("reset", "Reset"), ("clear", "Clear"),
)


def status_view(status: dict[str, Any]) -> dict[str, Any]:
    return {"status": status, "mode": status["unit_mode"], "step": display.step_view(status)}


async def overview_view(runtime: LineConnection, status: dict[str, Any]) -> dict[str, Any]:
    """The schematic and derived panel from the line's definition and its live tags."""
    kind = kind_named(str(status["line_kind"]))
    definition = kind.definition(str(status["line_id"]))
    live = (await runtime.call("tags"))["tags"]
    pairs = setpoint_pairs(definition, kind.report_trends)
    return {"stages": display.schematic(definition, kind.process_stages(definition), live, pairs),
            "derived": display.derived(definition, live)}


def commands_view(status: dict[str, Any] | None, may_command: bool) -> dict[str, Any]:
    accepted = set(status["accepted_commands"]) if status is not None else set()
    return {"commands": [(name, text, may_command and name in accepted) for name, text in COMMANDS],
            "may_command": may_command}
