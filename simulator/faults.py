"""Simulator faults: one generic shape, declared per line kind.

Faults are plant state (a sensor stuck, a heater element open, a pump jammed), not test
hacks: the plant consults its ``faults`` object on every step and read, so a fault injected
from a test, the API or a HIL harness behaves the same way. Reach it as ``plant.faults``.

Each line kind's simulator subclasses :class:`PlantFaults`, lists what it offers as
:class:`FaultSpec` in ``offered`` and implements the three hooks ``_inject``, ``_clear`` and
``_describe`` for its own faults. Sensor freezing (:data:`SENSOR_FAULT`) is shared: this base
keeps the frozen values and :class:`simulator.plant.SimulatedPlant` serves them on every
read. Generic code (the API) only calls ``offered``, ``devices_for``, ``inject``, ``clear``
and ``active`` and never names a kind of fault or of line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from drivers.definition import DeviceSpec, LineDefinition


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """One kind of fault a plant offers.

    ``device_kinds``: the device profile kinds it applies to (None: every device of the line).
    ``needs_tag``: the fault is on one tag of the device (a frozen sensor), not the device."""

    kind: str
    description: str
    device_kinds: frozenset[str] | None = None
    needs_tag: bool = False

    def applies_to(self, device: DeviceSpec) -> bool:
        return self.device_kinds is None or device.profile.kind in self.device_kinds


SENSOR_FAULT = FaultSpec("sensor", "the reading of a measured tag sticks at the value last served", None,
                         needs_tag=True)

CurrentReading = Callable[[str], Mapping[str, float]]


class PlantFaults:
    """The faults active in one plant; the base offers sensor freezing only."""

    offered: ClassVar[tuple[FaultSpec, ...]] = (SENSOR_FAULT,)

    def __init__(self, line: LineDefinition) -> None:
        self._line = line
        self.frozen: dict[str, dict[str, float]] = {}  # device -> {tag: stuck value}
        self._current_reading: CurrentReading | None = None

    def attach(self, current_reading: CurrentReading) -> None:
        """Called by the plant: ``current_reading(device)`` gives the reading last served
        (or a fresh one), the value a frozen sensor sticks at."""
        self._current_reading = current_reading

    # ----------------------------------------------------------------- what is offered
    def spec(self, kind: str) -> FaultSpec:
        """The offered fault ``kind`` (ValueError naming the offered kinds otherwise)."""
        for spec in self.offered:
            if spec.kind == kind:
                return spec
        offered = ", ".join(s.kind for s in self.offered) or "none"
        raise ValueError(f"kind: the simulator of the {self._line.kind} line {self._line.name} has no "
                         f"{kind!r} fault; it offers: {offered}")

    def devices_for(self, kind: str) -> list[str]:
        """The devices of this line the fault ``kind`` applies to, in line order."""
        spec = self.spec(kind)
        return [d.name for d in self._line.devices if spec.applies_to(d)]

    # ----------------------------------------------------------------- inject, clear, list
    def inject(self, kind: str, device: str, tag: str | None = None) -> None:
        """Inject a fault. ValueError for a kind not offered, a device it does not apply to
        or a tag missing/superfluous; KeyError for an unknown device or tag."""
        spec = self.spec(kind)
        device_spec = self._line.device(device)  # KeyError naming the known devices
        if not spec.applies_to(device_spec):
            fits = ", ".join(self.devices_for(kind)) or "no device of this line"
            raise ValueError(f"device: a {kind} fault applies to {fits}; not to {device} "
                             f"({device_spec.profile.kind})")
        if spec.needs_tag and tag is None:
            raise ValueError(f"tag: a {kind} fault needs a tag")
        if not spec.needs_tag and tag is not None:
            raise ValueError(f"tag: a {kind} fault takes no tag")
        if spec.kind == SENSOR_FAULT.kind and tag is not None:
            self._freeze(device_spec, tag)
        else:
            self._inject(spec, device, tag)

    def clear(self, device: str | None = None, tag: str | None = None) -> None:
        """Clear every fault (no device), every fault of ``device``, or only its frozen
        sensor ``tag``. KeyError for an unknown device."""
        if device is None:
            if tag is not None:
                raise ValueError("tag: a frozen sensor is cleared with its device")
            self.frozen.clear()
            self._clear(None)
            return
        self._line.device(device)  # KeyError for an unknown device
        if tag is not None:
            stuck = self.frozen.get(device)
            if stuck is not None:
                stuck.pop(tag, None)
                if not stuck:
                    del self.frozen[device]
            return
        self.frozen.pop(device, None)
        self._clear(device)

    def clear_all(self) -> None:
        self.clear()

    def active(self) -> list[str]:
        """The active faults, in words."""
        faults = [f"{d}.{t} frozen at {v:g}" for d, tags in self.frozen.items() for t, v in tags.items()]
        return faults + self._describe()

    # ----------------------------------------------------------------- shared sensor freezing
    def freeze_sensor(self, device: str, tag: str) -> None:
        """The reading of ``device.tag`` stays at its last served value until cleared."""
        self.inject(SENSOR_FAULT.kind, device, tag)

    def _freeze(self, device: DeviceSpec, tag: str) -> None:
        profile_tag = device.profile.tag(tag)  # KeyError naming the device's tags
        if profile_tag.direction.writable:
            raise ValueError(f"tag: {device.name}.{tag} is a {profile_tag.direction.value}, not a sensor")
        if self._current_reading is None:
            raise RuntimeError("these faults are not attached to a plant")
        value = float(self._current_reading(device.name)[tag])
        self.frozen.setdefault(device.name, {})[tag] = value

    # ----------------------------------------------------------------- hooks of a line kind
    def _inject(self, spec: FaultSpec, device: str, tag: str | None) -> None:
        """Set the plant state of fault ``spec`` on ``device`` (already checked to fit)."""
        raise ValueError(f"kind: no model for a {spec.kind} fault")

    def _clear(self, device: str | None) -> None:
        """Clear the line kind's own faults of ``device`` (None: of every device)."""

    def _describe(self) -> list[str]:
        """The line kind's own active faults, in words."""
        return []
