"""Faults of the casting-line simulator (``plant.faults``): a heater fails, a dope pump jams,
a feed line's trace heater fails,
the support belt stops, a sensor freezes (the shared one of :mod:`simulator.faults`).

The plant consults ``failed_heaters``, ``stalled_pumps`` and ``belt_stopped`` on every step."""

from __future__ import annotations

from typing import ClassVar

from drivers.definition import LineDefinition
from simulator.faults import SENSOR_FAULT, FaultSpec, PlantFaults

# Device kinds with a heater the plant models (the dope vessel's is the jacket's heating half).
HEATED_KINDS: frozenset[str] = frozenset({"quench_bath", "wash_bath", "dryer", "dope_vessel"})
PUMP_KINDS: frozenset[str] = frozenset({"dope_pump"})
BELT_KINDS: frozenset[str] = frozenset({"support_belt"})

HEATER_FAULT = FaultSpec("heater", "the heater delivers no power (its current monitor, where the profile has "
                         "heater_fault, reports 1 while the output is above 0)", HEATED_KINDS)
PUMP_FAULT = FaultSpec("pump", "the pump jams: speed 0 whatever the setpoint, running 0, no flow", PUMP_KINDS)
TRACE_HEATER_FAULT = FaultSpec("trace_heater", "the dope pump's feed-line trace heater delivers no power (the line "
                               "cools towards the hall; no current monitor)", PUMP_KINDS)
BELT_FAULT = FaultSpec("belt", "the support belt stops (drive trip) whatever the setpoint", BELT_KINDS)


class CastingFaults(PlantFaults):
    """The faults active in one casting plant."""

    offered: ClassVar[tuple[FaultSpec, ...]] = (HEATER_FAULT, PUMP_FAULT, TRACE_HEATER_FAULT, BELT_FAULT,
                                                    SENSOR_FAULT)

    def __init__(self, line: LineDefinition) -> None:
        super().__init__(line)
        self.failed_heaters: set[str] = set()
        self.stalled_pumps: set[str] = set()
        self.failed_trace_heaters: set[str] = set()
        self.belt_stopped: bool = False
        belts = line.devices_of_kind("support_belt")
        self._belt = belts[0].name if belts else None

    # the plant operations by name (tests, HIL harnesses)
    def fail_heater(self, device: str) -> None:
        self.inject(HEATER_FAULT.kind, device)

    def stall_pump(self, device: str) -> None:
        self.inject(PUMP_FAULT.kind, device)

    def fail_trace_heater(self, pump: str) -> None:
        self.inject(TRACE_HEATER_FAULT.kind, pump)

    def stop_belt(self) -> None:
        if self._belt is None:
            raise ValueError(f"line {self._line.name} has no support belt")
        self.inject(BELT_FAULT.kind, self._belt)

    # hooks
    def _inject(self, spec: FaultSpec, device: str, tag: str | None) -> None:
        if spec == HEATER_FAULT:
            self.failed_heaters.add(device)
        elif spec == PUMP_FAULT:
            self.stalled_pumps.add(device)
        elif spec == TRACE_HEATER_FAULT:
            self.failed_trace_heaters.add(device)
        elif spec == BELT_FAULT:
            self.belt_stopped = True
        else:
            super()._inject(spec, device, tag)

    def _clear(self, device: str | None) -> None:
        if device is None:
            self.failed_heaters.clear()
            self.stalled_pumps.clear()
            self.failed_trace_heaters.clear()
            self.belt_stopped = False
            return
        self.failed_heaters.discard(device)
        self.stalled_pumps.discard(device)
        self.failed_trace_heaters.discard(device)
        if device == self._belt:
            self.belt_stopped = False

    def _describe(self) -> list[str]:
        faults = [f"{d} heater failed" for d in sorted(self.failed_heaters)]
        faults += [f"{d} stalled" for d in sorted(self.stalled_pumps)]
        faults += [f"{d} feed-line trace heater failed" for d in sorted(self.failed_trace_heaters)]
        if self.belt_stopped:
            faults.append(f"{self._belt} stopped")
        return faults
