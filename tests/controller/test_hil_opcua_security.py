"""OPC UA security end to end (issue 11, item 7), over real loopback sockets.

- The short casting recipe completes over OPC UA with Basic256Sha256 SignAndEncrypt and a
  user name, the plant file's ``security:`` block pinning the simulator's certificate and
  the simulator trusting only the controller's client certificate.
- A wrong password and an untrusted server certificate are refused with a clear error.
- ``poreline sim serve`` refuses anonymous writes by default, accepts them with
  ``--allow-anonymous-writes``, and ``--secure`` serves only SignAndEncrypt with its users.

The certificates are made once per session (RSA key generation is the slow part).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from asyncua import Client, ua
from cryptography.hazmat.primitives.serialization import Encoding
from hil_support import SPEED, free_port, short_recipe
from paths import REPO_ROOT
from typer.testing import CliRunner

from controller.assembly import build_line, simulated_plant
from controller.assembly.plant_file import build_hardware_line
from controller.cli.main import app
from controller.engine.states import UnitState
from controller.lines import builtin_line, kind_named
from drivers.clock import WallClock
from drivers.opcua.client import CLIENT_APPLICATION_URI, ClientSecurity, OpcUaTransport
from drivers.opcua.map import NAMESPACE_URI
from drivers.opcua.security import (
    CertificateError,
    SecurityPolicy,
    make_self_signed_certificate,
    read_certificate,
    sha256_fingerprint,
    write_certificate_pair,
)
from drivers.transport import Quality, TransportError
from simulator.casting.plant import CastingPlant
from simulator.serve.runner import SERVER_APPLICATION_URI, ServedPlant, ServerSecurity

USER = "poreline"
PASSWORD = "bench-password-0451"
PASSWORD_ENV = "PORELINE_TEST_OPCUA_PASSWORD"
DEFINITION, _CONTROL = builtin_line("casting")
# a setpoint, as ``poreline profiles`` names it (Float)
SETPOINT = "quench_bath.TemperatureZones.TemperatureZone_001.Output"  # heater_output_pct
T = TypeVar("T")


class Certificates:
    def __init__(self, directory: Path) -> None:
        self.server = make_self_signed_certificate(SERVER_APPLICATION_URI, "Poreline plant simulator", server=True)
        self.client = make_self_signed_certificate(CLIENT_APPLICATION_URI, "Poreline controller", server=False)
        self.client_der, self.client_key = directory / "client.der", directory / "client-key.pem"
        write_certificate_pair(self.client, self.client_der, self.client_key)
        self.stranger = make_self_signed_certificate(SERVER_APPLICATION_URI, "impostor", server=True)


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("opcua-certificates"))


def served_secure(certificates: Certificates) -> tuple[ServedPlant, CastingPlant]:
    """The casting plant prepared for the short recipe, served over OPC UA only, with
    Basic256Sha256 SignAndEncrypt, one user and only the controller's certificate trusted."""
    plant = simulated_plant(kind_named("casting"), DEFINITION, short_recipe(), 0)
    assert isinstance(plant, CastingPlant)
    security = ServerSecurity(users={USER: PASSWORD}, certificate=certificates.server,
                              trusted_client_certificates=(certificates.client.certificate_der,))
    served = ServedPlant(plant, DEFINITION, modbus_port=free_port(), opcua_port=free_port(), modbus_devices=(),
                         speed=SPEED, step_s=0.02, watchdog_s=3.0, opcua_security=security)
    return served, plant


def secure_plant_file(tmp_path: Path, served: ServedPlant, certificates: Certificates, *, pin: str = "") -> Path:
    """A plant file whose ``security:`` block pins ``pin`` (the simulator's certificate by
    default) and reads the password from ``PASSWORD_ENV``."""
    pin = pin or sha256_fingerprint(certificates.server.certificate_der)
    path = tmp_path / "plant-secure.yaml"
    path.write_text(
        "line: casting\nendpoints:\n"
        f"  - name: ua\n    transport: opcua\n    url: '{served.opcua_endpoint}'\n    devices: all\n"
        "    security:\n      policy: Basic256Sha256\n      mode: SignAndEncrypt\n"
        f"      user: {USER}\n      password_env: {PASSWORD_ENV}\n"
        f"      server_certificate_sha256: '{pin}'\n"
        f"      client_certificate: {certificates.client_der}\n      client_private_key: {certificates.client_key}\n",
        encoding="utf-8")
    return path


