"""A burst of first OPC UA logins, wrong and right passwords, each costing one argon2 hash
with the store's own parameters, does not stretch the runtime's scan: the OPC UA server
runs on its own thread and loop. The users stay bound to their sessions: the operator's
command reaches the engine (refused by the state), the viewer's is refused by role."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncua import ua
from scada_support import PASSWORD, free_port, periods_since, scada_client, seed_users

from controller.runtime.service import LineService, RuntimeConfig
from controller.scada import NAMESPACE_URI, FacadeSettings, OpcUaFacade
from controller.scada.access import MAX_VERIFICATIONS
from controller.scada.facade import APPLICATION_URI
from drivers.opcua.security import CertificatePair, make_self_signed_certificate

SCAN_PERIOD_S = 0.1  # wall seconds (speed 1)
MAX_GAP_PERIODS = 3
LINE = "casting-1"
HOLD = ua.NodeId(f"{LINE}.BaseStateMachine.MachineState.ExecuteState.Hold", 0)


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[tuple[LineService, str, CertificatePair]]:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    await asyncio.to_thread(seed_users, url, {"olga": "operator", "vic": "viewer"}, real_hash=True)
    server_pair, client_pair = await asyncio.to_thread(lambda: (
        make_self_signed_certificate(APPLICATION_URI, "Poreline line runtime", server=True),
        make_self_signed_certificate("urn:poreline:tests:scada-client", "Plant SCADA", server=False)))
    service = LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / "runtime", kind="casting",
                                        speed=1.0, scan_period_s=SCAN_PERIOD_S, sample_period_s=30.0))
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/poreline/"
    facade = OpcUaFacade(service, FacadeSettings(endpoint, server_pair, trust_any_client=True))
    await facade.start()
    await service.start()
    await facade.refresh_users()
    try:
        yield service, endpoint, client_pair
    finally:
        await facade.stop()
        await service.stop()


async def _login(endpoint: str, pair: CertificatePair, user: str, password: str) -> str:
    """Log in and call Hold (the line is Idle): the call's status name, or why login failed."""
    client = await scada_client(endpoint, pair, user, password, timeout_s=30.0)
    try:
        await client.connect()
    except ua.UaStatusCodeError as exc:
        return f"login {type(exc).__name__}"
    try:
        ns = await client.get_namespace_index(NAMESPACE_URI)
        unit = client.get_node(ua.NodeId(f"{LINE}.BaseStateMachine.MachineState.ExecuteState", ns))
        try:
            await unit.call_method(ua.NodeId(HOLD.Identifier, ns))
        except ua.UaStatusCodeError as exc:
            return type(exc).__name__
        return "Good"
    finally:
        await client.disconnect()


async def _burst(endpoint: str, pair: CertificatePair) -> list[str]:
    logins = [("olga", "wrong-password-1"), ("vic", "wrong-password-2"), ("olga", "wrong-password-3"),
              ("olga", PASSWORD), ("vic", PASSWORD)]
    assert len(logins) <= MAX_VERIFICATIONS  # every one of them verifies a hash
    return list(await asyncio.gather(*(_login(endpoint, pair, u, p) for u, p in logins)))


async def test_a_burst_of_first_logins_does_not_stretch_the_scan(
        runtime: tuple[LineService, str, CertificatePair]) -> None:
    service, endpoint, pair = runtime
    await asyncio.sleep(5 * SCAN_PERIOD_S)  # scanning steadily
    scans_before = service.health.scans
    started = time.perf_counter()
    # the clients run on a loop of their own (a SCADA is another process): only the server's
    # work is measured against the scan
    outcomes = await asyncio.to_thread(asyncio.run, _burst(endpoint, pair))
    burst_s = time.perf_counter() - started
    await asyncio.sleep(2 * SCAN_PERIOD_S)

    assert outcomes == ["login BadUserAccessDenied"] * 3 + ["BadInvalidState", "BadUserAccessDenied"]
    periods = periods_since(service.health, scans_before)
    assert len(periods) >= burst_s / SCAN_PERIOD_S * 0.5, (len(periods), burst_s)
    assert max(periods) <= MAX_GAP_PERIODS * SCAN_PERIOD_S, \
        f"scan gap {max(periods) * 1000:.0f} ms during a {burst_s:.2f} s login burst"
