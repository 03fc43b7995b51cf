"""Device profiles: every tag of every device type, declared once.

A profile is the single source of truth for a device type. The controller reads it to
check setpoints and to know what "safe" means; the simulator reads it to know which
inputs a plant model takes and which outputs it must produce; the Modbus and OPC UA
transports and servers derive register blocks and node ids from it; the API publishes
units and limits from it. Nothing about a tag is written anywhere else.

All tag values travel as floats (booleans as 0.0/1.0) so that the scan cycle can keep
one flat process image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# A declared noise band is ±3 σ of the instrument: 99.7 % of a steady reading's samples lie in it.
NOISE_BAND_SIGMAS: float = 3.0


class Direction(StrEnum):
    """What the controller may do with a tag."""

    MEASURED = "measured"  # read from the plant (sensor, readback)
    SETPOINT = "setpoint"  # written by the controller, analogue
    COMMAND = "command"  # written by the controller, discrete (start/stop, valve open)
    STATUS = "status"  # read from the plant, discrete (running, fault)
    DERIVED = "derived"  # computed by the controller's soft sensors, never read from the plant

    @property
    def writable(self) -> bool:
        return self in (Direction.SETPOINT, Direction.COMMAND)


class DataType(StrEnum):
    FLOAT32 = "float32"
    BOOL = "bool"


class HoldAction(StrEnum):
    """What happens to an output tag when the unit goes to Held."""

    KEEP = "keep"  # temperatures, agitation: keep controlling
    SAFE = "safe"  # motion, dosing: go to the safe value, restore on unhold


class TagLimitError(ValueError):
    """A value outside a tag's limits, refused before it reaches any device."""


class TagDirectionError(ValueError):
    """A write to a tag that is not writable (measured or status)."""


