"""Plant files: the OPC UA ``security:`` block (issue 11, item 7).

Passwords come from an environment variable or a file, never from the plant file; policy
None to a non-loopback endpoint is refused when the file is loaded, naming the field, unless
the endpoint says ``insecure: true``; every wrong value is named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import DEPLOY, HIL_DATA
from typer.testing import CliRunner

from controller.assembly.plant_file import PlantConfigError, build_hardware_line, load_plant_config
from controller.cli.main import app
from controller.lines.casting.definition import casting_line
from drivers.clock import WallClock
from drivers.opcua.client import OpcUaTransport
from drivers.opcua.security import CertificatePair, SecurityMode, SecurityPolicy, make_self_signed_certificate

LINE = casting_line()
PASSWORD = "plant-file-secret-0451"
PIN = "AB:" * 31 + "AB"
REMOTE = "opc.tcp://10.0.4.21:4840/"


@pytest.fixture(scope="session")
def server_certificate() -> CertificatePair:
    return make_self_signed_certificate("urn:test:plc", "test PLC", server=True)


def plant(tmp_path: Path, security: str = "", *, url: str = REMOTE, extra: str = "") -> Path:
    """A one-endpoint OPC UA plant file; ``security`` is the block's YAML flow mapping."""
    text = f"line: casting\nendpoints:\n  - {{name: ua, transport: opcua, url: '{url}', devices: all{extra}"
    text += f", security: {security}}}\n" if security else "}\n"
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(PlantConfigError) as info:
        load_plant_config(path)
    message = str(info.value)
    assert "\n" not in message
    return message


async def transport_of(path: Path) -> OpcUaTransport:
    line = build_hardware_line(path, LINE, WallClock())
    [transport] = line._transports
    assert isinstance(transport, OpcUaTransport)
    await line.close()
    return transport


async def test_password_from_an_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORELINE_TEST_UA_PASSWORD", PASSWORD)
    path = plant(tmp_path, f"{{user: poreline, password_env: PORELINE_TEST_UA_PASSWORD, "
                           f"server_certificate_sha256: '{PIN}'}}")
    security = (await transport_of(path))._security
    assert (security.policy, security.mode) == (SecurityPolicy.BASIC256SHA256, SecurityMode.SIGN_AND_ENCRYPT)
    assert (security.username, security.password) == ("poreline", PASSWORD)
    assert PASSWORD not in repr(security)

    monkeypatch.delenv("PORELINE_TEST_UA_PASSWORD")
    message = load_error(path)
    assert "endpoints[0] (ua): security.password_env" in message and "PORELINE_TEST_UA_PASSWORD" in message


async def test_password_from_a_file_relative_to_the_plant_file(tmp_path: Path) -> None:
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ua.password").write_text(f"{PASSWORD}\nsecond line ignored\n", encoding="utf-8")
    path = plant(tmp_path, f"{{policy: Aes256_Sha256_RsaPss, mode: Sign, user: poreline, "
                           f"password_file: secrets/ua.password, server_certificate_sha256: '{PIN}'}}")
    security = (await transport_of(path))._security
    assert (security.policy, security.mode, security.password) == (
        SecurityPolicy.AES256_SHA256_RSAPSS, SecurityMode.SIGN, PASSWORD)

    (tmp_path / "secrets" / "ua.password").unlink()
    message = load_error(path)
    assert "security.password_file" in message and "cannot read" in message


def test_a_password_in_the_plant_file_is_refused_without_echoing_it(tmp_path: Path) -> None:
    message = load_error(plant(tmp_path, f"{{user: poreline, password: {PASSWORD}, server_certificate_sha256: '{PIN}'}}"))
    assert "security.password" in message and "never written in a plant file" in message
    assert PASSWORD not in message


@pytest.mark.parametrize("security", ["", "{policy: None}"])
def test_policy_none_to_a_non_loopback_endpoint_is_refused_at_load(tmp_path: Path, security: str) -> None:
    message = load_error(plant(tmp_path, security))
    assert "endpoints[0] (ua): security.policy: None to 10.0.4.21 (not a loopback address) is refused" in message
    assert "insecure: true" in message  # says how to accept it deliberately


async def test_insecure_true_allows_policy_none_to_a_remote_endpoint(tmp_path: Path) -> None:
    security = (await transport_of(plant(tmp_path, extra=", insecure: true")))._security
    assert security.policy is SecurityPolicy.NONE and security.insecure


