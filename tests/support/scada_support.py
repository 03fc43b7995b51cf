"""Helpers for the SCADA facade's tests and bench: a seeded database, a SCADA client over
Basic256Sha256 SignAndEncrypt, free loopback ports and scan gaps from the runtime's health."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from argon2 import PasswordHasher
from asyncua import Client, ua
from asyncua.crypto import uacrypto
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from sqlalchemy.orm import Session

from controller.runtime.health import ScanHealth
from controller.runtime.service import LineService
from controller.scada import FacadeSettings, OpcUaFacade
from controller.store import create_engine_for, recipes, upgrade
from controller.store.users import add_user, hash_password
from drivers.opcua.security import CertificatePair

PASSWORD = "scada-password-long"
CLIENT_URI = "urn:poreline:tests:scada-client"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_users(url: str, users: dict[str, str], *, real_hash: bool = False, recipe: tuple[str, str] | None = None) -> None:
    """Migrate ``url`` and add ``users`` (name -> role) with :data:`PASSWORD`; ``real_hash``:
    the store's own argon2 parameters (a login costs what it costs on a plant), else cheap
    ones. ``recipe`` (id, YAML) is created and released for production (by two engineers)."""
    upgrade(url)
    db = create_engine_for(url)
    try:
        with Session(db) as session:
            people = {name: add_user(session, name, hash_password(PASSWORD) if real_hash else FAST_HASHER.hash(PASSWORD),
                                     role) for name, role in users.items()}
            if recipe is not None:
                recipe_id, text = recipe
                engineers = [p for p in people.values() if p.role == "engineer"]
                recipes.create_version(session, recipe_id, text, engineers[0].username)
                recipes.release_for_testing(session, recipe_id, 1, engineers[0], "tested on the simulator")
                recipes.release_for_production(session, recipe_id, 1, engineers[1], "approved")
            session.commit()
    finally:
        db.dispose()


async def scada_client(endpoint: str, certificate: CertificatePair, user: str | None,
                       password: str = PASSWORD, timeout_s: float = 10.0) -> Client:
    """A client over Basic256Sha256 SignAndEncrypt (not connected yet)."""
    client = Client(endpoint, timeout=timeout_s)
    client.application_uri = CLIENT_URI
    await client.set_security(
        SecurityPolicyBasic256Sha256,
        certificate=uacrypto.CertProperties(certificate.certificate_der, extension="der"),
        private_key=uacrypto.CertProperties(certificate.private_key_pem, extension="pem"),
        mode=ua.MessageSecurityMode.SignAndEncrypt)
    if user is not None:
        client.set_user(user)
        client.set_password(password)
    return client


def periods_since(health: ScanHealth, scans_before: int) -> list[float]:
    """The scan periods (wall s) the runtime recorded since it had done ``scans_before`` scans."""
    new = health.scans - scans_before
    periods = list(health.periods_s)
    return periods[-new:] if new > 0 else []


@asynccontextmanager
async def serving(service: LineService, certificate: CertificatePair,
                  type_cache_dir: Path | None = None) -> AsyncIterator[tuple[OpcUaFacade, str]]:
    """``service`` with its OPC UA server on a free loopback port (any client certificate
    trusted): the address space built before the line scans (type nodesets cached in
    ``type_cache_dir``), the user store read once the database is migrated; (the facade,
    its endpoint). Stops both."""
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/poreline/"
    facade = OpcUaFacade(service, FacadeSettings(endpoint, certificate, trust_any_client=True,
                                                 type_cache_dir=type_cache_dir))
    await facade.start()
    try:
        await service.start()
        await facade.refresh_users()
        yield facade, endpoint
    finally:
        await facade.stop()
        await service.stop()
