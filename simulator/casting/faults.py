"""Fault injection for the casting-line simulator.

Faults are plant state (a sensor stuck, a heater element open, a pump jammed, the belt
stopped), not test hacks: the plant consults this object on every step and read, so a
fault injected from a test, the API or a HIL harness behaves the same way. Reach it as
``plant.faults``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from drivers.definition import LineDefinition

# Device kinds with a heater the plant models (the dope vessel's is the jacket's heating half).
HEATED_KINDS: frozenset[str] = frozenset({"quench_bath", "wash_bath", "dryer", "dope_vessel"})
PUMP_KINDS: frozenset[str] = frozenset({"dope_pump"})


class PlantFaults:
    """The faults active in one plant.

    ``current_reading(device)`` returns the device's reading as last served (the plant
    passes it in), so that a frozen sensor sticks at the value the controller last saw.
    """

    def __init__(self, line: LineDefinition, current_reading: Callable[[str], Mapping[str, float]]) -> None:
        self._line = line
        self._current_reading = current_reading
        self.frozen: dict[str, dict[str, float]] = {}  # device -> {tag: stuck value}
        self.failed_heaters: set[str] = set()
        self.stalled_pumps: set[str] = set()
        self.belt_stopped: bool = False
        belts = line.devices_of_kind("support_belt")
        self._belt = belts[0].name if belts else None

    def freeze_sensor(self, device: str, tag: str) -> None:
        """The reading of ``device.tag`` stays at its last value until cleared."""
        spec = self._line.device(device)
        profile_tag = spec.profile.tag(tag)
        if profile_tag.direction.writable:
            raise ValueError(f"{device}.{tag} is a {profile_tag.direction.value}, not a sensor")
        value = float(self._current_reading(device)[tag])
        self.frozen.setdefault(device, {})[tag] = value

    def fail_heater(self, device: str) -> None:
        """The heater of ``device`` delivers no power (its current monitor, where the
        profile has ``heater_fault``, reports 1 while the output is above 0)."""
        kind = self._line.device(device).profile.kind
        if kind not in HEATED_KINDS:
            raise ValueError(f"{device} ({kind}) has no heater")
        self.failed_heaters.add(device)

    def stall_pump(self, device: str) -> None:
        """The pump jams: speed 0 whatever the setpoint, ``running`` 0, no flow."""
        kind = self._line.device(device).profile.kind
        if kind not in PUMP_KINDS:
            raise ValueError(f"{device} ({kind}) is not a pump")
        self.stalled_pumps.add(device)

    def stop_belt(self) -> None:
        """The support belt stops (drive trip) whatever the setpoint."""
        if self._belt is None:
            raise ValueError(f"line {self._line.name} has no support belt")
        self.belt_stopped = True

    def clear(self, device: str, tag: str | None = None) -> None:
        """Clear every fault of ``device`` (or only the frozen sensor ``tag``)."""
        self._line.device(device)  # KeyError for an unknown device
        if tag is not None:
            stuck = self.frozen.get(device)
            if stuck is not None:
                stuck.pop(tag, None)
                if not stuck:
                    del self.frozen[device]
            return
        self.frozen.pop(device, None)
        self.failed_heaters.discard(device)
        self.stalled_pumps.discard(device)
        if device == self._belt:
            self.belt_stopped = False

    def clear_all(self) -> None:
        self.frozen.clear()
        self.failed_heaters.clear()
        self.stalled_pumps.clear()
        self.belt_stopped = False

    def active(self) -> list[str]:
        """Human-readable list of the active faults."""
        faults = [f"{d}.{t} frozen at {v:g}" for d, tags in self.frozen.items() for t, v in tags.items()]
        faults += [f"{d} heater failed" for d in sorted(self.failed_heaters)]
        faults += [f"{d} stalled" for d in sorted(self.stalled_pumps)]
        if self.belt_stopped:
            faults.append(f"{self._belt} stopped")
        return faults


