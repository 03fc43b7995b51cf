"""The line as a PackML unit (OPC 30050) in an asyncua server's address space.

Built from the published nodeset (``nodesets/Opc.Ua.PackML.NodeSet2.xml``, OPC Foundation,
MIT licence, loaded with ``import_xml``). The unit, in Poreline's namespace
:data:`NAMESPACE_URI` (its index: resolve it from the server's ``NamespaceArray``; node ids
are strings, ``ns=<idx>;s=<line id>...``)::

    Objects/<line id>                       PackMLBaseObjectType
      Status/ Admin/                        PackMLStatusObjectType, PackMLAdminObjectType
      BaseStateMachine/                     PackMLBaseStateMachineType: Abort, Clear
        MachineState/                       PackMLMachineStateMachineType: Stop, Reset
          ExecuteState/                     PackMLExecuteStateMachineType: Start, Hold, Unhold,
                                            Suspend, Unsuspend, Reset, ToComplete
      SetUnitMode, SetMachSpeed, ...        PackML's Set* methods
      SelectRecipe(RecipeId, Version)       Poreline: the released version Start runs
      Tags/<device>/<profile opcua_path>    every process tag (ActualValue / SetValue ...),
                                            derived tags as <device>/Derived/<tag>/ActualValue;
                                            read-only, with EngineeringUnits and EURange
      Loops/<loop>/Mode, SetValue, Output   each loop's faceplate; engineers write them
                                            (:mod:`controller.scada.loops`)

asyncua builds a nested object from its parent type's declaration only, so the optional
children of ``Status``, ``Admin`` and the three state machines (their methods above all)
would be missing (asyncua issue #185's family): each of them is instantiated here from its
own type, innermost machine last.

Each machine's ``CurrentState`` (and its ``Id``: the state's node in the machine's type)
follows the engine's state: Aborting/Aborted are states of BaseStateMachine, its other
state (Cleared) holds MachineState (Stopping, Stopped, Clearing, Running), whose Running
holds ExecuteState (Idle ... Complete). A machine that is not active reads
``BadStateNotActive`` (OPC 10000-16).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import Node, Server, ua
from asyncua.common.instantiate_util import instantiate

from controller.engine.states import UnitState
from controller.recipe.control import LoopDefinition
from controller.scada.loops import LoopVariables, build_loops
from controller.scada.units import eu_information
from drivers.definition import LineDefinition
from drivers.opcua.map import node_identifier
from drivers.profiles import Tag

NODESET = Path(__file__).with_name("nodesets") / "Opc.Ua.PackML.NodeSet2.xml"
PACKML_URI = "http://opcfoundation.org/UA/PackML/"
NAMESPACE_URI = "urn:poreline:scada"

# PackML type and data type ids (numeric, in the PackML namespace)
EXECUTE_MACHINE_TYPE, MACHINE_MACHINE_TYPE, BASE_MACHINE_TYPE, STATUS_TYPE, ADMIN_TYPE, BASE_OBJECT_TYPE = 1, 2, 3, 4, 5, 6
COUNT_TYPE, ALARM_TYPE, DESCRIPTOR_TYPE, PRODUCT_TYPE = 14, 15, 16, 18

S = UnitState
# ISA-TR88.00.02 state numbers (the nodeset's StateNumber values; PackTags' StateCurrent)
STATE_NUMBERS: dict[UnitState, int] = {
    S.CLEARING: 1, S.STOPPED: 2, S.STARTING: 3, S.IDLE: 4, S.SUSPENDED: 5, S.EXECUTE: 6, S.STOPPING: 7,
    S.ABORTING: 8, S.ABORTED: 9, S.HOLDING: 10, S.HELD: 11, S.UNHOLDING: 12, S.SUSPENDING: 13,
    S.UNSUSPENDING: 14, S.RESETTING: 15, S.COMPLETING: 16, S.COMPLETE: 17,
}


def machine_states(state: UnitState) -> tuple[str, str | None, str | None]:
    """(BaseStateMachine, MachineState, ExecuteState) current states; None: not active."""
    if state in (S.ABORTING, S.ABORTED):
        return state.value, None, None
    if state in (S.CLEARING, S.STOPPING, S.STOPPED):
        return "Cleared", state.value, None
    return "Cleared", "Running", state.value


def alarm_number(alarm_id: str) -> int:
    """A stable Int32 for an alarm id (PackMLAlarmDataType.ID; the text is in Message)."""
    return zlib.crc32(alarm_id.encode("utf-8")) & 0x7FFFFFFF


@dataclass
class MachineNodes:
    node: Node
    current: ua.NodeId
    current_id: ua.NodeId | None
    states: dict[str, ua.NodeId]  # state name -> its node in the machine's type
    methods: dict[str, Node] = field(default_factory=dict)


@dataclass
class TagVariable:
    address: str
    node_id: ua.NodeId
    boolean: bool
    span: float = 0.0  # the profile's high - low, in the tag's unit
    noise: float = 0.0  # the profile's noise band, in the tag's unit (0: not declared)
    noise_of_reading: float = 0.0  # ... as a fraction of the reading

    @classmethod
    def of(cls, address: str, node_id: ua.NodeId, tag: Tag, boolean: bool) -> TagVariable:
        """The variable serving a profile's ``tag`` at ``address``."""
        return cls(address, node_id, boolean, float(tag.high - tag.low), tag.noise, tag.noise_of_reading)

    def deadband(self, fraction_of_span: float, value: float = 0.0) -> float:
        """How far the value moves before it is republished: the tag's declared noise band
        at ``value`` (the larger of its absolute and its of-reading band), else
        ``fraction_of_span`` of its span; a boolean on every change."""
        if self.boolean:
            return 0.0
        if self.noise > 0.0 or self.noise_of_reading > 0.0:
            return max(self.noise, self.noise_of_reading * abs(value))
        return fraction_of_span * self.span


