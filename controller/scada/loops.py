"""The line's loops under the PackML unit, as faceplates SCADA reads and engineers write.

``Objects/<line id>/Loops/<loop>/``: ``Mode`` (String: auto, manual, off), ``SetValue``
(Double: the setpoint, in the measurement's unit, with ``EngineeringUnits`` and ``EURange``
the measurement's range) and ``Output`` (Double: the output, within the loop's limits), with
``Measurement`` and ``OutputTag`` naming the tags (``Tags/...`` carries their values). They
follow the engine every scan, like the tags.

Writes: an engineer's (or an admin's) write goes through the runtime's faceplate path
(``LineService.set_loop``: the engine's rules, the audit trail and the run's command log, as
``POST /loops/{loop}``) with the session's user and ``via OPC UA`` as the reason. ``Mode``
switches the mode (manual holds the output where it is); ``SetValue`` moves the setpoint in
the loop's mode; ``Output`` puts the loop in manual at that output. A write the rules refuse
answers that node's Bad status and changes nothing, the other writes of the same request
still apply: a role below engineer ``BadUserAccessDenied``, a value of another type than the
variable's (String, Double) ``BadTypeMismatch``, a value outside the range or limits or a mode
that is none ``BadOutOfRange``, the line not taking it now (an interlock
forcing the output safe, a hold keeping it safe, a stopped or aborted unit)
``BadInvalidState``.

asyncua stores a written value before anything could refuse it, and reports a setter's error
as a failed request, not as the node's status. So the check runs in its PreWrite callback,
which sees the request before it is served, in the session's task (the caller is known, see
:mod:`controller.scada.access`): a refused write's target is swapped for a node id that does
not exist, so asyncua writes nothing there, and the PostWrite callback puts the refusal's
status in that write's result. No asyncua class is patched."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from asyncua import Node, ua

from controller.recipe.control import LoopDefinition
from controller.recipe.model import LoopAction, LoopMode
from controller.scada.units import eu_information
from drivers.definition import LineDefinition

log = logging.getLogger(__name__)

_NOWHERE = ua.NodeId("poreline.refused-write", 0)  # no such node: asyncua writes nothing
_HTTP_TO_STATUS = {403: "BadUserAccessDenied", 404: "BadNodeIdUnknown", 409: "BadInvalidState",
                   422: "BadOutOfRange"}


@dataclass(frozen=True, slots=True)
class LoopVariables:
    loop: str
    mode: ua.NodeId
    setpoint: ua.NodeId
    output: ua.NodeId


async def build_loops(unit: Node, line_id: str, idx: int, definition: LineDefinition,
                      loops: Sequence[LoopDefinition]) -> list[LoopVariables]:
    """``Loops/<loop>/`` with its writable variables for each of the line's ``loops``."""
    root = await unit.add_object(ua.NodeId(f"{line_id}.Loops", idx), ua.QualifiedName("Loops", idx))
    access = ua.DataValue(ua.Variant(ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.CurrentWrite.mask,
                                     ua.VariantType.Byte))
    built = []
    for loop in loops:
        base = f"{line_id}.Loops.{loop.name}"
        folder = await root.add_object(ua.NodeId(base, idx), ua.QualifiedName(loop.name, idx))
        for prop, text in (("Measurement", loop.pv), ("OutputTag", loop.output)):
            await folder.add_property(ua.NodeId(f"{base}.{prop}", idx), ua.QualifiedName(prop, idx), text)
        mode = await folder.add_variable(ua.NodeId(f"{base}.Mode", idx), ua.QualifiedName("Mode", idx),
                                         LoopMode.OFF.value, varianttype=ua.VariantType.String)
        setpoint = await folder.add_variable(ua.NodeId(f"{base}.SetValue", idx), ua.QualifiedName("SetValue", idx),
                                             0.0, varianttype=ua.VariantType.Double)
        output = await folder.add_variable(ua.NodeId(f"{base}.Output", idx), ua.QualifiedName("Output", idx),
                                           0.0, varianttype=ua.VariantType.Double)
        for variable, tag in ((setpoint, definition.tag(loop.pv)), (output, definition.tag(loop.output))):
            unit_text, low, high = tag.unit, tag.low, tag.high
            ident = variable.nodeid.Identifier
            await variable.add_property(ua.NodeId(f"{ident}.EngineeringUnits", idx),
                                        ua.QualifiedName("EngineeringUnits", 0), eu_information(unit_text),
                                        varianttype=ua.VariantType.ExtensionObject, datatype=ua.ObjectIds.EUInformation)
            await variable.add_property(ua.NodeId(f"{ident}.EURange", idx), ua.QualifiedName("EURange", 0),
                                        ua.Range(Low=low, High=high), varianttype=ua.VariantType.ExtensionObject,
                                        datatype=ua.ObjectIds.Range)
        for variable in (mode, setpoint, output):
            await variable.write_attribute(ua.AttributeIds.AccessLevel, access)
            await variable.write_attribute(ua.AttributeIds.UserAccessLevel, access)
        built.append(LoopVariables(loop.name, mode.nodeid, setpoint.nodeid, output.nodeid))
    return built


