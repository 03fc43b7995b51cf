"""The simulated plant served as an OPC UA server (hardware-in-the-loop).

The address space is built from the device profiles through ``drivers.opcua.map`` (node
ids, browse names, variant types are never written here):

    Objects/
      Machines/                               folder
        <device>/                             object, description = profile description
          TemperatureZones/                   object (one per path component)
            TemperatureZone_001/              object
              ActualValue                     variable (Float, read-only)
              Output                          variable (Float, writable: a setpoint)
      Controller/                             object
        Heartbeat                             variable (UInt32, writable)
        WatchdogTripped                       variable (Boolean, read-only)
        WatchdogTripCount                     variable (UInt32, read-only)

Every tag variable has its description, an ``EngineeringUnits`` property (EUInformation
with the profile's unit as display name) and an ``EURange`` property (the tag's limits).

Values: :meth:`OpcUaPlantServer.publish` copies ``plant.read_device()`` into the nodes with
the server-side ``write_attribute_value`` (the fast path). Client writes reach the plant
through the server's PreWrite/PostWrite callbacks, which asyncua 2.1 dispatches for
writes arriving over the wire only (never for the server's own ``publish``):

- PreWrite checks every value of the request against its tag (``Tag.check_write``, the
  same rule ``drivers.line.Line`` applies); one value outside limits refuses the whole
  request with the service result ``BadOutOfRange`` and nothing is written, neither to
  the node nor to the plant (all-or-nothing, as ``Line.write_many``).
- PostWrite applies the values whose write succeeded (right variant type, writable node)
  to the plant with ``plant.write_device``, one call per device.

A write to a read-only node is refused per node by asyncua's AccessLevel check
(``BadUserAccessDenied``); a wrong variant type per node with ``BadTypeMismatch``.

Security and who may write
    Without :class:`ServerSecurity` the only endpoint is SecurityPolicy None with anonymous
    sessions (a bench on loopback). With it, the only endpoint is Basic256Sha256
    SignAndEncrypt with the server's certificate (given, or generated once per server
    object, application URI in the SubjectAltName), username/password sessions checked
    against a dict of users, and client application certificates checked against a set of
    DER certificates and/or a trust-list directory (or, for a test bench, any client
    certificate when ``trust_any_client``). The built-in remote admin is always off.

    Anonymous sessions get the role ``Anonymous``, and a permission ruleset lets that role
    read, browse and subscribe but not Write or Call: an anonymous write is refused as a
    whole with ``BadUserAccessDenied`` and reaches neither the node nor the plant. With
    ``allow_anonymous_writes`` anonymous sessions get the role ``User`` (and, with
    security, the Anonymous token is offered next to UserName). Its default (None) allows
    anonymous writes without security -- the in-process test bench -- and refuses them with
    security; ``poreline sim serve`` always passes it explicitly (refused unless
    ``--allow-anonymous-writes``).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Node, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import USER_TYPES, SimpleRoleRuleset, User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from drivers.clock import Clock, WallClock
from drivers.definition import LineDefinition
from drivers.opcua.map import (
    CONTROLLER_OBJECT,
    HEARTBEAT_IDENTIFIER,
    HEARTBEAT_VARIABLE,
    HEARTBEAT_VARIANT_TYPE,
    MACHINES_FOLDER,
    NAMESPACE_URI,
    WATCHDOG_TRIP_COUNT_VARIABLE,
    WATCHDOG_TRIPPED_VARIABLE,
    TagNode,
    device_tag_nodes,
    from_variant_value,
    line_tag_nodes,
    node_identifier,
    to_variant_value,
)
from drivers.opcua.security import (
    CertificateError,
    CertificatePair,
    application_uri_of,
    make_self_signed_certificate,
    trusted_by_directory,
)
from drivers.profiles import TagDirectionError, TagLimitError
from drivers.sim_transport import PlantPort

_logger = logging.getLogger(__name__)

SERVER_APPLICATION_URI = "urn:poreline:simulator:opcua-server"
EU_NAMESPACE_URI = "http://www.opcfoundation.org/UA/units/un/cefact"


@dataclass(frozen=True, slots=True)
class ServerSecurity:
    """A production-like endpoint: Basic256Sha256 SignAndEncrypt + username/password.

    ``users`` maps user name to password (never in ``repr``). Client application
    certificates are accepted when they are among ``trusted_client_certificates`` (DER) or
    trusted by ``trust_dir`` (the certificate or its CA, DER or PEM files), or, for a test
    bench only, all of them with ``trust_any_client``. ``certificate`` is the server's own
    (generated when None).
    """

    users: Mapping[str, str] = field(repr=False)
    trusted_client_certificates: tuple[bytes, ...] = ()
    trust_dir: Path | None = None
    trust_any_client: bool = False
    certificate: CertificatePair | None = None

    def __post_init__(self) -> None:
        if not self.users:
            raise ValueError("a secured server needs at least one user")
        if any(not name or not password for name, password in self.users.items()):
            raise ValueError("every user needs a name and a non-empty password")
        trusts = bool(self.trusted_client_certificates) or self.trust_dir is not None
        if trusts == self.trust_any_client:
            raise ValueError("give trusted client certificates (or a trust directory), or trust_any_client -- one of them")


# Anonymous sessions may look (read, browse, subscribe) but not act (Write, Call).
_ACTING_REQUESTS = {
    ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary),
    ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary),
}


class PlantRoleRuleset(SimpleRoleRuleset):
    """asyncua's role rules, except that the Anonymous role may use every reading service."""

    def __init__(self) -> None:
        super().__init__()
        readable = {ua.NodeId(t) for t in USER_TYPES} - _ACTING_REQUESTS
        self._permission_dict[UserRole.Anonymous] = readable


