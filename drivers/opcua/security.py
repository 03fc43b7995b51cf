"""Certificates for OPC UA Basic256Sha256 SignAndEncrypt, made in memory.

Both the simulator's server and the OPC UA transport generate a self-signed application
instance certificate at start when none is given. OPC UA requires the certificate's
SubjectAltName URI to equal the application URI the application announces; the helper
puts the URI, the host name, ``localhost`` and ``127.0.0.1`` into the SubjectAltName.
Nothing is written to disk.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID


@dataclass(frozen=True, slots=True)
class CertificatePair:
    certificate_der: bytes
    private_key_pem: bytes


def make_self_signed_certificate(application_uri: str, common_name: str, *, server: bool) -> CertificatePair:
    """A 2048-bit RSA key and a one-year self-signed certificate for ``application_uri``."""
    host_name = socket.gethostname()
    key = cert_gen.generate_private_key()
    alt_names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(application_uri),
        x509.DNSName(host_name),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    usage = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    certificate = cert_gen.generate_self_signed_app_certificate(
        key, common_name, {}, alt_names, extended=usage, days=365
    )
    return CertificatePair(
        certificate_der=certificate.public_bytes(encoding=Encoding.DER),
        private_key_pem=cert_gen.dump_private_key_as_pem(key),
    )