@dataclass
class UnitNodes:
    namespace_index: int
    packml_index: int
    unit: Node
    base: MachineNodes
    machine: MachineNodes
    execute: MachineNodes
    status: dict[str, ua.NodeId]
    admin: dict[str, ua.NodeId]
    unit_methods: dict[str, Node]
    tags: list[TagVariable]
    loops: list[LoopVariables] = field(default_factory=list)


# the references asyncua's recursive delete follows down (HasChild's subtypes that instances use)
_HIERARCHICAL_DOWN = frozenset(ua.NodeId(i) for i in (ua.ObjectIds.HasComponent, ua.ObjectIds.HasProperty,
                                                      ua.ObjectIds.HasOrderedComponent, ua.ObjectIds.HasSubtype))


async def build_unit(server: Server, line_id: str, definition: LineDefinition,
                     loops: Sequence[LoopDefinition] = ()) -> UnitNodes:
    pidx = await server.get_namespace_index(PACKML_URI)
    idx = await server.register_namespace(NAMESPACE_URI)

    def packml(number: int) -> Node:
        return server.get_node(ua.NodeId(number, pidx))

    unit = (await instantiate(server.nodes.objects, packml(BASE_OBJECT_TYPE), nodeid=ua.NodeId(line_id, idx),
                              bname=ua.QualifiedName(line_id, idx), dname=ua.LocalizedText(line_id)))[0]
    status = await _replace(server, unit, "Status", packml(STATUS_TYPE), pidx)
    admin = await _replace(server, unit, "Admin", packml(ADMIN_TYPE), pidx)
    base = await _replace(server, unit, "BaseStateMachine", packml(BASE_MACHINE_TYPE), pidx)
    machine = await _replace(server, base, "MachineState", packml(MACHINE_MACHINE_TYPE), pidx)
    execute = await _replace(server, machine, "ExecuteState", packml(EXECUTE_MACHINE_TYPE), pidx)
    nodes = UnitNodes(
        namespace_index=idx, packml_index=pidx, unit=unit,
        base=await _machine(base, packml(BASE_MACHINE_TYPE)),
        machine=await _machine(machine, packml(MACHINE_MACHINE_TYPE)),
        execute=await _machine(execute, packml(EXECUTE_MACHINE_TYPE)),
        status=await _variables(status), admin=await _variables(admin),
        unit_methods=await _methods(unit), tags=[])
    for name, value, vtype in (("StateCurrent", 0, ua.VariantType.Int32), ("RecipeId", "", ua.VariantType.String),
                               ("RecipeVersion", 0, ua.VariantType.UInt32), ("RunId", 0, ua.VariantType.UInt32)):
        variable = await status.add_variable(ua.NodeId(f"{line_id}.Status.{name}", idx), ua.QualifiedName(name, idx),
                                             value, varianttype=vtype)
        nodes.status[name] = variable.nodeid
    nodes.tags = await _tags(unit, line_id, definition, idx)
    nodes.loops = await build_loops(unit, line_id, idx, definition, loops)
    return nodes


async def _replace(server: Server, parent: Node, name: str, node_type: Node, pidx: int) -> Node:
    """The child ``name`` instantiated anew from its own type (optional children included)."""
    await _delete_subtree(server, await parent.get_child(ua.QualifiedName(name, pidx)))
    parent_id = parent.nodeid
    return (await instantiate(parent, node_type, nodeid=ua.NodeId(f"{parent_id.Identifier}.{name}",
                                                                   parent_id.NamespaceIndex),
                              bname=ua.QualifiedName(name, pidx), dname=ua.LocalizedText(name)))[0]


