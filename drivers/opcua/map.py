"""OPC UA address space of a line, derived from the device profiles (never written twice).

The OPC UA server of the simulator (``simulator.serve.opcua``) builds its nodes from these
functions and the OPC UA transport (``drivers.opcua.client``) computes the node ids it
reads and writes from the very same functions, so a node id exists in one place only: here,
as a rule over the profiles.

Namespace
    All Poreline nodes live in one namespace, URI ``urn:poreline:line``
    (:data:`NAMESPACE_URI`). Its index is assigned by the server at start-up (usually 2);
    a client looks the index up by URI once at connect and never hard-codes it.

Node ids (string identifiers, ``s=``)
    ``ns=<idx>;s=<device>.<opcua_path with "/" replaced by ".">``

    e.g. device ``quench_bath``, tag ``temperature_c`` with ``opcua_path``
    ``TemperatureZones/TemperatureZone_001/ActualValue`` is
    ``ns=2;s=quench_bath.TemperatureZones.TemperatureZone_001.ActualValue``.
    Intermediate objects follow the same rule with the path cut short
    (``quench_bath.TemperatureZones``, ``quench_bath.TemperatureZones.TemperatureZone_001``);
    the device object is ``s=<device>``, the folder holding the devices is ``s=Machines``,
    the watchdog object is ``s=Controller`` with its variable ``s=Controller.Heartbeat``.
    Device names and path components never contain ``.``, so the rule is reversible.

Browse paths (BrowseNames all in the Poreline namespace)
    ``Objects/Machines/<device>/<opcua_path>``, e.g.
    ``Machines/quench_bath/TemperatureZones/TemperatureZone_001/ActualValue``
    (OPC 40084 / EUROMAP 84 component names where one fits; casting devices map onto the
    nearest pattern, see PROTOCOLS.md). The watchdog is ``Objects/Controller/Heartbeat``.

Variant types (asyncua is strictly typed: a writer must send exactly this type)
    ==============  =======================  =============================================
    profile type    OPC UA DataType/Variant  notes
    ==============  =======================  =============================================
    ``FLOAT32``     ``Float`` (i=10)         IEEE 754 single precision, as on the Modbus
                                             side: about 7 significant digits (a totaliser
                                             at 1e6 resolves 0.06). A client writing
                                             ``Double`` gets ``BadTypeMismatch``.
    ``BOOL``        ``Boolean`` (i=1)        ``True``/``False``; 1.0/0.0 in the process
                                             image.
    Heartbeat       ``UInt32`` (i=7)         counter written by the controller, wraps at
                                             2**32.
    ==============  =======================  =============================================

Access
    Tags whose direction is writable (setpoint, command) are ``CurrentRead|CurrentWrite``;
    measured and status tags are read-only. A setpoint node's value is the plant's readback
    of the setpoint, refreshed on every publish. The server refuses a write outside the
    tag's limits with ``BadOutOfRange`` (see ``simulator.serve.opcua``).
"""

from __future__ import annotations

from dataclasses import dataclass

from asyncua import ua

from drivers.definition import LineDefinition
from drivers.profiles import DataType, Tag

NAMESPACE_URI = "urn:poreline:line"
MACHINES_FOLDER = "Machines"
CONTROLLER_OBJECT = "Controller"
HEARTBEAT_VARIABLE = "Heartbeat"
HEARTBEAT_IDENTIFIER = f"{CONTROLLER_OBJECT}.{HEARTBEAT_VARIABLE}"
HEARTBEAT_VARIANT_TYPE = ua.VariantType.UInt32
# The served simulator's watchdog, shown to integrators (read-only): tripped now, and how often
WATCHDOG_TRIPPED_VARIABLE = "WatchdogTripped"
WATCHDOG_TRIP_COUNT_VARIABLE = "WatchdogTripCount"
RESERVED_NAMES = frozenset({MACHINES_FOLDER, CONTROLLER_OBJECT})

