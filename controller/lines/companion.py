"""A line's mapping onto an OPC UA companion specification, as data.

A kind that fits a published information model (the foaming line: OPC 40084, EUROMAP 84)
declares here which of the model's object types its line and its devices are and which of
its tags feed which of their variables; :mod:`controller.scada.companion` loads the model's
nodesets and builds the instances. Nothing here imports the OPC UA stack.

Paths are ``/``-separated BrowseNames below a component (``TemperatureZones/
TemperatureZone_001/ActualValue``); each name is resolved in the component's type (its
instance declarations, placeholders such as ``TemperatureZone_<Nr>`` included), so a path
names no namespace: the namespace is the declaring model's.
"""

from __future__ import annotations

from dataclasses import dataclass

Constant = str | bool | int


@dataclass(frozen=True, slots=True)
class CompanionValue:
    """The variable at ``path`` carries the line tag ``tag`` (``device.tag``) every scan."""

    path: str
    tag: str


@dataclass(frozen=True, slots=True)
class CompanionComponent:
    """An object of the companion model's type ``type_name`` (in the namespace ``type_uri``),
    BrowseName ``name`` in Poreline's namespace; ``constants`` are written once (path, value)."""

    name: str
    type_uri: str
    type_name: str
    values: tuple[CompanionValue, ...] = ()
    constants: tuple[tuple[str, Constant], ...] = ()


@dataclass(frozen=True, slots=True)
class CompanionModel:
    """The line as ``line`` (under the Machinery ``Machines`` folder) with ``components``
    (its ``Components``, each also referenced from ``Machines``)."""

    specification: str  # e.g. "OPC 40084 (EUROMAP 84) v2.00", for logs and documents
    line: CompanionComponent
    components: tuple[CompanionComponent, ...]

    @property
    def type_uris(self) -> tuple[str, ...]:
        """The models whose types it instantiates (their nodesets and what they require are loaded)."""
        return tuple(dict.fromkeys(c.type_uri for c in (self.line, *self.components)))
