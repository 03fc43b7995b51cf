"""Line definitions: which devices a line has, their names and equipment data, and the
derived tags the controller computes for it.

Equipment data (pump displacement, knife width, bath volume, heater power) is what a
plant engineer reads off the data sheets. The controller uses it to validate recipes
(flow a pump can deliver, knife width for the mass balance) and the simulator uses it
to size its models, so it is declared here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from drivers.profiles import DeviceProfile, Direction, Tag


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    name: str
    profile: DeviceProfile
    equipment: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "equipment", MappingProxyType(dict(self.equipment)))


@dataclass(frozen=True, slots=True)
class DerivedTag:
    """A tag the controller computes (a soft sensor's output), declared like a device's
    tag: it lives under a device (``device.tag``), has a unit, limits and a description,
    and names the soft sensor that computes it. No PLC serves it; conditions, alarms, the
    historian, the API and the published maps read it like a measurement."""

    device: str
    tag: Tag
    computed_by: str  # the soft sensor, e.g. "foam estimate (simulator.physics.foam)"

    @property
    def address(self) -> str:
        return f"{self.device}.{self.tag.name}"


@dataclass(frozen=True, slots=True)
class LineDefinition:
    kind: str  # the line kind's registered name
    name: str
    devices: tuple[DeviceSpec, ...]
    derived: tuple[DerivedTag, ...] = ()
    _by_name: dict[str, DeviceSpec] = field(init=False, repr=False, compare=False)
    _derived: dict[str, DerivedTag] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, DeviceSpec] = {}
        for spec in self.devices:
            if spec.name in by_name:
                raise ValueError(f"line {self.name}: duplicate device {spec.name}")
            by_name[spec.name] = spec
        derived: dict[str, DerivedTag] = {}
        for item in self.derived:
            if item.device not in by_name:
                raise ValueError(f"line {self.name}: derived tag {item.address} on an unknown device")
            if by_name[item.device].profile.has_tag(item.tag.name) or item.address in derived:
                raise ValueError(f"line {self.name}: derived tag {item.address} declared twice")
            if item.tag.direction is not Direction.DERIVED:
                raise ValueError(f"line {self.name}: {item.address} is declared as derived but its direction "
                                 f"is {item.tag.direction.value}")
            derived[item.address] = item
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_derived", derived)

    def device(self, name: str) -> DeviceSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"line {self.name} has no device {name!r} "
                           f"(devices: {', '.join(self._by_name)})") from None

    def has_device(self, name: str) -> bool:
        return name in self._by_name

    def tag(self, address: str) -> Tag:
        """The tag at ``device.tag``: a device's own tag or a derived tag on it."""
        derived = self._derived.get(address)
        if derived is not None:
            return derived.tag
        device, _, tag = address.partition(".")
        if not tag:
            raise KeyError(f"{address!r} is not of the form device.tag")
        return self.device(device).profile.tag(tag)

    def is_derived(self, address: str) -> bool:
        return address in self._derived

    def derived_on(self, device: str) -> tuple[DerivedTag, ...]:
        return tuple(d for d in self.derived if d.device == device)

    def device_addresses(self) -> list[str]:
        """Every device tag as ``device.tag``, in line and profile order."""
        return [f"{d.name}.{t.name}" for d in self.devices for t in d.profile.tags]

    def addresses(self) -> list[str]:
        """Every address a condition may name: device tags, then derived tags."""
        return self.device_addresses() + [d.address for d in self.derived]

    def devices_of_kind(self, kind: str) -> tuple[DeviceSpec, ...]:
        return tuple(d for d in self.devices if d.profile.kind == kind)
