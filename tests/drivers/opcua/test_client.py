"""OPC UA transport against the simulator's OPC UA server, over real sockets on 127.0.0.1.

Nothing is mocked at the protocol: the plant is a small in-test PlantPort stand-in that
records the writes it receives; everything between it and the transport is asyncua.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import Client, ua

from controller.lines.casting.definition import casting_line
from drivers.clock import VirtualClock
from drivers.definition import LineDefinition
from drivers.line import Line
from drivers.opcua.client import CLIENT_APPLICATION_URI, ClientSecurity, OpcUaTransport
from drivers.opcua.map import NAMESPACE_URI, device_tag_nodes
from drivers.opcua.security import SecurityMode, SecurityPolicy, make_self_signed_certificate, sha256_fingerprint
from drivers.profiles import DataType, TagLimitError
from drivers.transport import Quality, TransportError
from simulator.serve.opcua import OpcUaPlantServer, ServerSecurity

pytestmark = pytest.mark.asyncio(loop_scope="module")

BIN = Path(sys.executable).parent
CLI_TIMEOUT_S = 30.0


class PlantStandIn:
    """A PlantPort that holds one value per tag and records every write."""

    def __init__(self, line: LineDefinition) -> None:
        self.values: dict[str, dict[str, float]] = {}
        for spec in line.devices:
            self.values[spec.name] = {
                tag.name: (tag.high if tag.data_type is DataType.BOOL else round(tag.low + 0.37 * (tag.high - tag.low), 3))
                for tag in spec.profile.tags
            }
        self.writes: list[tuple[str, dict[str, float]]] = []

    def advance_to(self, t_s: float) -> None:
        pass

    def read_device(self, device: str) -> Mapping[str, float]:
        return self.values[device]

    def write_device(self, device: str, values: Mapping[str, float]) -> None:
        self.writes.append((device, dict(values)))
        self.values[device].update(values)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_float32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def all_devices(line: LineDefinition) -> tuple[str, ...]:
    return tuple(spec.name for spec in line.devices)


class Served:
    def __init__(self, line: LineDefinition, plant: PlantStandIn, server: OpcUaPlantServer) -> None:
        self.line = line
        self.plant = plant
        self.server = server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served() -> AsyncIterator[Served]:
    line = casting_line(layers=2)
    plant = PlantStandIn(line)
    server = OpcUaPlantServer(plant, line, port=free_port())
    await server.start()
    try:
        yield Served(line, plant, server)
    finally:
        await server.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def transport(served: Served) -> AsyncIterator[OpcUaTransport]:
    client = OpcUaTransport(served.server.endpoint, served.line, all_devices(served.line), clock=VirtualClock())
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def run_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=CLI_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    return process.returncode if process.returncode is not None else -1, output.decode()


# ---------------------------------------------------------------------- round trip
async def test_published_values_come_back_through_read(served: Served, transport: OpcUaTransport) -> None:
    served.plant.values["quench_bath"]["temperature_c"] = 36.6
    served.plant.values["dope_pump_2"]["running"] = 1.0
    served.plant.values["support_belt"]["running"] = 0.0
    await served.server.publish()

    readings = {r.device: r for r in await transport.read()}

    assert set(readings) == set(all_devices(served.line))
    for device, reading in readings.items():
        assert reading.quality is Quality.GOOD, reading.error
        expected = {name: as_float32(v) for name, v in served.plant.values[device].items()}
        assert reading.values == expected
    assert readings["quench_bath"].values["temperature_c"] == as_float32(36.6)
    assert readings["dope_pump_2"].values["running"] == 1.0
    assert readings["support_belt"].values["running"] == 0.0


async def test_setpoint_written_through_transport_arrives_in_plant(
    served: Served, transport: OpcUaTransport
) -> None:
    served.plant.writes.clear()
    await transport.write("dope_pump_1", {"speed_setpoint_rpm": 45.5})
    await transport.write("dryer", {"fan_on": 1.0, "heater_output_pct": 12.25})

    assert served.plant.writes == [
        ("dope_pump_1", {"speed_setpoint_rpm": 45.5}),
        ("dryer", {"fan_on": 1.0, "heater_output_pct": 12.25}),
    ]


async def test_line_writes_through_the_transport(served: Served, transport: OpcUaTransport) -> None:
    served.plant.writes.clear()
    line = Line(served.line, [transport])
    await line.write("casting_knife", {"gap_1_setpoint_um": 254.0})
    assert served.plant.writes == [("casting_knife", {"gap_1_setpoint_um": 254.0})]


async def test_heartbeat_reaches_the_server(served: Served, transport: OpcUaTransport) -> None:
    await transport.heartbeat(41)
    assert served.server.heartbeat == 41
    await transport.heartbeat(2**32 + 1)  # wraps
    assert served.server.heartbeat == 1


# ---------------------------------------------------------------------- independent client
async def test_uaread_cli_reads_the_plant_value(served: Served) -> None:
    served.plant.values["quench_bath"]["temperature_c"] = 41.25
    await served.server.publish()
    node = next(n for n in device_tag_nodes(served.line, "quench_bath") if n.tag.name == "temperature_c")

    code, output = await run_cli(
        str(BIN / "uaread"), "-u", served.server.endpoint,
        "-n", node.node_id_string(served.server.namespace_index),
    )

    assert code == 0, output
    assert float(output.strip().splitlines()[-1]) == 41.25


async def test_uawrite_cli_float_setpoint_reaches_plant(served: Served) -> None:
    served.plant.writes.clear()
    node = next(n for n in device_tag_nodes(served.line, "quench_bath") if n.tag.name == "heater_output_pct")

    code, output = await run_cli(
        str(BIN / "uawrite"), "-u", served.server.endpoint, "-t", "float",
        "-n", node.node_id_string(served.server.namespace_index), "55.5",
    )

    assert code == 0, output
    assert served.plant.writes == [("quench_bath", {"heater_output_pct": 55.5})]


# ---------------------------------------------------------------------- limits
async def test_raw_write_outside_limits_is_refused_with_bad_out_of_range(served: Served) -> None:
    served.plant.writes.clear()
    before = dict(served.plant.values["quench_bath"])
    async with Client(served.server.endpoint, timeout=2.0) as client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        node = client.get_node(ua.NodeId("quench_bath.TemperatureZones.TemperatureZone_001.Output", idx))
        with pytest.raises(ua.uaerrors.BadOutOfRange):
            await client.write_values([node], [ua.DataValue(ua.Variant(150.0, ua.VariantType.Float))])
        assert await node.read_value() == as_float32(before["heater_output_pct"])

    assert served.plant.writes == []
    assert served.plant.values["quench_bath"] == before


async def test_raw_write_of_wrong_type_or_to_a_measurement_is_refused(served: Served) -> None:
    served.plant.writes.clear()
    async with Client(served.server.endpoint, timeout=2.0) as client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        setpoint = client.get_node(ua.NodeId("quench_bath.TemperatureZones.TemperatureZone_001.Output", idx))
        measured = client.get_node(ua.NodeId("quench_bath.TemperatureZones.TemperatureZone_001.ActualValue", idx))
        results = await client.write_values(
            [setpoint, measured],
            [ua.DataValue(ua.Variant(20.0, ua.VariantType.Double)),
             ua.DataValue(ua.Variant(20.0, ua.VariantType.Float))],
            raise_on_partial_error=False,
        )
    assert [r.name for r in results] == ["BadTypeMismatch", "BadUserAccessDenied"]
    assert served.plant.writes == []


async def test_transport_reports_a_server_refusal_naming_the_tag(
    served: Served, transport: OpcUaTransport
) -> None:
    served.plant.writes.clear()
    with pytest.raises(TransportError, match=r"quench_bath\.heater_output_pct.*BadOutOfRange"):
        await transport.write("quench_bath", {"heater_output_pct": 101.0})  # bypasses Line's check
    assert served.plant.writes == []


async def test_line_refuses_outside_limits_before_the_wire(served: Served, transport: OpcUaTransport) -> None:
    served.plant.writes.clear()
    line = Line(served.line, [transport])
    with pytest.raises(TagLimitError):
        await line.write("quench_bath", {"heater_output_pct": 150.0})
    assert served.plant.writes == []


# ---------------------------------------------------------------------- lost endpoint
async def test_unreachable_endpoint_reads_bad_comm_without_raising() -> None:
    line = casting_line(layers=2)
    client = OpcUaTransport(
        f"opc.tcp://127.0.0.1:{free_port()}/poreline/", line, ("dryer",), clock=VirtualClock(), timeout_s=0.5
    )
    with pytest.raises(TransportError, match="connect failed"):
        await client.connect()
    readings = await client.read()
    assert [(r.device, r.quality) for r in readings] == [("dryer", Quality.BAD_COMM)]
    assert readings[0].error
    with pytest.raises(TransportError):
        await client.write("dryer", {"fan_on": 1.0})
    await client.close()


async def test_stopped_server_reads_stale_then_reconnects_after_restart() -> None:
    line = casting_line(layers=2)
    plant = PlantStandIn(line)
    port = free_port()
    server = OpcUaPlantServer(plant, line, port=port, devices=("quench_bath", "dryer"))
    clock = VirtualClock(100.0)
    client = OpcUaTransport(
        server.endpoint, line, ("quench_bath", "dryer"), clock=clock,
        timeout_s=0.5, backoff_initial_s=0.1, backoff_max_s=0.4, bad_comm_after_s=30.0,
    )
    await server.start()
    try:
        plant.values["quench_bath"]["temperature_c"] = 30.5
        await server.publish()
        await client.connect()
        good = {r.device: r for r in await client.read()}
        assert good["quench_bath"].quality is Quality.GOOD

        await server.stop()
        clock.advance_to(101.0)
        stale = {r.device: r for r in await client.read()}
        assert stale["quench_bath"].quality is Quality.STALE
        assert stale["quench_bath"].error
        assert stale["quench_bath"].values == good["quench_bath"].values
        assert stale["quench_bath"].timestamp_s == 100.0
        with pytest.raises(TransportError):
            await client.write("dryer", {"fan_on": 1.0})

        clock.advance_to(140.0)  # past bad_comm_after_s: the old values are no longer trusted
        assert all(r.quality is Quality.BAD_COMM for r in await client.read())

        plant.values["quench_bath"]["temperature_c"] = 31.5
        await server.start()  # same port
        await server.publish()
        qualities: list[Quality] = []
        for _ in range(60):  # bounded: at most ~15 s
            readings = {r.device: r for r in await client.read()}
            qualities.append(readings["quench_bath"].quality)
            if qualities[-1] is Quality.GOOD:
                break
            await asyncio.sleep(0.25)
        assert qualities[-1] is Quality.GOOD, readings["quench_bath"].error
        assert readings["quench_bath"].values["temperature_c"] == 31.5
        assert readings["quench_bath"].timestamp_s == 140.0
    finally:
        await client.close()
        await server.stop()


# ---------------------------------------------------------------------- security
def secured(server: OpcUaPlantServer, password: str = "s3cret-pass", **overrides: object) -> ClientSecurity:
    """The client side of a secured server: Basic256Sha256 SignAndEncrypt, user operator,
    the server certificate pinned (a fresh client certificate unless one is given)."""
    settings: dict[str, object] = {
        "policy": SecurityPolicy.BASIC256SHA256, "mode": SecurityMode.SIGN_AND_ENCRYPT,
        "username": "operator", "password": password,
        "server_certificate_sha256": sha256_fingerprint(server.certificate_der),
    }
    settings.update(overrides)
    return ClientSecurity(**settings)  # type: ignore[arg-type]


def secure_server(line: LineDefinition, plant: PlantStandIn, **security: object) -> OpcUaPlantServer:
    options: dict[str, object] = {"users": {"operator": "s3cret-pass"}, "trust_any_client": True}
    options.update(security)
    return OpcUaPlantServer(plant, line, port=free_port(), devices=("dryer",), clock=VirtualClock(0.0),
                            security=ServerSecurity(**options))  # type: ignore[arg-type]


async def test_username_and_basic256sha256_sign_and_encrypt() -> None:
    line = casting_line(layers=2)
    plant = PlantStandIn(line)
    plant.values["dryer"]["air_temperature_c"] = 80.5
    server_clock = VirtualClock(0.0)
    server = OpcUaPlantServer(
        plant, line, port=free_port(), devices=("dryer",), clock=server_clock,
        security=ServerSecurity(users={"operator": "s3cret-pass"}, trust_any_client=True),
    )
    await server.start()
    try:
        await server.publish()
        good = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0,
                              security=secured(server))
        await good.connect()
        try:
            [reading] = await good.read()
            assert reading.quality is Quality.GOOD, reading.error
            assert reading.values["air_temperature_c"] == 80.5
            await good.write("dryer", {"fan_on": 1.0})
            assert plant.writes == [("dryer", {"fan_on": 1.0})]

            server_clock.advance_to(7.0)
            assert server.heartbeat_age_s(server_clock.now_s()) == 7.0  # none yet: age since start
            await good.heartbeat(1)
            assert server.heartbeat_age_s(server_clock.now_s()) == 0.0
            server_clock.advance_to(9.0)
            await good.heartbeat(1)  # the same counter again is not a sign of life
            assert server.heartbeat_age_s(server_clock.now_s()) == 2.0
        finally:
            await good.close()

        anonymous = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0)
        with pytest.raises(TransportError):
            await anonymous.connect()  # no SecurityPolicy None endpoint, no anonymous token
        await anonymous.close()
    finally:
        await server.stop()


async def test_wrong_password_is_refused_reported_as_the_link_error_and_retried() -> None:
    line = casting_line(layers=2)
    server = secure_server(line, PlantStandIn(line))
    await server.start()
    try:
        wrong = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0,
                               backoff_initial_s=0.1, backoff_max_s=0.2, security=secured(server, password="guess-guess"))
        assert "guess-guess" not in repr(secured(server, password="guess-guess"))  # never in a repr or a log line
        with pytest.raises(TransportError, match="BadUserAccessDenied") as refused:
            await wrong.connect()
        assert "guess-guess" not in str(refused.value)
        [reading] = await wrong.read()  # within the back-off: the reason, no new attempt
        assert reading.quality is Quality.BAD_COMM and "BadUserAccessDenied" in (reading.error or "")
        await asyncio.sleep(0.25)
        [reading] = await wrong.read()  # after the back-off: tried again, refused again
        assert reading.quality is Quality.BAD_COMM and "BadUserAccessDenied" in (reading.error or "")
        assert "guess-guess" not in (reading.error or "")
        await wrong.close()
    finally:
        await server.stop()


async def test_an_unpinned_server_certificate_is_refused_before_the_password_is_sent() -> None:
    line = casting_line(layers=2)
    plant = PlantStandIn(line)
    server = secure_server(line, plant)
    impostor_pin = sha256_fingerprint(make_self_signed_certificate("urn:impostor", "impostor", server=True).certificate_der)
    await server.start()
    try:
        client = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0,
                                security=secured(server, server_certificate_sha256=impostor_pin))
        with pytest.raises(TransportError, match="is not the pinned certificate") as refused:
            await client.connect()
        assert sha256_fingerprint(server.certificate_der) in str(refused.value)  # names what it was shown
        [reading] = await client.read()
        assert reading.quality is Quality.BAD_COMM and "is not the pinned certificate" in (reading.error or "")
        await client.close()
        assert plant.writes == []
    finally:
        await server.stop()


async def test_a_trust_list_refuses_an_unknown_server_then_trusts_it_once_listed(tmp_path: Path) -> None:
    line = casting_line(layers=2)
    server = secure_server(line, PlantStandIn(line))
    trust_dir = tmp_path / "trusted"
    trust_dir.mkdir()
    other = make_self_signed_certificate("urn:other", "other", server=True)
    (trust_dir / "other.der").write_bytes(other.certificate_der)
    await server.start()
    try:
        client = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0,
                                backoff_initial_s=0.1, backoff_max_s=0.2,
                                security=secured(server, server_certificate_sha256="", trust_dir=trust_dir))
        with pytest.raises(TransportError, match="BadCertificateUntrusted"):
            await client.connect()
        [reading] = await client.read()
        assert reading.quality is Quality.BAD_COMM and "not trusted by the trust list" in (reading.error or "")

        (trust_dir / "sim.der").write_bytes(server.certificate_der)  # the operator trusts it: retried, connects
        for _ in range(40):  # bounded: at most ~4 s
            await asyncio.sleep(0.1)
            [reading] = await client.read()
            if reading.quality is Quality.GOOD:
                break
        assert reading.quality is Quality.GOOD, reading.error
        await client.close()
    finally:
        await server.stop()


async def test_only_trusted_client_certificates_open_a_session(tmp_path: Path) -> None:
    line = casting_line(layers=2)
    trusted = make_self_signed_certificate(CLIENT_APPLICATION_URI, "trusted controller", server=False)
    listed = make_self_signed_certificate(CLIENT_APPLICATION_URI, "listed controller", server=False)
    trust_dir = tmp_path / "clients"
    trust_dir.mkdir()
    (trust_dir / "listed.der").write_bytes(listed.certificate_der)
    server = secure_server(line, PlantStandIn(line), trust_any_client=False,
                           trusted_client_certificates=(trusted.certificate_der,), trust_dir=trust_dir)
    await server.start()
    try:
        for certificate in (trusted, listed):
            known = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0,
                                   security=secured(server, certificate=certificate))
            await known.connect()
            [reading] = await known.read()
            assert reading.quality is Quality.GOOD, reading.error
            await known.close()

        stranger = OpcUaTransport(server.endpoint, line, ("dryer",), clock=VirtualClock(), timeout_s=2.0,
                                  security=secured(server))
        with pytest.raises(TransportError, match="BadCertificateUntrusted"):
            await stranger.connect()
        await stranger.close()
    finally:
        await server.stop()


async def test_anonymous_writes_are_refused_unless_allowed() -> None:
    line = casting_line(layers=2)
    for allowed in (False, True):
        plant = PlantStandIn(line)
        server = OpcUaPlantServer(plant, line, port=free_port(), devices=("quench_bath",),
                                  allow_anonymous_writes=allowed)
        await server.start()
        try:
            async with Client(server.endpoint, timeout=2.0) as client:
                idx = await client.get_namespace_index(NAMESPACE_URI)
                node = client.get_node(ua.NodeId("quench_bath.TemperatureZones.TemperatureZone_001.Output", idx))
                assert await node.read_value() == as_float32(plant.values["quench_bath"]["heater_output_pct"])
                write = client.write_values([node], [ua.DataValue(ua.Variant(20.0, ua.VariantType.Float))])
                if allowed:
                    await write
                    assert plant.writes == [("quench_bath", {"heater_output_pct": 20.0})]
                else:
                    with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                        await write
                    assert plant.writes == []
        finally:
            await server.stop()


async def test_client_security_refuses_what_would_be_insecure() -> None:
    line = casting_line(layers=2)
    with pytest.raises(ValueError, match="non-loopback"):
        OpcUaTransport("opc.tcp://10.0.4.21:4840/", line, ("dryer",), clock=VirtualClock())
    OpcUaTransport("opc.tcp://10.0.4.21:4840/", line, ("dryer",), clock=VirtualClock(),
                   security=ClientSecurity(insecure=True))  # said explicitly
    OpcUaTransport("opc.tcp://localhost:4840/", line, ("dryer",), clock=VirtualClock())
    with pytest.raises(ValueError, match="in clear"):
        ClientSecurity(username="operator", password="x" * 12)
    with pytest.raises(ValueError, match="pin or a trust-list directory"):
        ClientSecurity(policy=SecurityPolicy.BASIC256SHA256, username="operator", password="x" * 12)
    with pytest.raises(ValueError, match="64 hex digits"):
        ClientSecurity(policy=SecurityPolicy.BASIC256SHA256, server_certificate_sha256="ab:cd")
