"""Plant configuration: which transport and endpoint each device of the line uses.

A plant file (YAML) lists endpoints; each endpoint names its transport and the devices the
controller reaches through it. Every device of the line must be on exactly one endpoint;
Modbus and OPC UA endpoints can be mixed on one line::

    line: casting                      # optional: the line kind the file is for
    interlocks:                        # optional: the plant's own trip settings
      melt_overpressure_trip_bar: 320  # foaming line (default 350 bar)
    endpoints:
      - name: plc-1
        transport: modbus
        host: 127.0.0.1
        port: 5020
        unit_id: 1                     # default 1
        word_order: big                # big = ABCD (default), little = CDAB
        map_devices: line              # see "Modbus register map" below
        devices: [dope_vessel_1, dope_pump_1]   # or: all
      - name: ua-1
        transport: opcua
        url: opc.tcp://127.0.0.1:4840/poreline/
        devices: [casting_knife, support_belt]

Modbus register map (must be planned identically on both sides)
    The register map of a Modbus endpoint is planned by ``drivers.modbus.map.plan_line_map``
    from a device list, ALWAYS in the line's device order (the order in the plant file does
    not matter), heartbeat at address 0, packed. ``map_devices`` says which devices the
    PLC's map holds:

    - ``devices`` (default): only the devices listed for this endpoint -- a PLC programmed
      with exactly these devices;
    - ``line``: every device of the line -- what ``poreline sim serve`` serves by default
      (all devices on both protocols), so a plant file that uses the served simulator's
      Modbus port for only some devices must say ``line``;
    - a list of device names: a PLC whose map holds those devices (the endpoint's devices
      must be among them).

    The controller then reads and writes only the endpoint's ``devices`` at the addresses
    of that map (``poreline profiles`` prints them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from controller.lines import LineKind, kind_named
from controller.recipe.control import LineControl
from drivers.clock import Clock
from drivers.definition import LineDefinition
from drivers.line import Line
from drivers.modbus.client import ModbusEndpoint, ModbusTransport
from drivers.modbus.map import MAX_READ_REGISTERS, ModbusMap, WordOrder, _runs, plan_line_map
from drivers.opcua.client import OpcUaTransport
from drivers.transport import Transport

TRANSPORTS = ("modbus", "opcua")


class PlantConfigError(ValueError):
    """A plant file that cannot be used; the message names the file and every problem."""


class _Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    devices: list[str] | Literal["all"]

    @field_validator("devices")
    @classmethod
    def _not_empty(cls, value: list[str] | str) -> list[str] | str:
        if isinstance(value, list) and not value:
            raise ValueError("an endpoint needs at least one device")
        return value


class ModbusEndpointConfig(_Endpoint):
    transport: Literal["modbus"]
    host: str = "127.0.0.1"
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=1, le=247)
    word_order: WordOrder = WordOrder.BIG
    map_devices: list[str] | Literal["devices", "line"] = "devices"
    timeout_s: float = Field(default=0.3, gt=0)


class OpcUaEndpointConfig(_Endpoint):
    transport: Literal["opcua"]
    url: str = Field(pattern=r"^opc\.tcp://")
    timeout_s: float = Field(default=1.0, gt=0)


EndpointConfig = Annotated[ModbusEndpointConfig | OpcUaEndpointConfig, Field(discriminator="transport")]


class PlantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line: str | None = None
    # Trip settings that belong to the plant (its rupture discs, pump ratings), not to a
    # recipe; each line kind says which it takes (``LineKind.plant_settings``); unset means
    # the kind's default.
    interlocks: dict[str, float] = Field(default_factory=dict)
    endpoints: list[EndpointConfig] = Field(min_length=1)


def plant_settings(config: PlantConfig, kind: LineKind, source: str = "plant file") -> BaseModel:
    """The plant file's ``interlocks:`` validated for ``kind``; PlantConfigError naming the field."""
    known = list(kind.plant_settings.model_fields)
    for key in config.interlocks:
        if key not in known:
            raise PlantConfigError(f"{source}: interlocks: a {kind.name} line has no setting {key!r} "
                                   f"(settings: {', '.join(known) or 'none'})")
    try:
        return kind.settings(config.interlocks)
    except ValidationError as exc:
        lines = [f"interlocks.{_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise PlantConfigError(f"{source}: " + "; ".join(lines)) from None


def plant_line_control(config: PlantConfig, kind: LineKind, definition: LineDefinition,
                       source: str = "plant file") -> LineControl:
    """The controller configuration of ``definition`` with the plant file's interlock settings."""
    mismatch = _line_kind_mismatch(config, definition)
    if mismatch:
        raise PlantConfigError(f"{source}: {mismatch}")
    try:
        return kind.control(definition, plant_settings(config, kind, source))
    except ValueError as exc:
        if isinstance(exc, PlantConfigError):
            raise
        raise PlantConfigError(f"{source}: interlocks: {exc}") from None


def parse_plant_config(text: str, source: str = "plant file") -> PlantConfig:
    """Parse and shape-check a plant file; raises PlantConfigError with every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlantConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PlantConfigError(f"{source}: expected a mapping with 'endpoints'")
    problems: list[str] = []
    for index, endpoint in enumerate(data.get("endpoints") or []):
        if isinstance(endpoint, dict) and endpoint.get("transport") not in TRANSPORTS:
            problems.append(f"endpoints[{index}] ({endpoint.get('name', '?')}): unknown transport "
                            f"{endpoint.get('transport')!r} (known: {', '.join(TRANSPORTS)})")
    if problems:
        raise PlantConfigError(f"{source}: " + "; ".join(problems))
    try:
        config = PlantConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise PlantConfigError(f"{source}: " + "; ".join(lines)) from None
    if config.line is not None:
        try:
            kind = kind_named(config.line)
        except ValueError as exc:
            raise PlantConfigError(f"{source}: line: {exc}") from None
        plant_settings(config, kind, source)
    return config


def load_plant_config(path: Path | str) -> PlantConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlantConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_plant_config(text, str(path))


def assignments(config: PlantConfig, definition: LineDefinition, source: str = "plant file") -> dict[str, str]:
    """device -> endpoint name; raises PlantConfigError for unknown, duplicate or
    unassigned devices, a wrong line kind, or a Modbus map not holding its devices."""
    problems: list[str] = []
    mismatch = _line_kind_mismatch(config, definition)
    if mismatch:
        problems.append(mismatch)
    known = [d.name for d in definition.devices]
    owner: dict[str, str] = {}
    names = [e.name for e in config.endpoints]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"endpoint name {name!r} used twice")
    for endpoint in config.endpoints:
        devices = known if endpoint.devices == "all" else endpoint.devices
        for device in devices:
            if device not in known:
                problems.append(f"endpoint {endpoint.name}: unknown device {device!r} "
                                f"(line {definition.name} has: {', '.join(known)})")
            elif device in owner:
                problems.append(f"device {device} assigned twice ({owner[device]} and {endpoint.name})")
            else:
                owner[device] = endpoint.name
        if isinstance(endpoint, ModbusEndpointConfig) and isinstance(endpoint.map_devices, list):
            for device in endpoint.map_devices:
                if device not in known:
                    problems.append(f"endpoint {endpoint.name}: map_devices: unknown device {device!r}")
            outside = [d for d in devices if d in known and d not in endpoint.map_devices]
            if outside:
                problems.append(f"endpoint {endpoint.name}: devices not in its map_devices: {', '.join(outside)}")
    unassigned = [d for d in known if d not in owner]
    if unassigned:
        problems.append(f"device(s) not assigned to any endpoint: {', '.join(unassigned)}")
    if problems:
        raise PlantConfigError(f"{source}: " + "; ".join(problems))
    return owner


def endpoint_modbus_map(endpoint: ModbusEndpointConfig, definition: LineDefinition) -> ModbusMap:
    """The map the PLC serves (planned from ``map_devices`` in line order), cut down to the
    endpoint's devices at the same addresses (the heartbeat is always kept)."""
    used = _used_devices(endpoint, definition)
    if endpoint.map_devices == "devices":
        held: Sequence[str] = used
    elif endpoint.map_devices == "line":
        held = [d.name for d in definition.devices]
    else:
        held = endpoint.map_devices
    full = plan_line_map(definition, list(held), unit_id=endpoint.unit_id, word_order=endpoint.word_order)
    if set(full.devices) == set(used):
        return full
    entries = tuple(e for e in full.entries if e.device == "" or e.device in used)
    blocks = _runs([e for e in entries if e.is_span], MAX_READ_REGISTERS)
    devices = tuple(d for d in full.devices if d in used)
    return ModbusMap(full.unit_id, full.word_order, devices, entries, blocks, full.max_write_registers)


def build_transports(config: PlantConfig, definition: LineDefinition, clock: Clock,
                     source: str = "plant file") -> list[Transport]:
    assignments(config, definition, source)
    transports: list[Transport] = []
    for endpoint in config.endpoints:
        if isinstance(endpoint, ModbusEndpointConfig):
            modbus_map = endpoint_modbus_map(endpoint, definition)
            transports.append(ModbusTransport([ModbusEndpoint(endpoint.host, endpoint.port, modbus_map)],
                                              clock, timeout_s=endpoint.timeout_s))
        else:
            transports.append(OpcUaTransport(endpoint.url, definition, _used_devices(endpoint, definition),
                                             clock=clock, timeout_s=endpoint.timeout_s))
    return transports


def build_hardware_line(plant_file: Path | str, definition: LineDefinition, clock: Clock) -> Line:
    """The Line for ``definition`` with each device on the transport the plant file gives it
    (not connected yet: the engine connects it before its first scan). Call it inside the
    event loop that will run the engine: pymodbus clients bind to the running loop."""
    config = load_plant_config(plant_file)
    return Line(definition, build_transports(config, definition, clock, str(plant_file)))


def _line_kind_mismatch(config: PlantConfig, definition: LineDefinition) -> str:
    if config.line is not None and config.line != definition.kind:
        return f"file is for line {config.line!r}, the recipe is for {definition.kind!r}"
    return ""


def _used_devices(endpoint: ModbusEndpointConfig | OpcUaEndpointConfig,
                  definition: LineDefinition) -> tuple[str, ...]:
    """The endpoint's devices in the line's order."""
    chosen = {d.name for d in definition.devices} if endpoint.devices == "all" else set(endpoint.devices)
    return tuple(d.name for d in definition.devices if d.name in chosen)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in TRANSPORTS:  # the discriminated union's branch name adds nothing
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "file"
