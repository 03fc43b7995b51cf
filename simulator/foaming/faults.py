"""Faults of the extrusion-foaming simulator (``plant.faults``): a heater fails (extruder or
die zones), the die blocks, the exchanger's coolant fails, a metering pump's head cooling
fails, the feed runs out, a sensor freezes (the shared one of :mod:`simulator.faults`).

The plant consults ``failed_heaters``, ``die_blocked``, ``coolant_failed``,
``head_cooling_failed`` and ``feed_starved`` on every step."""

from __future__ import annotations

from typing import ClassVar

from drivers.definition import LineDefinition
from simulator.faults import SENSOR_FAULT, FaultSpec, PlantFaults

HEATER_FAULT = FaultSpec("heater", "the heater zones deliver no power", frozenset({"extruder", "slit_die"}))
DIE_BLOCKED = FaultSpec("die_blocked", "the die blocks: a fraction of its gap stays open, the melt pressure rises",
                        frozenset({"slit_die"}))
COOLANT_FAILED = FaultSpec("coolant_failed", "the exchanger's coolant circulation stops whatever its command",
                           frozenset({"melt_heat_exchanger"}))
HEAD_COOLING_FAILED = FaultSpec("head_cooling_failed", "the metering pump's head cooling fails: the head heats up "
                                "(CO2: vapour lock above its critical temperature)",
                                frozenset({"co2_metering_pump", "water_metering_pump"}))
FEED_STARVED = FaultSpec("feed_starved", "the hopper runs empty: the screw conveys no melt", frozenset({"extruder"}))


class FoamingFaults(PlantFaults):
    """The faults active in one foaming plant."""

    offered: ClassVar[tuple[FaultSpec, ...]] = (HEATER_FAULT, DIE_BLOCKED, COOLANT_FAILED, HEAD_COOLING_FAILED,
                                                FEED_STARVED, SENSOR_FAULT)

    def __init__(self, line: LineDefinition) -> None:
        super().__init__(line)
        self.die_blocked = False
        self.coolant_failed = False
        self.head_cooling_failed: set[str] = set()
        self.feed_starved = False  # pressure loss: the hopper runs empty, the screw conveys nothing
        self.failed_heaters: set[str] = set()

    # the plant operations by name (tests, HIL harnesses)
    def block_die(self) -> None:
        self.inject(DIE_BLOCKED.kind, self._only(DIE_BLOCKED))

    def fail_coolant(self) -> None:
        self.inject(COOLANT_FAILED.kind, self._only(COOLANT_FAILED))

    def fail_head_cooling(self, device: str) -> None:
        self.inject(HEAD_COOLING_FAILED.kind, device)

    def starve_feed(self) -> None:
        self.inject(FEED_STARVED.kind, self._only(FEED_STARVED))

    def fail_heater(self, device: str) -> None:
        self.inject(HEATER_FAULT.kind, device)

    def _only(self, spec: FaultSpec) -> str:
        """The one device of the line a fault of ``spec`` applies to."""
        devices = self.devices_for(spec.kind)
        if len(devices) != 1:
            raise ValueError(f"a {spec.kind} fault needs one device on line {self._line.name}, found {devices}")
        return devices[0]

    # hooks
    def _inject(self, spec: FaultSpec, device: str, tag: str | None) -> None:
        if spec == HEATER_FAULT:
            self.failed_heaters.add(device)
        elif spec == DIE_BLOCKED:
            self.die_blocked = True
        elif spec == COOLANT_FAILED:
            self.coolant_failed = True
        elif spec == HEAD_COOLING_FAILED:
            self.head_cooling_failed.add(device)
        elif spec == FEED_STARVED:
            self.feed_starved = True
        else:
            super()._inject(spec, device, tag)

    def _clear(self, device: str | None) -> None:
        if device is None:
            self.die_blocked = self.coolant_failed = self.feed_starved = False
            self.head_cooling_failed.clear()
            self.failed_heaters.clear()
            return
        spec = self._line.device(device)
        self.failed_heaters.discard(device)
        self.head_cooling_failed.discard(device)
        if DIE_BLOCKED.applies_to(spec):
            self.die_blocked = False
        if COOLANT_FAILED.applies_to(spec):
            self.coolant_failed = False
        if FEED_STARVED.applies_to(spec):
            self.feed_starved = False

    def _describe(self) -> list[str]:
        out = ["die blocked"] if self.die_blocked else []
        out += ["coolant failed"] if self.coolant_failed else []
        out += ["feed starved"] if self.feed_starved else []
        out += [f"{d} head cooling failed" for d in sorted(self.head_cooling_failed)]
        out += [f"{d} heater failed" for d in sorted(self.failed_heaters)]
        return out