@pytest.mark.parametrize("url", ["opc.tcp://127.0.0.1:4840/", "opc.tcp://localhost:4840/", "opc.tcp://[::1]:4840/"])
async def test_policy_none_to_loopback_needs_no_security_block(tmp_path: Path, url: str) -> None:
    assert (await transport_of(plant(tmp_path, url=url)))._security.policy is SecurityPolicy.NONE


@pytest.mark.parametrize(("security", "expected"), [
    ("{policy: Basic128Rsa15}", "endpoints[0].security.policy: Input should be"),
    ("{policy: Basic256Sha256, mode: Encrypt}", "endpoints[0].security.mode: Input should be"),
    ("{policy: Basic256Sha256, colour: red}", "endpoints[0].security.colour: Extra inputs are not permitted"),
])
def test_unknown_policy_mode_or_field_is_named(tmp_path: Path, security: str, expected: str) -> None:
    message = load_error(plant(tmp_path, security))
    assert expected in message
    for bad in ("Basic128Rsa15", "Encrypt"):
        if bad in security:
            assert f"(got '{bad}')" in message


@pytest.mark.parametrize(("security", "expected"), [
    ("{user: poreline, password_env: X}", "security.server_certificate_sha256: pin the server certificate"),
    ("{server_certificate_sha256: 'ab:cd'}", "security.server_certificate_sha256: expected a SHA-256 fingerprint"),
    (f"{{user: poreline, server_certificate_sha256: '{PIN}'}}", "security.user: needs password_env or password_file"),
    (f"{{password_env: X, server_certificate_sha256: '{PIN}'}}", "security.password_env: needs security.user"),
    ("{policy: None, user: poreline}", "security.user: policy None would send the password in clear"),
    (f"{{server_certificate_sha256: '{PIN}', trust_dir: certs}}", "security.trust_dir: give server_certificate_sha256 "
                                                                  "or trust_dir, not both"),
])
def test_incomplete_or_contradictory_security_is_named(tmp_path: Path, security: str, expected: str) -> None:
    assert expected in load_error(plant(tmp_path, security, url="opc.tcp://127.0.0.1:4840/"))


def test_a_trust_list_must_hold_certificates(tmp_path: Path, server_certificate: CertificatePair) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    path = plant(tmp_path, "{trust_dir: trusted}")
    assert "security.trust_dir" in load_error(path) and "holds no .der or .pem certificate" in load_error(path)
    (trusted / "bad.pem").write_text("not a certificate", encoding="utf-8")
    assert "security.trust_dir" in load_error(path) and "not a DER or PEM certificate" in load_error(path)
    (trusted / "bad.pem").unlink()
    (trusted / "plc.der").write_bytes(server_certificate.certificate_der)
    load_plant_config(path)


async def test_the_secure_deploy_example_builds_with_its_credentials(tmp_path: Path,
                                                                     server_certificate: CertificatePair) -> None:
    """deploy/plant-opcua-secure.yaml as shipped, where ``sim serve --secure`` leaves its files."""
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    path = deploy / "plant-opcua-secure.yaml"
    path.write_text((DEPLOY / "plant-opcua-secure.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    message = load_error(path)  # nothing there yet: the first missing credential is named
    assert "security.password_file" in message and str(tmp_path / "var" / "opcua" / "password") in message
    (tmp_path / "var" / "opcua" / "trusted").mkdir(parents=True)
    (tmp_path / "var" / "opcua" / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    (tmp_path / "var" / "opcua" / "trusted" / "sim-server.der").write_bytes(server_certificate.certificate_der)
    security = (await transport_of(path))._security
    assert (security.policy, security.username, security.password) == (
        SecurityPolicy.BASIC256SHA256, "poreline", PASSWORD)
    assert security.trust_dir == tmp_path / "var" / "opcua" / "trusted"


def test_poreline_run_refuses_an_insecure_remote_plant_file_in_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["run", str(HIL_DATA / "short-casting.yaml"), "--plant", str(plant(tmp_path)),
                                      "--database", f"sqlite:///{tmp_path / 'db.sqlite'}"])
    assert result.exit_code == 2
    assert "security.policy: None to 10.0.4.21" in " ".join(result.output.split())