_VARIANT_TYPES: dict[DataType, ua.VariantType] = {
    DataType.FLOAT32: ua.VariantType.Float,
    DataType.BOOL: ua.VariantType.Boolean,
}


@dataclass(frozen=True, slots=True)
class TagNode:
    """Where one tag of one device lives in the address space."""

    device: str
    tag: Tag
    identifier: str  # the string identifier of the NodeId, without the namespace
    browse_path: tuple[str, ...]  # below Objects: ("Machines", device, *opcua_path parts)
    variant_type: ua.VariantType

    @property
    def address(self) -> str:
        """``device.tag`` as the rest of Poreline names it."""
        return f"{self.device}.{self.tag.name}"

    def node_id(self, namespace_index: int) -> ua.NodeId:
        return ua.NodeId(ua.String(self.identifier), ua.Int16(namespace_index))

    def node_id_string(self, namespace_index: int) -> str:
        return node_id_string(self.identifier, namespace_index)


def variant_type(data_type: DataType) -> ua.VariantType:
    """The OPC UA variant type a profile data type travels as."""
    return _VARIANT_TYPES[data_type]


def path_parts(opcua_path: str) -> tuple[str, ...]:
    parts = tuple(opcua_path.split("/"))
    for part in parts:
        if not part or "." in part:
            raise ValueError(f"opcua_path {opcua_path!r}: empty component or '.' in {part!r}")
    return parts


def node_identifier(device: str, opcua_path: str) -> str:
    """``<device>.<opcua_path with / replaced by .>``; an empty path names the device object."""
    if not device or "." in device or "/" in device:
        raise ValueError(f"device name {device!r} cannot be part of a node id")
    if not opcua_path:
        return device
    return ".".join((device, *path_parts(opcua_path)))


def node_id_string(identifier: str, namespace_index: int) -> str:
    """The textual NodeId, e.g. ``ns=2;s=dryer.Fan.Command``."""
    return f"ns={namespace_index};s={identifier}"


def browse_path(device: str, opcua_path: str) -> tuple[str, ...]:
    """Browse names below ``Objects``: ``("Machines", device, *path parts)``."""
    return (MACHINES_FOLDER, device, *path_parts(opcua_path))


def tag_node(device: str, tag: Tag) -> TagNode:
    return TagNode(
        device=device,
        tag=tag,
        identifier=node_identifier(device, tag.opcua_path),
        browse_path=browse_path(device, tag.opcua_path),
        variant_type=variant_type(tag.data_type),
    )


def device_tag_nodes(line: LineDefinition, device: str) -> tuple[TagNode, ...]:
    """Every tag of one device, in profile order."""
    spec = line.device(device)
    return tuple(tag_node(spec.name, tag) for tag in spec.profile.tags)


def line_tag_nodes(line: LineDefinition) -> tuple[TagNode, ...]:
    """Every tag of every device of the line; raises if two tags would share a node or a
    device name collides with a reserved top-level name."""
    nodes: list[TagNode] = []
    seen: dict[str, str] = {}
    for spec in line.devices:
        if spec.name in RESERVED_NAMES:
            raise ValueError(f"device name {spec.name!r} is reserved in the OPC UA address space")
        for node in device_tag_nodes(line, spec.name):
            if node.identifier in seen:
                raise ValueError(
                    f"{node.address} and {seen[node.identifier]} map to the same node {node.identifier}"
                )
            seen[node.identifier] = node.address
            nodes.append(node)
    return tuple(nodes)


def to_variant_value(node: TagNode, value: float) -> float | bool:
    """A process-image float as the Python value of the node's variant."""
    if node.variant_type is ua.VariantType.Boolean:
        return value != 0.0
    return float(value)


def from_variant_value(value: object) -> float:
    """A node's value (float or bool) as a process-image float."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"not a numeric OPC UA value: {value!r}")
