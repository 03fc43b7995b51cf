"""Device-level code shared by the controller and the simulator: device profiles (every tag
declared once), line definitions, injected clocks, and the transports that reach devices
(in-process simulator, ``drivers.modbus``, ``drivers.opcua``)."""

from drivers.clock import Clock, VirtualClock, WallClock
from drivers.definition import DerivedTag, DeviceSpec, LineDefinition
from drivers.line import Line
from drivers.profiles import (
    DataType,
    DeviceProfile,
    Direction,
    HoldAction,
    Tag,
    TagDirectionError,
    TagLimitError,
    command,
    derived,
    measured,
    setpoint,
    status,
)
from drivers.sim_transport import PlantPort, SimTransport
from drivers.transport import DeviceReading, Quality, Transport, TransportError

__all__ = [
    "Clock",
    "DataType",
    "DerivedTag",
    "DeviceProfile",
    "DeviceReading",
    "DeviceSpec",
    "Direction",
    "HoldAction",
    "Line",
    "LineDefinition",
    "PlantPort",
    "Quality",
    "SimTransport",
    "Tag",
    "TagDirectionError",
    "TagLimitError",
    "Transport",
    "TransportError",
    "VirtualClock",
    "WallClock",
    "command",
    "derived",
    "measured",
    "setpoint",
    "status",
]
