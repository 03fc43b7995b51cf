"""A line served as instances of an OPC UA companion specification's types (e.g. EUROMAP 84
for an extrusion line), beside its PackML unit, from the kind's
:class:`~controller.lines.companion.CompanionModel`.

Nodesets
    The vendored files in ``nodesets/`` (see its README) form a catalogue read from their
    headers: each ``<Model ModelUri>`` with its ``<RequiredModel>`` entries. A model is
    loaded after the models it requires (``import_xml`` refuses another order: "Server
    doesn't satisfy required XML-Models"); the core model is the server's own.

Instances
    The line object goes under Machinery's ``Machines`` folder (OPC 40001-1 9.2, where the
    OPC 40084 parts place their instances), its components into the line's ``Components``
    add-in, each also organized by ``Machines``. BrowseNames and string node ids of the
    instances are in Poreline's namespace (``<line id>.Machines.<name>``, children
    ``....<BrowseName>``); the children below them keep the BrowseNames (and namespaces) of
    the declarations they instantiate.

    A component is built with the mandatory children of its type only; each mapped path
    then creates what it needs, one level at a time, from the instance declaration that
    names it (placeholders such as ``TemperatureZone_<Nr>`` or ``<Name>_<Nr>`` included),
    with that declaration's mandatory children. asyncua's public ``instantiate`` takes the
    attributes and the reference from a type, not from a declaration (a variable would lose
    its DataType, an add-in become a component), hence :func:`_from_declaration`.

Values
    Each mapped variable is returned as a :class:`~controller.scada.packml.TagVariable`,
    which the facade publishes like the PackML unit's tags (changed values only, with the
    tag's deadband). Analog variables get the tag's EURange and EngineeringUnits (UNECE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from asyncua import Node, Server, ua
from asyncua.common.instantiate_util import _instantiate_node, instantiate

from controller.lines.companion import CompanionComponent, CompanionModel, Constant
from controller.scada.packml import TagVariable
from controller.scada.units import eu_information
from drivers.definition import LineDefinition

NODESET_DIR = Path(__file__).with_name("nodesets")
CORE_URI = "http://opcfoundation.org/UA/"
MACHINERY_URI = "http://opcfoundation.org/UA/Machinery/"
MACHINES_ID = 1001  # Machinery's Machines folder (numeric id in its namespace)
_HEADER_BYTES = 16_384  # the <Models> element sits in the first few kB of a nodeset
_MODEL = re.compile(r"<Model\s[^>]*?ModelUri=\"([^\"]+)\"(.*?)</Model>", re.S)
_REQUIRED = re.compile(r"<RequiredModel\s[^>]*?ModelUri=\"([^\"]+)\"")
_PLACEHOLDERS = (ua.NodeId(ua.ObjectIds.ModellingRule_OptionalPlaceholder),
                 ua.NodeId(ua.ObjectIds.ModellingRule_MandatoryPlaceholder))
_SCALARS: dict[int, ua.VariantType] = {
    ua.ObjectIds.String: ua.VariantType.String, ua.ObjectIds.LocalizedText: ua.VariantType.LocalizedText,
    ua.ObjectIds.Boolean: ua.VariantType.Boolean, ua.ObjectIds.UInt16: ua.VariantType.UInt16,
    ua.ObjectIds.UInt32: ua.VariantType.UInt32, ua.ObjectIds.Int32: ua.VariantType.Int32,
    ua.ObjectIds.Double: ua.VariantType.Double,
}


@dataclass(frozen=True, slots=True)
class Nodeset:
    path: Path
    model_uri: str
    requires: tuple[str, ...]


@cache
def catalogue(directory: Path = NODESET_DIR) -> dict[str, Nodeset]:
    """The vendored nodesets by model URI, from their headers."""
    found: dict[str, Nodeset] = {}
    for path in sorted(directory.glob("*.xml")):
        with path.open(encoding="utf-8") as file:
            header = file.read(_HEADER_BYTES)
        match = _MODEL.search(header)
        if match is None:
            raise ValueError(f"{path.name}: no <Model> in its first {_HEADER_BYTES} bytes")
        requires = tuple(uri for uri in _REQUIRED.findall(match.group(2)) if uri != CORE_URI)
        found[match.group(1)] = Nodeset(path, match.group(1), requires)
    return found


def import_order(models: Iterable[str], available: dict[str, Nodeset]) -> list[Nodeset]:
    """The nodesets ``models`` need, each after the models it requires."""
    ordered: dict[str, Nodeset] = {}

    def visit(uri: str, chain: tuple[str, ...]) -> None:
        if uri in ordered:
            return
        if uri in chain:
            raise ValueError(f"nodesets require each other: {' -> '.join(chain + (uri,))}")
        nodeset = available.get(uri)
        if nodeset is None:
            raise ValueError(f"no vendored nodeset for {uri} (needed by {chain[-1] if chain else 'the line'})")
        for required in nodeset.requires:
            visit(required, chain + (uri,))
        ordered[uri] = nodeset

    for uri in models:
        visit(uri, ())
    return list(ordered.values())


def nodeset_paths(model: CompanionModel) -> list[Path]:
    """The nodesets ``model`` needs, in the order they import
    (:func:`controller.scada.type_cache.load_nodesets` loads them)."""
    return [nodeset.path for nodeset in import_order(model.type_uris, catalogue())]


async def build(server: Server, line_id: str, model: CompanionModel, definition: LineDefinition,
                idx: int) -> list[TagVariable]:
    """The line and its components as ``model`` says (its nodesets loaded); their mapped
    variables. ``idx``: Poreline's namespace index. Raises ValueError where the model does
    not fit the types (an unknown name on a path, a variable of another data type)."""
    machines = server.get_node(ua.NodeId(MACHINES_ID, await server.get_namespace_index(MACHINERY_URI)))
    builder = _Builder(server, definition)
    line = await builder.component(machines, model.line, ua.NodeId(f"{line_id}.Machines.{model.line.name}", idx), idx)
    components, _ = await builder.resolve(line, "Components")
    for spec in model.components:
        node = await builder.component(components, spec, ua.NodeId(f"{line_id}.Machines.{spec.name}", idx), idx)
        await machines.add_reference(node.nodeid, ua.ObjectIds.Organizes, forward=True, bidirectional=True)
    await builder.read_only()
    return builder.variables


class _Builder:
    def __init__(self, server: Server, definition: LineDefinition) -> None:
        self.server = server
        self.definition = definition
        self.variables: list[TagVariable] = []
        self._children: dict[ua.NodeId, list[ua.ReferenceDescription]] = {}
        self._created: list[ua.NodeId] = []

    async def read_only(self) -> None:
        """Every variable built, read-only for every user (declarations make some writable,
        e.g. LineId; a write would change the address space, not the line)."""
        read = ua.DataValue(ua.Variant(ua.AccessLevel.CurrentRead.mask, ua.VariantType.Byte))
        for node_id in self._created:
            node = self.server.get_node(node_id)
            if await node.read_node_class() == ua.NodeClass.Variable:
                await node.write_attribute(ua.AttributeIds.AccessLevel, read)
                await node.write_attribute(ua.AttributeIds.UserAccessLevel, read)

    async def component(self, parent: Node, spec: CompanionComponent, node_id: ua.NodeId, idx: int) -> Node:
        node_type = await self._type(spec)
        added = await instantiate(parent, node_type, nodeid=node_id, bname=ua.QualifiedName(spec.name, idx),
                                  dname=ua.LocalizedText(spec.name), instantiate_optional=False)
        self._created += [n.nodeid for n in added]
        node: Node = added[0]
        for path, constant in spec.constants:
            variable, data_type = await self.resolve(node, path)
            await self._write_constant(variable, data_type, constant, f"{spec.name}/{path}")
        for value in spec.values:
            variable, data_type = await self.resolve(node, value.path)
            self.variables.append(await self._bind(variable, data_type, value.tag, f"{spec.name}/{value.path}"))
        return node

    async def _type(self, spec: CompanionComponent) -> Node:
        index = await self.server.get_namespace_index(spec.type_uri)
        for node_type in await _subtypes(self.server.nodes.base_object_type):
            if node_type.nodeid.NamespaceIndex == index and (await node_type.read_browse_name()).Name == spec.type_name:
                return node_type
        raise ValueError(f"{spec.type_name} is not a type of {spec.type_uri}")

    async def resolve(self, node: Node, path: str) -> tuple[Node, ua.NodeId | None]:
        """The node at ``path`` below ``node``, created from its declarations where missing;
        with its DataType (None for an object)."""
        declarations = await self._declarations_of(node)
        data_type: ua.NodeId | None = None
        for name in path.split("/"):
            existing = next((c for c in await self._browse(node) if c.BrowseName.Name == name), None)
            declaration = await self._declaration(declarations, name, path)
            if existing is not None:
                node = self.server.get_node(existing.NodeId)
            elif declaration is None:
                raise ValueError(f"{path}: {name} is declared by none of the types it would belong to")
            else:
                self._children.pop(node.nodeid, None)  # it gets a child
                node = await self._from_declaration(node, declaration, name)
            declarations = ([self.server.get_node(declaration.NodeId)] if declaration is not None else []) + \
                await self._declarations_of(node)
        if await node.read_node_class() == ua.NodeClass.Variable:
            data_type = await node.read_data_type()
        return node, data_type

    async def _declarations_of(self, node: Node) -> list[Node]:
        """Where the children of ``node`` are declared: its type and the type's supertypes."""
        type_id = await node.read_type_definition()
        if type_id is None:
            return []
        chain = [self.server.get_node(type_id)]
        while True:
            parents = await chain[-1].get_referenced_nodes(ua.ObjectIds.HasSubtype, ua.BrowseDirection.Inverse)
            if not parents:
                return chain
            chain.append(parents[0])

    async def _declaration(self, declarations: list[Node], name: str,
                           path: str) -> ua.ReferenceDescription | None:
        for declaring in declarations:
            for child in await self._browse(declaring):
                if child.BrowseName.Name == name:
                    return child
        for declaring in declarations:
            for child in await self._browse(declaring):
                if "<" in child.BrowseName.Name and _fits_placeholder(child.BrowseName.Name, name):
                    rules = await self.server.get_node(child.NodeId).get_referenced_nodes(ua.ObjectIds.HasModellingRule)
                    if rules and rules[0].nodeid in _PLACEHOLDERS:
                        return child
        return None

    async def _browse(self, node: Node) -> list[ua.ReferenceDescription]:
        known = self._children.get(node.nodeid)
        if known is None:
            known = self._children[node.nodeid] = [
                c for c in await node.get_children_descriptions(refs=ua.ObjectIds.HierarchicalReferences)
                if c.ReferenceTypeId != ua.NodeId(ua.ObjectIds.HasSubtype)]
        return known

    async def _from_declaration(self, parent: Node, declaration: ua.ReferenceDescription, name: str) -> Node:
        """A child ``name`` of ``parent`` as ``declaration`` declares it: its attributes,
        reference type, type definition and mandatory children (asyncua's own instantiation,
        fed with the declaration instead of a type)."""
        rdesc = ua.ReferenceDescription(
            ReferenceTypeId=declaration.ReferenceTypeId, IsForward=True, NodeId=declaration.NodeId,
            BrowseName=declaration.BrowseName, DisplayName=ua.LocalizedText(name), NodeClass=declaration.NodeClass,
            TypeDefinition=declaration.TypeDefinition)
        added = await _instantiate_node(
            parent.session, self.server.get_node(declaration.NodeId), parent.nodeid, rdesc, _child_id(parent, name),
            ua.QualifiedName(name, declaration.BrowseName.NamespaceIndex), dname=ua.LocalizedText(name),
            instantiate_optional=False)
        self._created += added
        return self.server.get_node(added[0])

    async def _write_constant(self, node: Node, data_type: ua.NodeId | None, value: Constant, where: str) -> None:
        vtype = _SCALARS.get(int(data_type.Identifier)) if data_type is not None and data_type.NamespaceIndex == 0 \
            else None
        if vtype is None:
            raise ValueError(f"{where}: a constant for a variable of data type {data_type}")
        written: object = ua.LocalizedText(str(value)) if vtype is ua.VariantType.LocalizedText else value
        await self.server.write_attribute_value(node.nodeid, ua.DataValue(ua.Variant(written, vtype)))

    async def _bind(self, node: Node, data_type: ua.NodeId | None, address: str, where: str) -> TagVariable:
        tag = self.definition.tag(address)
        if data_type == ua.NodeId(ua.ObjectIds.Boolean):
            return TagVariable(address, node.nodeid, True)
        if data_type != ua.NodeId(ua.ObjectIds.Double):
            raise ValueError(f"{where}: {address} fits no variable of data type {data_type}")
        units = eu_information(tag.unit)
        for name, value, vtype in (("EURange", ua.Range(Low=tag.low, High=tag.high), ua.ObjectIds.Range),
                                   ("EngineeringUnits", units, ua.ObjectIds.EUInformation)):
            existing = next((c for c in await node.get_children_descriptions(refs=ua.ObjectIds.HasProperty)
                             if c.BrowseName == ua.QualifiedName(name, 0)), None)
            if existing is None:
                await node.add_property(_child_id(node, name), ua.QualifiedName(name, 0), value,
                                        varianttype=ua.VariantType.ExtensionObject, datatype=vtype)
            else:
                await self.server.write_attribute_value(existing.NodeId, ua.DataValue(
                    ua.Variant(value, ua.VariantType.ExtensionObject)))
        return TagVariable.of(address, node.nodeid, tag, boolean=False)


def _child_id(parent: Node, name: str) -> ua.NodeId:
    """A child's string node id: its parent's and its BrowseName, as asyncua's ``instantiate`` names them."""
    return ua.NodeId(f"{parent.nodeid.Identifier!s}.{name}", parent.nodeid.NamespaceIndex)


def _fits_placeholder(placeholder: str, name: str) -> bool:
    """Whether ``name`` is an instance name of ``placeholder`` (``TemperatureZone_<Nr>``:
    ``TemperatureZone_001``; ``<Name>_<Nr>``: ``MeltTemperature_001``)."""
    pattern = re.sub(r"<[^>]+>", "[A-Za-z][A-Za-z0-9]*", re.escape(placeholder).replace("<Nr>", r"\d+"))
    return re.fullmatch(pattern, name) is not None


async def _subtypes(node: Node) -> list[Node]:
    found: list[Node] = []
    pending = [node]
    while pending:
        current = pending.pop()
        children = await current.get_children(refs=ua.ObjectIds.HasSubtype)
        found += children
        pending += children
    return found