def action_of(field: str, loop: str, mode_now: LoopMode, value: Any) -> LoopAction:
    """The faceplate action a write of ``field`` means; ValueError for a value it cannot be."""
    if field == "Mode":
        return LoopAction(loop, LoopMode(str(value).strip().lower()))
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} takes a number, not {value!r}")
    if field == "SetValue":
        return LoopAction(loop, mode_now, setpoint=float(value))
    return LoopAction(loop, LoopMode.MANUAL, output=float(value))


# writes ``value`` to a loop's field as ``user`` on the runtime; the refusal's HTTP status, None when done
SetField = Callable[[str, str, Any, str], Awaitable[int | None]]
Caller = Callable[[], tuple[str, bool] | None]  # the session's user and whether it may write, None: unknown


class LoopWrites:
    """The PreWrite and PostWrite callbacks of the loops' writable variables."""

    def __init__(self, loops: list[LoopVariables], set_field: SetField, caller: Caller) -> None:
        self._targets = {getattr(v, attr): (v.loop, field) for v in loops
                         for attr, field in (("mode", "Mode"), ("setpoint", "SetValue"), ("output", "Output"))}
        self._set_field = set_field
        self._caller = caller
        self._refused: dict[int, dict[int, ua.StatusCode]] = {}  # id(request) -> {index: status}

    async def before(self, event: Any, _dispatcher: Any) -> None:
        params: ua.WriteParameters = event.request_params
        refused: dict[int, ua.StatusCode] = {}
        for index, write in enumerate(params.NodesToWrite):
            target = self._targets.get(write.NodeId)
            if target is None or write.AttributeId != ua.AttributeIds.Value:
                continue
            variant = write.Value.Value
            expected = ua.VariantType.String if target[1] == "Mode" else ua.VariantType.Double
            if variant is None or variant.VariantType != expected:  # asyncua would refuse it after we applied it
                status: str | None = "BadTypeMismatch"
            else:
                status = await self._apply(*target, variant.Value)
            if status is not None:
                refused[index] = ua.StatusCode(getattr(ua.StatusCodes, status))
                params.NodesToWrite[index] = replace(write, NodeId=_NOWHERE)
        if refused:
            self._refused[id(params)] = refused

    async def after(self, event: Any, _dispatcher: Any) -> None:
        refused = self._refused.pop(id(event.request_params), {})
        for index, status in refused.items():
            event.response_params[index] = status

    async def _apply(self, loop: str, field: str, value: Any) -> str | None:
        """Write ``value`` to ``field`` of ``loop`` through the runtime; the refusal's status name."""
        caller = self._caller()
        if caller is None or not caller[1]:
            log.warning("OPC UA: %s refused to write %s.%s (role engineer needed)", caller[0] if caller else "?",
                        loop, field)
            return "BadUserAccessDenied"
        refusal = await self._set_field(loop, field, value, caller[0])
        return None if refusal is None else _HTTP_TO_STATUS.get(refusal, "BadInvalidState")