class PlantUserManager(UserManager):
    """Username/password sessions checked against a dict; anonymous sessions get the role
    Anonymous (read-only under :class:`PlantRoleRuleset`) or, with ``anonymous_writes``,
    User. Only the user name of a refused login is logged."""

    def __init__(self, users: Mapping[str, str], *, anonymous_writes: bool) -> None:
        self._users = dict(users)
        self._anonymous_writes = anonymous_writes

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if username is None and password is None:
            return User(role=UserRole.User if self._anonymous_writes else UserRole.Anonymous, name=None)
        if username is None or password is None:
            return None
        expected = self._users.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            _logger.warning("OPC UA session refused for user %r", username)
            return None
        return User(role=UserRole.User, name=username)


class OpcUaPlantServer:
    """Serves the devices of a PlantPort over OPC UA on ``opc.tcp://<host>:<port>/poreline/``.

    ``start()`` builds a fresh asyncua server each time, so a stopped server can be
    started again on the same port. ``clock`` times the heartbeat.
    """

    def __init__(
        self,
        plant: PlantPort,
        line: LineDefinition,
        *,
        port: int,
        host: str = "127.0.0.1",
        devices: tuple[str, ...] | None = None,
        clock: Clock | None = None,
        security: ServerSecurity | None = None,
        allow_anonymous_writes: bool | None = None,
    ) -> None:
        self._plant = plant
        self._line = line
        self._port = port
        self._host = host
        self._devices = devices if devices is not None else tuple(d.name for d in line.devices)
        self._clock: Clock = clock if clock is not None else WallClock()
        self._security = security
        self._anonymous_writes = security is None if allow_anonymous_writes is None else allow_anonymous_writes
        self._certificate: CertificatePair | None = security.certificate if security is not None else None
        line_tag_nodes(line)  # raises early for a line whose tags would collide
        self._nodes: tuple[TagNode, ...] = tuple(
            node for device in self._devices for node in device_tag_nodes(line, device)
        )
        self._server: Server | None = None
        self._namespace_index = 0
        self._node_ids: dict[str, ua.NodeId] = {}  # identifier -> NodeId
        self._writable: dict[ua.NodeId, TagNode] = {}
        self._heartbeat_node_id: ua.NodeId | None = None
        self._certificate_der = b""
        self._heartbeat_value: int | None = None
        self._heartbeat_changed_s = 0.0
        self._watchdog: tuple[bool, int] = (False, 0)  # tripped, trip count (set by the runner)
        self._watchdog_node_ids: tuple[ua.NodeId, ua.NodeId] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def endpoint(self) -> str:
        return f"opc.tcp://{self._host}:{self._port}/poreline/"

    @property
    def devices(self) -> tuple[str, ...]:
        return self._devices

    @property
    def namespace_index(self) -> int:
        return self._namespace_index

    @property
    def certificate_der(self) -> bytes:
        """The server's application certificate (empty without security)."""
        return self._certificate_der

    @property
    def anonymous_writes(self) -> bool:
        return self._anonymous_writes

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def heartbeat(self) -> int | None:
        """The last heartbeat counter a client wrote, or None."""
        return self._heartbeat_value

    def heartbeat_age_s(self, now_s: float) -> float:
        """Seconds (on the server's clock) since the heartbeat counter last changed, or
        since ``start()`` when no client has written one yet."""
        return max(0.0, now_s - self._heartbeat_changed_s)

    def node_id(self, identifier: str) -> ua.NodeId:
        """The NodeId of a node built by this server, by its string identifier."""
        return self._node_ids[identifier]

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("server already started")
        users = self._security.users if self._security is not None else {}
        server = Server(user_manager=PlantUserManager(users, anonymous_writes=self._anonymous_writes))
        await server.init()
        try:
            await self._configure(server)
            await self._build_address_space(server)
            server.subscribe_server_callback(CallbackType.PreWrite, self._pre_write)
            server.subscribe_server_callback(CallbackType.PostWrite, self._post_write)
            await self._publish_to(server)
            self._heartbeat_value = None
            self._heartbeat_changed_s = self._clock.now_s()
            await server.start()
        except BaseException:
            await _stop_quietly(server)
            raise
        self._server = server

    async def stop(self) -> None:
        """Close every session and the listening socket (the port is free afterwards)."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def __aenter__(self) -> OpcUaPlantServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _configure(self, server: Server) -> None:
        server.set_endpoint(self.endpoint)
        server.set_server_name("Poreline plant simulator")
        server.allow_remote_admin(False)
        security = self._security
        if security is None:
            await server.set_application_uri(SERVER_APPLICATION_URI)
            server.set_security_policy([ua.SecurityPolicyType.NoSecurity], permission_ruleset=PlantRoleRuleset())
            server.set_identity_tokens([ua.AnonymousIdentityToken])
            return
        if self._certificate is None:  # generated once: the same certificate (and pin) across restarts
            self._certificate = make_self_signed_certificate(
                SERVER_APPLICATION_URI, "Poreline plant simulator", server=True
            )
        pair = self._certificate
        self._certificate_der = pair.certificate_der
        await server.set_application_uri(application_uri_of(pair.certificate_der) or SERVER_APPLICATION_URI)
        await server.load_certificate(pair.certificate_der, format="der")
        await server.load_private_key(pair.private_key_pem, format="pem")
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
                                   permission_ruleset=PlantRoleRuleset())
        tokens: list[type] = [ua.UserNameIdentityToken]
        if self._anonymous_writes:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        if security.trust_any_client:
            return
        trusted = frozenset(security.trusted_client_certificates)
        trust_dir = security.trust_dir

        async def validate(certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
            if certificate.public_bytes(Encoding.DER) in trusted:
                return
            if trust_dir is not None:
                try:
                    await trusted_by_directory(certificate, app.ApplicationUri or "", trust_dir, peer_is_server=False)
                    return
                except CertificateError as error:
                    _logger.warning("OPC UA client certificate refused: %s", error)
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

        server.set_certificate_validator(validate)

    async def _build_address_space(self, server: Server) -> None:
        idx = await server.register_namespace(NAMESPACE_URI)
        self._namespace_index = idx
        self._node_ids = {}
        self._writable = {}
        objects = server.nodes.objects
        machines = await objects.add_folder(self._new_id(MACHINES_FOLDER), ua.QualifiedName(MACHINES_FOLDER, idx))
        parents: dict[str, Node] = {}
        for device in self._devices:
            profile = self._line.device(device).profile
            device_node = await machines.add_object(self._new_id(device), ua.QualifiedName(device, idx))
            await _describe(device_node, f"{profile.description} (pattern: {profile.opcua_type})")
            parents[device] = device_node
        for node in self._nodes:
            parent = parents[node.device]
            components = node.browse_path[2:]
            for depth in range(1, len(components)):
                identifier = node_identifier(node.device, "/".join(components[:depth]))
                if identifier not in parents:
                    parents[identifier] = await parent.add_object(
                        self._new_id(identifier), ua.QualifiedName(components[depth - 1], idx)
                    )
                parent = parents[identifier]
            await self._add_tag_variable(parent, node)
        controller = await objects.add_object(self._new_id(CONTROLLER_OBJECT), ua.QualifiedName(CONTROLLER_OBJECT, idx))
        await _describe(controller, "The controller's side of the plant watchdog")
        heartbeat = await controller.add_variable(
            self._new_id(HEARTBEAT_IDENTIFIER),
            ua.QualifiedName(HEARTBEAT_VARIABLE, idx),
            0,
            varianttype=HEARTBEAT_VARIANT_TYPE,
        )
        await _describe(heartbeat, "Watchdog counter: the controller writes a changing value every scan")
        await heartbeat.set_writable()
        self._heartbeat_node_id = heartbeat.nodeid
        tripped = await controller.add_variable(
            self._new_id(f"{CONTROLLER_OBJECT}.{WATCHDOG_TRIPPED_VARIABLE}"),
            ua.QualifiedName(WATCHDOG_TRIPPED_VARIABLE, idx), self._watchdog[0], varianttype=ua.VariantType.Boolean)
        await _describe(tripped, "The plant's watchdog has tripped: no heartbeat change within its timeout, every "
                                 "output held at its safe value until the heartbeat changes again")
        count = await controller.add_variable(
            self._new_id(f"{CONTROLLER_OBJECT}.{WATCHDOG_TRIP_COUNT_VARIABLE}"),
            ua.QualifiedName(WATCHDOG_TRIP_COUNT_VARIABLE, idx), self._watchdog[1], varianttype=ua.VariantType.UInt32)
        await _describe(count, "How often the plant's watchdog has tripped since the plant was served")
        self._watchdog_node_ids = (tripped.nodeid, count.nodeid)

    def _new_id(self, identifier: str) -> ua.NodeId:
        if identifier in self._node_ids:
            raise ValueError(f"node {identifier} defined twice")
        node_id = ua.NodeId(identifier, self._namespace_index)
        self._node_ids[identifier] = node_id
        return node_id

    async def _add_tag_variable(self, parent: Node, node: TagNode) -> None:
        idx = self._namespace_index
        tag = node.tag
        initial = to_variant_value(node, tag.safe_value if tag.safe_value is not None else tag.low)
        variable = await parent.add_variable(
            self._new_id(node.identifier),
            ua.QualifiedName(node.browse_path[-1], idx),
            initial,
            varianttype=node.variant_type,
        )
        limits = f"{tag.low:g}..{tag.high:g} {tag.unit}".rstrip()
        await _describe(variable, f"{tag.description} [{tag.direction.value}, {limits}]")
        if tag.unit:
            units = ua.EUInformation(
                NamespaceUri=EU_NAMESPACE_URI, UnitId=-1, DisplayName=ua.LocalizedText(tag.unit),
                Description=ua.LocalizedText(tag.unit),
            )
            await variable.add_property(
                ua.NodeId(f"{node.identifier}.EngineeringUnits", idx),
                ua.QualifiedName("EngineeringUnits", 0),
                units,
                varianttype=ua.VariantType.ExtensionObject,
                datatype=ua.ObjectIds.EUInformation,
            )
            await variable.add_property(
                ua.NodeId(f"{node.identifier}.EURange", idx),
                ua.QualifiedName("EURange", 0),
                ua.Range(Low=tag.low, High=tag.high),
                varianttype=ua.VariantType.ExtensionObject,
                datatype=ua.ObjectIds.Range,
            )
        if tag.writable:
            await variable.set_writable()
            self._writable[variable.nodeid] = node

    # ------------------------------------------------------------------ values
    async def publish(self) -> None:
        """Copy the plant's current values into the nodes (tags the plant does not report
        keep their previous value)."""
        if self._server is None:
            raise RuntimeError("server not started")
        await self._publish_to(self._server)

    def set_watchdog(self, tripped: bool, trip_count: int) -> None:
        """The runner's watchdog state, shown from the next publish."""
        self._watchdog = (tripped, trip_count)

    async def _publish_to(self, server: Server) -> None:
        now = datetime.now(UTC)
        idx = self._namespace_index
        if self._watchdog_node_ids is not None:
            for node_id, value, variant_type in zip(self._watchdog_node_ids, self._watchdog,
                                                   (ua.VariantType.Boolean, ua.VariantType.UInt32), strict=True):
                await server.write_attribute_value(
                    node_id, ua.DataValue(ua.Variant(value, variant_type), SourceTimestamp=now, ServerTimestamp=now))
        for device in self._devices:
            values = self._plant.read_device(device)
            for node in self._nodes:
                if node.device != device or node.tag.name not in values:
                    continue
                variant = ua.Variant(to_variant_value(node, values[node.tag.name]), node.variant_type)
                await server.write_attribute_value(
                    node.node_id(idx), ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)
                )

    async def publish_forever(self, clock: Clock, period_s: float) -> None:
        """Advance the plant to the clock and publish every ``period_s`` until cancelled."""
        next_s = clock.now_s()
        while True:
            self._plant.advance_to(clock.now_s())
            await self.publish()
            next_s += period_s
            await clock.sleep_until(next_s)

    # ------------------------------------------------------------------ client writes
    async def _pre_write(self, event: ServerItemCallback, _dispatcher: object) -> None:
        if not event.is_external:
            return
        params: ua.WriteParameters = event.request_params
        for write in params.NodesToWrite:
            node = self._writable.get(write.NodeId)
            if node is None or write.AttributeId != ua.AttributeIds.Value:
                continue  # not ours, or read-only: asyncua's own checks answer per node
            value = _written_value(write, node)
            if value is None:
                continue  # wrong variant type: refused per node with BadTypeMismatch
            try:
                node.tag.check_write(value, node.device)
            except (TagLimitError, TagDirectionError) as error:
                _logger.warning("OPC UA write refused: %s", error)
                raise ServiceError(ua.StatusCodes.BadOutOfRange) from error

    async def _post_write(self, event: ServerItemCallback, _dispatcher: object) -> None:
        if not event.is_external:
            return
        params: ua.WriteParameters = event.request_params
        results: list[ua.StatusCode] = event.response_params
        changes: dict[str, dict[str, float]] = {}
        for write, status in zip(params.NodesToWrite, results, strict=True):
            if not status.is_good() or write.AttributeId != ua.AttributeIds.Value:
                continue
            if write.NodeId == self._heartbeat_node_id:
                self._record_heartbeat(write)
                continue
            node = self._writable.get(write.NodeId)
            if node is None:
                continue
            value = _written_value(write, node)
            if value is not None:
                changes.setdefault(node.device, {})[node.tag.name] = value
        for device, values in changes.items():
            self._plant.write_device(device, values)

    def _record_heartbeat(self, write: ua.WriteValue) -> None:
        variant = write.Value.Value
        if variant is None or not isinstance(variant.Value, int):
            return
        if variant.Value != self._heartbeat_value:
            self._heartbeat_value = variant.Value
            self._heartbeat_changed_s = self._clock.now_s()


def _written_value(write: ua.WriteValue, node: TagNode) -> float | None:
    """The written value as a float, or None when its variant type is not the node's."""
    variant = write.Value.Value
    if variant is None or variant.VariantType != node.variant_type:
        return None
    try:
        return from_variant_value(variant.Value)
    except TypeError:
        return None


async def _describe(node: Node, text: str) -> None:
    await node.write_attribute(
        ua.AttributeIds.Description,
        ua.DataValue(ua.Variant(ua.LocalizedText(text), ua.VariantType.LocalizedText)),
    )


async def _stop_quietly(server: Server) -> None:
    try:
        await asyncio.wait_for(server.stop(), timeout=5.0)
    except Exception:
        _logger.debug("stopping a half-started OPC UA server failed", exc_info=True)
