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

OPC UA security (per endpoint; docs/opcua-security.md)::

      - name: ua-1
        transport: opcua
        url: opc.tcp://10.0.4.21:4840/
        devices: all
        security:
          policy: Basic256Sha256        # default; or Aes128_Sha256_RsaOaep, Aes256_Sha256_RsaPss, None
          mode: SignAndEncrypt          # default; or Sign
          user: poreline                # optional; then exactly one of:
          password_env: PORELINE_UA_PASSWORD      #   the password from this environment variable
          # password_file: /etc/poreline/ua.password  #   or from this file (first line)
          server_certificate_sha256: "3F:A2:...:9C"  # the server certificate's pin, or
          # trust_dir: /etc/poreline/opcua/trusted   # a directory of trusted server/CA certificates
          # client_certificate: /etc/poreline/opcua/client.der   # optional, with client_private_key;
          # client_private_key: /etc/poreline/opcua/client.pem   # else a self-signed pair is generated

    A password is never written in the plant file. Without a ``security:`` block (or with
    ``policy: None``) the endpoint is plain OPC UA, accepted only for a loopback address
    (127.0.0.0/8, ::1, localhost) unless the endpoint says ``insecure: true``. Relative paths
    are relative to the plant file's directory. The shape is checked when the file is parsed;
    the environment variable, the files and the trust list when it is loaded (and again when
    the line is built), each error naming its field in one line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from controller.lines import LineKind, kind_named
from controller.recipe.control import LineControl
from drivers.clock import Clock
from drivers.definition import LineDefinition
from drivers.line import Line
from drivers.modbus.client import ModbusEndpoint, ModbusTransport
from drivers.modbus.map import MAX_READ_REGISTERS, ModbusMap, WordOrder, _runs, plan_line_map
from drivers.opcua.security import (
    CertificateError,
    CertificatePair,
    PasswordFileError,
    SecurityMode,
    SecurityPolicy,
    is_loopback_url,
    load_certificate_pair,
    normalize_fingerprint,
    read_certificate,
    read_password_file,
    trust_dir_certificates,
    url_host,
)
from drivers.transport import Transport

if TYPE_CHECKING:  # the OPC UA client (and asyncua) load only for a plant file with an OPC UA endpoint
    from drivers.opcua.client import ClientSecurity

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


