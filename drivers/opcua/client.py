"""OPC UA transport: one asyncua client per endpoint, batched reads and writes.

Node ids come from ``drivers.opcua.map`` (derived from the device profiles); the namespace
index is looked up by URI at every (re)connect, never hard-coded.

- ``connect()`` opens the session, resolves every node id once and checks, in one batched
  read of the DataType attribute, that the server types each tag as the map says (a
  server built from other profiles is refused at connect, not at the first write).
- ``read()`` is ONE Read service call per scan for every tag of every device of the
  transport (``client.read_attributes(nodes, Value)``: the same single request as
  ``client.read_values`` but keeping each value's StatusCode, which is checked: a tag
  with a bad status makes its device's reading STALE/BAD_COMM with the tag named).
- ``write()`` is ONE Write service call with ``ua.DataValue(ua.Variant(v, varianttype))``
  and the explicit variant type of each tag; every StatusCode is checked and a bad one
  raises ``TransportError`` naming the tag and the code. A service-level refusal (the
  Poreline server answers ``BadOutOfRange`` for the whole request) is reported the same way.
- Requests time out after ``timeout_s`` (default 1 s, one scan). On a failed read the
  client is dropped and ``read()`` tries to reconnect on later scans, at most once per
  back-off interval (``backoff_initial_s`` doubling up to ``backoff_max_s``). ``read()``
  never raises for an unreachable endpoint: each device's reading comes back STALE (last
  good values, ``timestamp_s`` of the last good read, ``error`` saying why) for up to
  ``bad_comm_after_s`` of clock time after the last good read, BAD_COMM after that or
  when there never was a good read.
- Security (:class:`ClientSecurity`): a policy (Basic256Sha256, Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss) with mode Sign or SignAndEncrypt, an optional username/password,
  and the client's application certificate (generated in memory once per transport unless
  one is given; the application URI is taken from its SubjectAltName). Before the secure
  channel is opened the server's certificate, as announced in GetEndpoints, is checked
  against the SHA-256 pin or the trust-list directory (:class:`ServerCertificateCheck`), and
  the certificate the server signs the session with is checked again at CreateSession,
  before the password is sent. A refused certificate or login is a connect failure like
  any other: reported as the link's error in every reading and retried with back-off.
- SecurityPolicy None is only accepted for a loopback endpoint unless ``insecure`` is set,
  and never with a username (the password would travel in clear).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.common.utils import ServiceError
from asyncua.crypto import uacrypto
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes
from asyncua.ua.uaerrors import UaStatusCodeError
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from drivers.clock import Clock
from drivers.definition import LineDefinition
from drivers.opcua.map import (
    HEARTBEAT_IDENTIFIER,
    HEARTBEAT_VARIANT_TYPE,
    NAMESPACE_URI,
    TagNode,
    device_tag_nodes,
    from_variant_value,
    to_variant_value,
)
from drivers.opcua.security import (
    CertificateError,
    CertificatePair,
    SecurityMode,
    SecurityPolicy,
    ServerCertificateCheck,
    application_uri_of,
    first_certificate,
    is_loopback_url,
    make_self_signed_certificate,
    message_security_mode,
    policy_class,
)
from drivers.transport import DeviceReading, Quality, TransportError

_logger = logging.getLogger(__name__)

CLIENT_APPLICATION_URI = "urn:poreline:controller:opcua-client"


@dataclass(frozen=True, slots=True)
class ClientSecurity:
    """How the client protects the channel, authenticates, and trusts the server.

    ``policy`` None (the default) is plain OPC UA: no certificate, anonymous, and only to a
    loopback endpoint unless ``insecure``. Any other policy needs exactly one of
    ``server_certificate_sha256`` (a pin, colons allowed) and ``trust_dir`` (a directory of
    trusted server or CA certificates, DER or PEM). ``certificate`` is the client's
    application certificate (generated once per transport when None). ``username`` and
    ``password`` go together. The password never appears in ``repr``.
    """

    policy: SecurityPolicy = SecurityPolicy.NONE
    mode: SecurityMode = SecurityMode.SIGN_AND_ENCRYPT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    certificate: CertificatePair | None = None
    server_certificate_sha256: str = ""
    trust_dir: Path | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        if (self.username is None) != (self.password is None):
            raise ValueError("a username needs a password and a password a username")
        if self.policy is SecurityPolicy.NONE:
            if self.username is not None:
                raise ValueError("a username over SecurityPolicy None would send the password in clear")
            if self.server_certificate_sha256 or self.trust_dir is not None or self.certificate is not None:
                raise ValueError("certificates have no use with SecurityPolicy None")
            return
        if self.insecure:
            raise ValueError("insecure applies to SecurityPolicy None only")
        self.server_check()  # raises ValueError for a missing/double/ill-formed pin or trust list

    def server_check(self) -> ServerCertificateCheck:
        return ServerCertificateCheck(self.server_certificate_sha256, self.trust_dir)


class OpcUaTransport:
    def __init__(
        self,
        endpoint: str,
        line: LineDefinition,
        devices: tuple[str, ...],
        *,
        clock: Clock,
        timeout_s: float = 1.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 5.0,
        bad_comm_after_s: float = 5.0,
        security: ClientSecurity | None = None,
    ) -> None:
        if timeout_s <= 0 or backoff_initial_s <= 0 or backoff_max_s < backoff_initial_s:
            raise ValueError("timeouts and back-off must be positive, backoff_max_s >= backoff_initial_s")
        self._endpoint = endpoint
        self._devices = devices
        self._clock = clock
        self._timeout_s = timeout_s
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self._bad_comm_after_s = bad_comm_after_s
        self._security = security if security is not None else ClientSecurity()
        if (self._security.policy is SecurityPolicy.NONE and not self._security.insecure
                and not is_loopback_url(endpoint)):
            raise ValueError(f"OPC UA {endpoint}: SecurityPolicy None to a non-loopback endpoint is refused "
                             "(choose a security policy, or set insecure)")
        self._server_check: ServerCertificateCheck | None = (
            None if self._security.policy is SecurityPolicy.NONE else self._security.server_check()
        )
        self._tag_nodes: tuple[TagNode, ...] = tuple(
            node for device in devices for node in device_tag_nodes(line, device)
        )
        self._by_address: dict[tuple[str, str], int] = {
            (node.device, node.tag.name): i for i, node in enumerate(self._tag_nodes)
        }
        self._client: Client | None = None
        self._nodes: list[Node] = []
        self._heartbeat_node: Node | None = None
        self._certificate: CertificatePair | None = self._security.certificate
        self._last_good: dict[str, DeviceReading] = {}
        self._last_error = "not connected"
        self._backoff_s = backoff_initial_s
        self._next_attempt_monotonic = 0.0
        self._closed = False

    @property
    def devices(self) -> tuple[str, ...]:
        return self._devices

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def connected(self) -> bool:
        return self._client is not None

    # ------------------------------------------------------------------ connection
    async def connect(self) -> None:
        """Open the session and resolve the nodes; raises TransportError if the endpoint
        cannot be reached or does not serve these devices (``read()`` keeps retrying)."""
        self._closed = False
        if self._client is not None:
            return
        try:
            await self._open()
        except TransportError as error:
            self._schedule_retry(str(error))
            raise

    async def close(self) -> None:
        self._closed = True
        await self._drop("closed", lost=False)

    async def _open(self) -> None:
        client = self._new_client()
        try:
            if self._server_check is not None:
                await self._set_security(client, self._server_check)
            await asyncio.wait_for(client.connect(), timeout=4 * self._timeout_s)
            namespace_index = await client.get_namespace_index(NAMESPACE_URI)
            nodes = [client.get_node(n.node_id(namespace_index)) for n in self._tag_nodes]
            await self._check_data_types(client, nodes)
        except (TransportError, CertificateError) as error:
            await _disconnect_quietly(client, self._timeout_s)
            raise TransportError(f"OPC UA {self._endpoint}: connect failed: {error}") from error
        except Exception as error:
            await _disconnect_quietly(client, self._timeout_s)
            raise TransportError(f"OPC UA {self._endpoint}: connect failed: {_describe(error)}") from error
        self._client = client
        self._nodes = nodes
        self._heartbeat_node = client.get_node(ua.NodeId(ua.String(HEARTBEAT_IDENTIFIER), ua.Int16(namespace_index)))
        self._backoff_s = self._backoff_initial_s
        self._last_error = ""
        _logger.info("OPC UA %s connected (%d tags)", self._endpoint, len(nodes))

    def _new_client(self) -> Client:
        client = Client(self._endpoint, timeout=self._timeout_s, watchdog_intervall=max(1.0, self._timeout_s))
        client.application_uri = CLIENT_APPLICATION_URI
        client.name = client.description = "Poreline controller"
        client.session_timeout = 60_000  # ms: a session left by a dead controller expires
        if self._security.username is not None:
            client.set_user(self._security.username)
        if self._security.password is not None:
            client.set_password(self._security.password)
        return client

    async def _set_security(self, client: Client, check: ServerCertificateCheck) -> None:
        """Fetch the endpoints over an unsecured channel (discovery), refuse a server
        certificate the pin or trust list does not vouch for, then configure the policy."""
        if self._certificate is None:
            self._certificate = make_self_signed_certificate(
                CLIENT_APPLICATION_URI, "Poreline controller", server=False
            )
        client.application_uri = application_uri_of(self._certificate.certificate_der) or CLIENT_APPLICATION_URI
        policy = policy_class(self._security.policy)
        mode = message_security_mode(self._security.mode)
        endpoints = await asyncio.wait_for(client.connect_and_get_server_endpoints(), timeout=4 * self._timeout_s)
        endpoint = next((e for e in endpoints if e.SecurityPolicyUri == policy.URI and e.SecurityMode == mode), None)
        if endpoint is None:
            offered = ", ".join(sorted({f"{e.SecurityPolicyUri.rsplit('#', 1)[-1]} {e.SecurityMode.name}"
                                        for e in endpoints}))
            raise TransportError(f"the server offers no {self._security.policy} {self._security.mode} endpoint "
                                 f"(it offers: {offered or 'none'})")
        server_certificate = first_certificate(endpoint.ServerCertificate or b"")
        if not server_certificate:
            raise TransportError("the server announced no certificate")
        await check.verify(server_certificate, endpoint.Server.ApplicationUri or "")

        async def validate_session_certificate(certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
            # the certificate the server signs CreateSession with; checked before ActivateSession sends the password
            try:
                await check.verify(certificate.public_bytes(Encoding.DER), app.ApplicationUri or "")
            except CertificateError as error:
                _logger.warning("OPC UA %s: %s", self._endpoint, error)
                raise ServiceError(StatusCodes.BadCertificateUntrusted) from error

        client.certificate_validator = validate_session_certificate
        await asyncio.wait_for(
            client.set_security(
                policy,
                certificate=uacrypto.CertProperties(self._certificate.certificate_der, extension="der"),
                private_key=uacrypto.CertProperties(self._certificate.private_key_pem, extension="pem"),
                server_certificate=uacrypto.CertProperties(server_certificate, extension="der"),
                mode=mode,
            ),
            timeout=4 * self._timeout_s,
        )

    async def _check_data_types(self, client: Client, nodes: list[Node]) -> None:
        data_types = await client.read_attributes(nodes, AttributeIds.DataType)
        problems: list[str] = []
        for tag_node, data_value in zip(self._tag_nodes, data_types, strict=True):
            expected = ua.NodeId(ua.Int32(tag_node.variant_type.value), ua.Int16(0))
            status = data_value.StatusCode
            if status is not None and not status.is_good():
                problems.append(f"{tag_node.address}: {status.name}")
            elif data_value.Value is None or data_value.Value.Value != expected:
                actual = data_value.Value.Value if data_value.Value is not None else None
                problems.append(f"{tag_node.address}: DataType {actual}, expected {tag_node.variant_type.name}")
        if problems:
            raise TransportError(f"server does not serve the profiles' nodes: {'; '.join(problems[:5])}")

    def _schedule_retry(self, error: str) -> None:
        self._last_error = error
        self._next_attempt_monotonic = time.monotonic() + self._backoff_s
        self._backoff_s = min(2 * self._backoff_s, self._backoff_max_s)

    async def _drop(self, error: str, *, lost: bool = True) -> None:
        client, self._client = self._client, None
        self._nodes = []
        self._heartbeat_node = None
        self._last_error = error
        if client is not None:
            if lost:
                _logger.warning("OPC UA %s: %s; dropping the connection", self._endpoint, error)
            await _disconnect_quietly(client, self._timeout_s)

    async def _ensure_connected(self) -> Client | None:
        """The client, reconnecting if disconnected and the back-off interval has passed."""
        if self._client is not None:
            return self._client
        if self._closed or time.monotonic() < self._next_attempt_monotonic:
            return None
        try:
            await self._open()
        except TransportError as error:
            self._schedule_retry(str(error))
            return None
        return self._client

    # ------------------------------------------------------------------ I/O
    async def read(self) -> list[DeviceReading]:
        client = await self._ensure_connected()
        if client is None:
            return [self._degraded(device, self._last_error) for device in self._devices]
        try:
            data_values = await client.read_attributes(self._nodes, AttributeIds.Value)
        except Exception as error:  # noqa: BLE001 - read() never raises for a lost endpoint
            message = f"OPC UA {self._endpoint}: read failed: {_describe(error)}"
            await self._drop(message)
            self._schedule_retry(message)
            return [self._degraded(device, message) for device in self._devices]
        now_s = self._clock.now_s()
        values: dict[str, dict[str, float]] = {device: {} for device in self._devices}
        problems: dict[str, list[str]] = {device: [] for device in self._devices}
        for tag_node, data_value in zip(self._tag_nodes, data_values, strict=True):
            status = data_value.StatusCode
            if status is not None and not status.is_good():
                problems[tag_node.device].append(f"{tag_node.address}: {status.name}")
                continue
            try:
                values[tag_node.device][tag_node.tag.name] = from_variant_value(
                    data_value.Value.Value if data_value.Value is not None else None
                )
            except TypeError as error:
                problems[tag_node.device].append(f"{tag_node.address}: {error}")
        readings: list[DeviceReading] = []
        for device in self._devices:
            if problems[device]:
                readings.append(self._degraded(device, "; ".join(problems[device])))
                continue
            reading = DeviceReading(device, values[device], Quality.GOOD, now_s)
            self._last_good[device] = reading
            readings.append(DeviceReading(device, dict(values[device]), Quality.GOOD, now_s))
        return readings

    def _degraded(self, device: str, error: str) -> DeviceReading:
        last = self._last_good.get(device)
        if last is None:
            return DeviceReading(device, {}, Quality.BAD_COMM, 0.0, error or "no good read yet")
        age_s = self._clock.now_s() - last.timestamp_s
        quality = Quality.STALE if age_s <= self._bad_comm_after_s else Quality.BAD_COMM
        return DeviceReading(device, dict(last.values), quality, last.timestamp_s, error)

    async def write(self, device: str, values: Mapping[str, float]) -> None:
        if not values:
            return
        client = self._client
        if client is None:
            raise TransportError(f"{device}: OPC UA {self._endpoint} not connected ({self._last_error})")
        tag_nodes: list[TagNode] = []
        nodes: list[Node] = []
        data_values: list[ua.DataValue] = []
        for name, value in values.items():
            index = self._by_address.get((device, name))
            if index is None:
                raise TransportError(f"{device}.{name}: no such tag on OPC UA {self._endpoint}")
            tag_node = self._tag_nodes[index]
            tag_nodes.append(tag_node)
            nodes.append(self._nodes[index])
            variant = ua.Variant(to_variant_value(tag_node, value), tag_node.variant_type)
            data_values.append(ua.DataValue(variant))
        await self._write(client, nodes, data_values, [n.address for n in tag_nodes])

    async def heartbeat(self, counter: int) -> None:
        """Write the watchdog counter (UInt32, wraps at 2**32) to ``Controller.Heartbeat``."""
        client, node = self._client, self._heartbeat_node
        if client is None or node is None:
            raise TransportError(f"heartbeat: OPC UA {self._endpoint} not connected ({self._last_error})")
        variant = ua.Variant(counter % 2**32, HEARTBEAT_VARIANT_TYPE)
        await self._write(client, [node], [ua.DataValue(variant)], [HEARTBEAT_IDENTIFIER])

    async def _write(
        self, client: Client, nodes: list[Node], data_values: list[ua.DataValue], names: list[str]
    ) -> None:
        try:
            results = await client.write_values(nodes, data_values, raise_on_partial_error=False)
        except UaStatusCodeError as error:
            code = ua.StatusCode(error.code).name
            raise TransportError(f"{', '.join(names)}: write refused by the server: {code}") from error
        except Exception as error:
            message = f"OPC UA {self._endpoint}: write failed: {_describe(error)}"
            await self._drop(message)
            self._schedule_retry(message)
            raise TransportError(f"{', '.join(names)}: {message}") from error
        refused = [f"{name}: {status.name}" for name, status in zip(names, results, strict=True)
                   if not status.is_good()]
        if refused:
            raise TransportError(f"write refused: {'; '.join(refused)}")


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _disconnect_quietly(client: Client, timeout_s: float) -> None:
    try:
        await asyncio.wait_for(client.disconnect(), timeout=timeout_s)
    except Exception:
        _logger.debug("OPC UA disconnect failed", exc_info=True)
    client.disconnect_socket()