@dataclass(frozen=True, slots=True)
class Tag:
    """One signal of a device type.

    ``low``/``high`` are the engineering limits: for outputs the range the actuator
    accepts (writes outside are refused), for inputs the instrument's range.
    ``safe_value`` is the value an output goes to on abort, interlock or watchdog.
    ``opcua_path`` is the browse path below the device object, following OPC 40084
    names where a component fits (e.g. ``TemperatureZones/TemperatureZone_001/SetValue``).
    ``noise`` is the band a steady reading wanders in by measurement noise alone (±3 σ of
    the instrument, or its resolution where that is coarser), in the tag's unit;
    ``noise_of_reading`` the same as a fraction of the reading (a flowmeter's "% of
    reading"); both 0: exact or not declared. It is the one declaration of the instrument:
    publishers (the SCADA facade's deadband) ignore changes inside it, and the plant
    simulator's sensors draw their noise from it (σ = band/3, ``NOISE_BAND_SIGMAS``).
    """

    name: str
    unit: str
    direction: Direction
    low: float
    high: float
    description: str
    opcua_path: str
    data_type: DataType = DataType.FLOAT32
    safe_value: float | None = None
    hold_action: HoldAction = HoldAction.KEEP
    noise: float = 0.0
    noise_of_reading: float = 0.0

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ValueError(f"tag {self.name}: low {self.low} > high {self.high}")
        if not 0.0 <= self.noise <= self.high - self.low:
            raise ValueError(f"tag {self.name}: noise {self.noise} outside 0..{self.high - self.low:g} (its span)")
        if not 0.0 <= self.noise_of_reading < 1.0:
            raise ValueError(f"tag {self.name}: noise of reading {self.noise_of_reading} outside 0..1")
        if self.direction.writable and self.safe_value is None:
            raise ValueError(f"tag {self.name}: a writable tag needs a safe_value")
        if self.safe_value is not None and not (self.low <= self.safe_value <= self.high):
            raise ValueError(f"tag {self.name}: safe_value {self.safe_value} outside limits")
        if self.data_type is DataType.BOOL and (self.low, self.high) != (0.0, 1.0):
            raise ValueError(f"tag {self.name}: a bool tag has limits 0..1")

    @property
    def writable(self) -> bool:
        return self.direction.writable

    def check_write(self, value: float, device: str = "") -> float:
        """Return ``value`` as float if it may be written, else raise with a reason.
        (Runs for every write of every scan: the valid path does no string work.)"""
        number = float(value)
        if (self.direction is Direction.SETPOINT or self.direction is Direction.COMMAND) \
                and self.low <= number <= self.high \
                and (self.data_type is not DataType.BOOL or number == 0.0 or number == 1.0):
            return number  # NaN fails the range test and lands below
        where = f"{device}.{self.name}" if device else self.name
        if not self.writable:
            raise TagDirectionError(f"{where} is {self.direction.value}, not writable")
        if number != number:
            raise TagLimitError(f"{where}: NaN is not a value")
        if not (self.low <= number <= self.high):
            raise TagLimitError(
                f"{where}: {number:g} {self.unit} outside limits {self.low:g}..{self.high:g} {self.unit}"
            )
        raise TagLimitError(f"{where}: a bool tag takes 0 or 1, not {number:g}")


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """A device type: its tags in a fixed order (the order fixes the Modbus layout).

    ``opcua_type`` names the companion-specification interface the device follows
    (OPC 40084 names where one fits; casting-line devices have no companion spec and
    map onto the nearest pattern, see PROTOCOLS.md).
    """

    kind: str
    description: str
    opcua_type: str
    tags: tuple[Tag, ...]
    _by_name: dict[str, Tag] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, Tag] = {}
        for tag in self.tags:
            if tag.name in by_name:
                raise ValueError(f"profile {self.kind}: duplicate tag {tag.name}")
            by_name[tag.name] = tag
        object.__setattr__(self, "_by_name", by_name)

    def tag(self, name: str) -> Tag:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self._by_name)
            raise KeyError(f"device type {self.kind} has no tag {name!r} (tags: {known})") from None

    def has_tag(self, name: str) -> bool:
        return name in self._by_name

    @property
    def outputs(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if t.writable)

    @property
    def inputs(self) -> tuple[Tag, ...]:
        return tuple(t for t in self.tags if not t.writable)

    def safe_values(self) -> dict[str, float]:
        return {t.name: t.safe_value for t in self.tags if t.safe_value is not None}


def measured(
    name: str, unit: str, low: float, high: float, description: str, opcua_path: str, *, noise: float = 0.0,
    noise_of_reading: float = 0.0,
) -> Tag:
    return Tag(name, unit, Direction.MEASURED, low, high, description, opcua_path, noise=noise,
               noise_of_reading=noise_of_reading)


def derived(name: str, unit: str, low: float, high: float, description: str) -> Tag:
    """A tag computed by a soft sensor (declared on a line with ``drivers.definition.DerivedTag``)."""
    return Tag(name, unit, Direction.DERIVED, low, high, description, opcua_path="")


def status(name: str, description: str, opcua_path: str) -> Tag:
    return Tag(name, "", Direction.STATUS, 0.0, 1.0, description, opcua_path, DataType.BOOL)


def setpoint(
    name: str,
    unit: str,
    low: float,
    high: float,
    description: str,
    opcua_path: str,
    *,
    safe_value: float,
    hold_action: HoldAction = HoldAction.KEEP,
) -> Tag:
    return Tag(
        name, unit, Direction.SETPOINT, low, high, description, opcua_path,
        safe_value=safe_value, hold_action=hold_action,
    )


def command(
    name: str,
    description: str,
    opcua_path: str,
    *,
    safe_value: float = 0.0,
    hold_action: HoldAction = HoldAction.KEEP,
) -> Tag:
    return Tag(
        name, "", Direction.COMMAND, 0.0, 1.0, description, opcua_path, DataType.BOOL,
        safe_value=safe_value, hold_action=hold_action,
    )