class OpcUaSecurityConfig(BaseModel):
    """An OPC UA endpoint's ``security:`` block (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    policy: SecurityPolicy = SecurityPolicy.BASIC256SHA256
    mode: SecurityMode | None = None  # SignAndEncrypt unless the policy is None
    user: str | None = Field(default=None, min_length=1)
    password_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    password_file: Path | None = None
    server_certificate_sha256: str | None = None
    trust_dir: Path | None = None
    client_certificate: Path | None = None
    client_private_key: Path | None = None


class OpcUaEndpointConfig(_Endpoint):
    transport: Literal["opcua"]
    url: str = Field(pattern=r"^opc\.tcp://")
    timeout_s: float = Field(default=1.0, gt=0)
    security: OpcUaSecurityConfig | None = None
    insecure: bool = False  # allow policy None to a non-loopback address


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


def parse_plant_config(text: str, source: str = "plant file", base_dir: Path | None = None) -> PlantConfig:
    """Parse and shape-check a plant file; raises PlantConfigError with every problem.
    Relative paths in ``security:`` blocks are made relative to ``base_dir`` when given
    (else they stay relative to the working directory)."""
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
        if isinstance(endpoint, dict) and isinstance(endpoint.get("security"), dict) \
                and "password" in endpoint["security"]:
            problems.append(f"endpoints[{index}] ({endpoint.get('name', '?')}): security.password: a password is "
                            "never written in a plant file; use password_env: NAME or password_file: PATH")
    if problems:
        raise PlantConfigError(f"{source}: " + "; ".join(problems))
    try:
        config = PlantConfig.model_validate(data)
    except ValidationError as exc:
        lines = [f"{_location(e['loc'])}: {e['msg']}{_got(e)}" for e in exc.errors()]
        raise PlantConfigError(f"{source}: " + "; ".join(lines)) from None
    problems = [p for i, e in enumerate(config.endpoints) if isinstance(e, OpcUaEndpointConfig)
                for p in _security_shape_problems(i, e)]
    if problems:
        raise PlantConfigError(f"{source}: " + "; ".join(problems))
    if base_dir is not None:
        _resolve_relative_paths(config, base_dir)
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
    config = parse_plant_config(text, str(path), path.resolve().parent)
    for index, endpoint in enumerate(config.endpoints):
        if isinstance(endpoint, OpcUaEndpointConfig):
            opcua_client_security(endpoint, index, str(path))  # secrets and certificates are there
    return config


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
    for index, endpoint in enumerate(config.endpoints):
        if isinstance(endpoint, ModbusEndpointConfig):
            modbus_map = endpoint_modbus_map(endpoint, definition)
            transports.append(ModbusTransport([ModbusEndpoint(endpoint.host, endpoint.port, modbus_map)],
                                              clock, timeout_s=endpoint.timeout_s))
        else:
            from drivers.opcua.client import OpcUaTransport

            transports.append(OpcUaTransport(endpoint.url, definition, _used_devices(endpoint, definition),
                                             clock=clock, timeout_s=endpoint.timeout_s,
                                             security=opcua_client_security(endpoint, index, source)))
    return transports


def build_hardware_line(plant_file: Path | str, definition: LineDefinition, clock: Clock) -> Line:
    """The Line for ``definition`` with each device on the transport the plant file gives it
    (not connected yet: the engine connects it before its first scan). Call it inside the
    event loop that will run the engine: pymodbus clients bind to the running loop."""
    config = load_plant_config(plant_file)
    return Line(definition, build_transports(config, definition, clock, str(plant_file)))


def opcua_client_security(endpoint: OpcUaEndpointConfig, index: int, source: str = "plant file") -> ClientSecurity:
    """The endpoint's ClientSecurity, with the password read from its environment variable
    or file and the certificates read; PlantConfigError naming the field otherwise. The
    password never appears in an error."""
    from drivers.opcua.client import ClientSecurity

    where = f"{source}: endpoints[{index}] ({endpoint.name})"
    security = endpoint.security
    if security is None or security.policy is SecurityPolicy.NONE:
        return ClientSecurity(insecure=endpoint.insecure)
    password: str | None = None
    if security.password_env is not None:
        password = os.environ.get(security.password_env)
        if not password:
            raise PlantConfigError(f"{where}: security.password_env: the environment variable "
                                   f"{security.password_env} is not set or empty")
    if security.password_file is not None:
        password = _read_password_file(security.password_file, f"{where}: security.password_file")
    certificate: CertificatePair | None = None
    if security.client_certificate is not None and security.client_private_key is not None:
        try:
            read_certificate(security.client_certificate)
        except CertificateError as exc:
            raise PlantConfigError(f"{where}: security.client_certificate: {exc}") from None
        try:
            certificate = load_certificate_pair(security.client_certificate, security.client_private_key)
        except CertificateError as exc:
            raise PlantConfigError(f"{where}: security.client_private_key: {exc}") from None
    if security.trust_dir is not None:
        _check_trust_dir(security.trust_dir, f"{where}: security.trust_dir")
    try:
        return ClientSecurity(
            policy=security.policy,
            mode=security.mode or SecurityMode.SIGN_AND_ENCRYPT,
            username=security.user,
            password=password,
            certificate=certificate,
            server_certificate_sha256=security.server_certificate_sha256 or "",
            trust_dir=security.trust_dir,
        )
    except ValueError as exc:  # the shape checks make this unreachable; kept one line anyway
        raise PlantConfigError(f"{where}: security: {exc}") from None


def _security_shape_problems(index: int, endpoint: OpcUaEndpointConfig) -> list[str]:
    """What is wrong with an OPC UA endpoint's security, from the file alone (no I/O)."""
    where = f"endpoints[{index}] ({endpoint.name})"
    security = endpoint.security
    policy = security.policy if security is not None else SecurityPolicy.NONE
    problems: list[str] = []
    if policy is SecurityPolicy.NONE:
        if not endpoint.insecure and not is_loopback_url(endpoint.url):
            problems.append(f"{where}: security.policy: None to {url_host(endpoint.url)} (not a loopback address) is "
                            "refused: give a security: block with a policy such as Basic256Sha256, or set insecure: true")
        if security is not None:
            if security.user is not None:
                problems.append(f"{where}: security.user: policy None would send the password in clear")
            unused = [name for name in ("mode", "password_env", "password_file", "server_certificate_sha256",
                                        "trust_dir", "client_certificate", "client_private_key")
                      if getattr(security, name) is not None]
            problems += [f"{where}: security.{name}: has no use with policy None" for name in unused]
        return problems
    assert security is not None
    if endpoint.insecure:
        problems.append(f"{where}: insecure: applies to policy None only (this endpoint uses {policy})")
    pin, trust_dir = security.server_certificate_sha256, security.trust_dir
    if pin is None and trust_dir is None:
        problems.append(f"{where}: security.server_certificate_sha256: pin the server certificate (or give "
                        "security.trust_dir): a certificate is never trusted because the server presents it")
    elif pin is not None and trust_dir is not None:
        problems.append(f"{where}: security.trust_dir: give server_certificate_sha256 or trust_dir, not both")
    elif pin is not None:
        try:
            normalize_fingerprint(pin)
        except ValueError as exc:
            problems.append(f"{where}: security.server_certificate_sha256: {exc}")
    has_password = [name for name in ("password_env", "password_file") if getattr(security, name) is not None]
    if security.user is not None and not has_password:
        problems.append(f"{where}: security.user: needs password_env or password_file")
    elif len(has_password) == 2:
        problems.append(f"{where}: security.password_file: give password_env or password_file, not both")
    elif has_password and security.user is None:
        problems.append(f"{where}: security.{has_password[0]}: needs security.user")
    if (security.client_certificate is None) != (security.client_private_key is None):
        missing = "client_private_key" if security.client_private_key is None else "client_certificate"
        problems.append(f"{where}: security.{missing}: client_certificate and client_private_key go together")
    return problems