async def _delete_subtree(server: Server, top: Node) -> None:
    """Delete ``top`` and the nodes below it, and every reference to them. asyncua's own
    delete looks for references to each node in every node of the address space (60 ms a
    node with EUROMAP 84's types loaded: 2 s for the unit's 35); a reference is kept at
    both of its ends, so the deleted nodes' own references name every node that refers to
    them."""
    space = server.iserver.aspace
    doomed: set[ua.NodeId] = set()
    below = [top.nodeid]
    while below:
        node_id = below.pop()
        doomed.add(node_id)
        below += [r.NodeId for r in space[node_id].references
                  if r.IsForward and r.ReferenceTypeId in _HIERARCHICAL_DOWN and r.NodeId not in doomed]
    for neighbour in {r.NodeId for node_id in doomed for r in space[node_id].references} - doomed:
        data = space.get(neighbour)
        if data is not None:
            data.references = [r for r in data.references if r.NodeId not in doomed]
    for node_id in doomed:
        del space[node_id]


async def _machine(node: Node, node_type: Node) -> MachineNodes:
    current = await node.get_child(ua.QualifiedName("CurrentState", 0))
    current_id: ua.NodeId | None = None
    for child in await current.get_children():
        if (await child.read_browse_name()).Name == "Id":
            current_id = child.nodeid
    states: dict[str, ua.NodeId] = {}
    for child in await node_type.get_children(refs=ua.ObjectIds.HierarchicalReferences):
        definition = await child.read_type_definition() if await child.read_node_class() == ua.NodeClass.Object else None
        if definition == ua.NodeId(ua.ObjectIds.StateType):
            states[(await child.read_browse_name()).Name] = child.nodeid
    return MachineNodes(node, current.nodeid, current_id, states, await _methods(node))


async def _methods(node: Node) -> dict[str, Node]:
    found: dict[str, Node] = {}
    for child in await node.get_children(refs=ua.ObjectIds.HasComponent, nodeclassmask=ua.NodeClass.Method):
        found[(await child.read_browse_name()).Name] = child
    return found


async def _variables(node: Node) -> dict[str, ua.NodeId]:
    return {(await child.read_browse_name()).Name: child.nodeid
            for child in await node.get_children(refs=ua.ObjectIds.HasComponent, nodeclassmask=ua.NodeClass.Variable)}


async def _tags(unit: Node, line_id: str, definition: LineDefinition, idx: int) -> list[TagVariable]:
    root = await unit.add_object(ua.NodeId(f"{line_id}.Tags", idx), ua.QualifiedName("Tags", idx))
    objects: dict[str, Node] = {}
    variables: list[TagVariable] = []
    entries = [(device.name, tag, tag.opcua_path) for device in definition.devices for tag in device.profile.tags]
    entries += [(d.device, d.tag, d.tag.opcua_path or f"Derived/{d.tag.name}/ActualValue") for d in definition.derived]
    for device, tag, path in entries:
        parts = path.split("/")
        parent_key, parent = device, objects.get(device)
        if parent is None:
            parent = objects[device] = await root.add_object(ua.NodeId(f"{line_id}.Tags.{device}", idx),
                                                             ua.QualifiedName(device, idx))
        for depth in range(1, len(parts)):
            parent_key = node_identifier(device, "/".join(parts[:depth]))
            known = objects.get(parent_key)
            if known is None:
                known = objects[parent_key] = await parent.add_object(
                    ua.NodeId(f"{line_id}.Tags.{parent_key}", idx), ua.QualifiedName(parts[depth - 1], idx))
            parent = known
        identifier = f"{line_id}.Tags.{node_identifier(device, path)}"
        boolean = tag.data_type == "bool"
        variable = await parent.add_variable(
            ua.NodeId(identifier, idx), ua.QualifiedName(parts[-1], idx), False if boolean else 0.0,
            varianttype=ua.VariantType.Boolean if boolean else ua.VariantType.Double)
        limits = f"{tag.low:g}..{tag.high:g} {tag.unit}".rstrip()
        await variable.write_attribute(ua.AttributeIds.Description, ua.DataValue(ua.Variant(
            ua.LocalizedText(f"{device}.{tag.name}: {tag.description} [{tag.direction.value}, {limits}]"))))
        if not boolean:
            await variable.add_property(ua.NodeId(f"{identifier}.EngineeringUnits", idx),
                                        ua.QualifiedName("EngineeringUnits", 0), eu_information(tag.unit),
                                        varianttype=ua.VariantType.ExtensionObject, datatype=ua.ObjectIds.EUInformation)
            await variable.add_property(ua.NodeId(f"{identifier}.EURange", idx), ua.QualifiedName("EURange", 0),
                                        ua.Range(Low=tag.low, High=tag.high),
                                        varianttype=ua.VariantType.ExtensionObject, datatype=ua.ObjectIds.Range)
        variables.append(TagVariable.of(f"{device}.{tag.name}", variable.nodeid, tag, boolean))
    return variables