async def test_short_recipe_completes_over_sign_and_encrypt_with_a_user(
        tmp_path: Path, certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    recipe = short_recipe()
    served, plant = served_secure(certificates)
    async with served:
        assembled = build_line(recipe=recipe, plant_file=secure_plant_file(tmp_path, served, certificates),
                               clock=WallClock(SPEED), sample_period_s=5.0)
        line, engine = assembled.line, assembled.engine
        [transport] = line._transports
        assert isinstance(transport, OpcUaTransport) and transport._security.policy is SecurityPolicy.BASIC256SHA256
        engine.request("start")
        try:
            final = await asyncio.wait_for(engine.run(max_duration_s=2000.0), timeout=40.0)
        finally:
            await line.close()
        assert final is UnitState.COMPLETE
        assert [e.outcome for e in engine.step_log] == ["complete"] * len(recipe.steps)
        assert not served.tripped  # the heartbeat went over the secured channel too
        assert plant.read_device("support_belt")["line_speed_setpoint_m_min"] == 0.0  # stopped by the recipe


async def test_wrong_password_and_untrusted_server_certificate_are_refused_clearly(
        tmp_path: Path, certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    served, _plant = served_secure(certificates)
    async with served:
        monkeypatch.setenv(PASSWORD_ENV, "not-the-password-0451")
        line = build_hardware_line(secure_plant_file(tmp_path, served, certificates), DEFINITION, WallClock())
        with pytest.raises(TransportError) as refused:
            await line.connect()
        await line.close()
        message = str(refused.value)
        assert f"OPC UA {served.opcua_endpoint}: connect failed" in message and "BadUserAccessDenied" in message
        assert "not-the-password" not in message and "\n" not in message

        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)  # the right password, but another server certificate pinned
        impostor = sha256_fingerprint(certificates.stranger.certificate_der)
        line = build_hardware_line(secure_plant_file(tmp_path, served, certificates, pin=impostor), DEFINITION,
                                   WallClock())
        with pytest.raises(TransportError) as refused:
            await line.connect()
        [reading, *_] = (await line.read_inputs()).values()
        await line.close()
        message = str(refused.value)
        assert (f"server certificate {sha256_fingerprint(certificates.server.certificate_der)} is not the pinned "
                f"certificate {impostor}") in message
        assert reading.quality is Quality.BAD_COMM and "is not the pinned certificate" in (reading.error or "")


def test_sim_serve_security_options_are_checked_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    for args, expected in [
        (["--secure", "--trust-any-client"], "--user: --secure needs at least one --user"),
        (["--secure", "--user", USER], "--trust-dir: --secure needs --trust-dir DIR or --trust-any-client"),
        (["--secure", "--trust-any-client", "--user", USER], "--password-file: 1 --user but 0 --password-file"),
        (["--user", USER], "--user: only with --secure"),
    ]:
        result = runner.invoke(app, ["sim", "serve", "--opcua-port", str(free_port()), "--modbus-port", "0", *args])
        assert result.exit_code == 2, result.output
        assert expected in " ".join(result.output.split())


async def retry(action: Callable[[], Awaitable[T]], proc: asyncio.subprocess.Process, what: str) -> T:
    """``action`` once the served simulator answers (it takes seconds to start)."""
    deadline = time.monotonic() + 60.0
    while True:
        assert proc.returncode is None, f"sim serve exited ({what})"
        try:
            return await asyncio.wait_for(action(), timeout=10.0)
        except (TimeoutError, OSError, ConnectionError, TransportError, CertificateError):
            assert time.monotonic() < deadline, f"sim serve did not answer: {what}"
            await asyncio.sleep(0.3)


async def anonymous_write(port: int) -> Exception | None:
    """Write a setpoint as an anonymous client; None if accepted, else the refusal."""
    async with Client(f"opc.tcp://127.0.0.1:{port}/poreline/", timeout=5.0) as client:
        idx = await client.get_namespace_index(NAMESPACE_URI)
        node = client.get_node(ua.NodeId(SETPOINT, idx))
        try:
            await node.write_value(ua.DataValue(ua.Variant(21.5, ua.VariantType.Float)))
        except ua.UaStatusCodeError as refused:
            return refused
        assert await node.read_value() == pytest.approx(21.5)
        return None


@contextlib.asynccontextmanager
async def sim_serve(*args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller.cli", "sim", "serve", "--line", "casting", "--modbus-port", "0", *args,
        cwd=REPO_ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=15.0)


async def test_sim_serve_refuses_anonymous_writes_unless_allowed_and_secure_serves_its_users(
        tmp_path: Path, certificates: Certificates) -> None:
    """Three ``sim serve`` processes at once (each takes seconds to start): the default, with
    ``--allow-anonymous-writes``, and ``--secure`` with a user and a certificate it makes."""
    (tmp_path / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    certificate, key = tmp_path / "trusted" / "sim-server.der", tmp_path / "sim-server-key.pem"
    default_port, allowing_port, secure_port = free_port(), free_port(), free_port()
    async with contextlib.AsyncExitStack() as stack:
        default = await stack.enter_async_context(sim_serve("--opcua-port", str(default_port)))
        allowing = await stack.enter_async_context(
            sim_serve("--opcua-port", str(allowing_port), "--allow-anonymous-writes"))
        secure = await stack.enter_async_context(
            sim_serve("--opcua-port", str(secure_port), "--secure", "--user", USER, "--password-file",
                      str(tmp_path / "password"), "--certificate", str(certificate), "--private-key", str(key),
                      "--trust-any-client"))
        refused = await retry(lambda: anonymous_write(default_port), default, "default")
        assert isinstance(refused, ua.uaerrors.BadUserAccessDenied)
        assert await retry(lambda: anonymous_write(allowing_port), allowing, "--allow-anonymous-writes") is None

        async def secure_session() -> None:
            pin = sha256_fingerprint(read_certificate(certificate).public_bytes(Encoding.DER))
            transport = OpcUaTransport(
                f"opc.tcp://127.0.0.1:{secure_port}/poreline/", DEFINITION, ("quench_bath",), clock=WallClock(),
                timeout_s=3.0, security=ClientSecurity(policy=SecurityPolicy.BASIC256SHA256, username=USER,
                                                       password=PASSWORD, server_certificate_sha256=pin,
                                                       certificate=certificates.client))
            try:
                await transport.connect()
                await transport.write("quench_bath", {"heater_output_pct": 21.5})
                [reading] = await transport.read()
                assert reading.quality is Quality.GOOD, reading.error
            finally:
                await transport.close()

        async def secure_certificate_made() -> None:
            if not certificate.exists():
                raise OSError("not yet")

        await retry(secure_certificate_made, secure, "--secure certificate")
        assert (key.stat().st_mode & 0o777) == 0o600
        await retry(secure_session, secure, "--secure session")
        with pytest.raises((ua.UaError, OSError, TimeoutError)):  # no None endpoint, no anonymous token
            await anonymous_write(secure_port)