def _got(error: ErrorDetails) -> str:
    """`` (got 'X')`` for a wrong choice (policy, mode, transport...): the value is a short
    name, never a secret."""
    value = error.get("input")
    if error["type"] in ("enum", "literal_error") and isinstance(value, str) and len(value) <= 40:
        return f" (got {value!r})"
    return ""


def _resolve_relative_paths(config: PlantConfig, base_dir: Path) -> None:
    for endpoint in config.endpoints:
        security = endpoint.security if isinstance(endpoint, OpcUaEndpointConfig) else None
        if security is None:
            continue
        for name in ("password_file", "trust_dir", "client_certificate", "client_private_key"):
            value = getattr(security, name)
            if value is not None and not value.is_absolute():
                setattr(security, name, (base_dir / value).resolve())


def _read_password_file(path: Path, where: str) -> str:
    try:
        return read_password_file(path)
    except PasswordFileError as exc:
        raise PlantConfigError(f"{where}: {exc}") from None


def _check_trust_dir(trust_dir: Path, where: str) -> None:
    if not trust_dir.is_dir():
        raise PlantConfigError(f"{where}: {trust_dir} is not a directory")
    files = trust_dir_certificates(trust_dir)
    if not files:
        raise PlantConfigError(f"{where}: {trust_dir} holds no .der or .pem certificate")
    for file in files:
        try:
            read_certificate(file)
        except CertificateError as exc:
            raise PlantConfigError(f"{where}: {exc}") from None


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
