"""OPC UA security: policies and modes, certificates, and checking a server's certificate.

- :class:`SecurityPolicy` / :class:`SecurityMode`: the names a plant file uses, mapped to
  asyncua's policy classes and message security modes.
- Certificates: :func:`make_self_signed_certificate` makes an application instance
  certificate in memory (OPC UA requires the certificate's SubjectAltName URI to equal the
  application URI the application announces; the helper puts the URI, the host name,
  ``localhost`` and ``127.0.0.1`` into the SubjectAltName). :func:`load_certificate_pair`
  reads a certificate and its private key from files (DER or PEM, key unencrypted) and
  checks that they belong together; :func:`write_certificate_pair` writes one (key 0600).
- :class:`ServerCertificateCheck`: the client's decision to trust a server certificate,
  either by its SHA-256 fingerprint (a pin) or by a trust-list directory of certificates
  (the server's own certificate or the CA that issued it, DER or PEM; asyncua's
  ``TrustStore`` + ``CertificateValidator``: validity period, application URI, chain).
  A certificate is never trusted just because the server presents it.
- :func:`is_loopback_url`: whether an ``opc.tcp://`` URL points at this machine (policy
  None is only accepted there unless a plant file says ``insecure: true``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

if TYPE_CHECKING:  # asyncua is imported where it is used: a plant file or command without OPC UA never loads it
    from asyncua import ua
    from asyncua.crypto import security_policies

CERTIFICATE_SUFFIXES = (".der", ".pem")  # what asyncua's TrustStore loads


class SecurityPolicy(StrEnum):
    """OPC UA security policies (the part after ``#`` of the policy URI)."""

    NONE = "None"
    BASIC256SHA256 = "Basic256Sha256"
    AES128_SHA256_RSAOAEP = "Aes128_Sha256_RsaOaep"
    AES256_SHA256_RSAPSS = "Aes256_Sha256_RsaPss"


class SecurityMode(StrEnum):
    SIGN = "Sign"
    SIGN_AND_ENCRYPT = "SignAndEncrypt"


def policy_class(policy: SecurityPolicy) -> type[security_policies.SecurityPolicy]:
    from asyncua.crypto import security_policies

    classes: dict[SecurityPolicy, type[security_policies.SecurityPolicy]] = {
        SecurityPolicy.NONE: security_policies.SecurityPolicyNone,
        SecurityPolicy.BASIC256SHA256: security_policies.SecurityPolicyBasic256Sha256,
        SecurityPolicy.AES128_SHA256_RSAOAEP: security_policies.SecurityPolicyAes128Sha256RsaOaep,
        SecurityPolicy.AES256_SHA256_RSAPSS: security_policies.SecurityPolicyAes256Sha256RsaPss,
    }
    return classes[policy]


def message_security_mode(mode: SecurityMode) -> ua.MessageSecurityMode:
    from asyncua import ua

    if mode is SecurityMode.SIGN:
        return ua.MessageSecurityMode.Sign
    return ua.MessageSecurityMode.SignAndEncrypt


class PasswordFileError(ValueError):
    """A password file that cannot be read, is not UTF-8 or is empty (the message names the file)."""


def read_password_file(path: Path) -> str:
    """The first line of ``path`` (a trailing newline is not part of the password)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PasswordFileError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PasswordFileError(f"{path} is not UTF-8 at byte {exc.start}") from None
    password = text.split("\n", 1)[0].rstrip("\r")
    if not password:
        raise PasswordFileError(f"{path} is empty")
    return password


class CertificateError(ValueError):
    """A certificate or key that cannot be used, or a server certificate not trusted."""


@dataclass(frozen=True, slots=True)
class CertificatePair:
    certificate_der: bytes
    private_key_pem: bytes = field(repr=False)


# ---------------------------------------------------------------------- fingerprints, URLs
def sha256_fingerprint(certificate_der: bytes) -> str:
    """``AB:CD:...``: the form ``openssl x509 -noout -fingerprint -sha256`` prints."""
    digest = hashlib.sha256(certificate_der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def normalize_fingerprint(text: str) -> str:
    """64 lower-case hex digits from a fingerprint written with or without colons/spaces."""
    digits = text.replace(":", "").replace(" ", "").lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError("expected a SHA-256 fingerprint: 64 hex digits, colons allowed")
    return digits


def is_loopback_url(url: str) -> bool:
    """True for ``opc.tcp://localhost...``, ``127.x.x.x`` and ``[::1]``; False for anything else."""
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_host(url: str) -> str:
    return urlparse(url).hostname or url


# ---------------------------------------------------------------------- certificates
def make_self_signed_certificate(application_uri: str, common_name: str, *, server: bool) -> CertificatePair:
    """A 2048-bit RSA key and a one-year self-signed certificate for ``application_uri``."""
    from asyncua.crypto import cert_gen

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


def load_certificate_pair(certificate_path: Path, private_key_path: Path) -> CertificatePair:
    """Read a certificate (DER or PEM) and its unencrypted RSA private key (PEM or DER);
    CertificateError saying which file is wrong and why."""
    certificate = read_certificate(certificate_path)
    try:
        data = private_key_path.read_bytes()
    except OSError as error:
        raise CertificateError(f"cannot read {private_key_path}: {error.strerror}") from None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except TypeError:
        raise CertificateError(f"{private_key_path}: the key is encrypted (give an unencrypted key)") from None
    except ValueError:
        raise CertificateError(f"{private_key_path}: not a PEM or DER private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CertificateError(f"{private_key_path}: OPC UA needs an RSA key")
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(Encoding.DER, public) != certificate.public_key().public_bytes(Encoding.DER, public):
        raise CertificateError(f"{private_key_path}: the key does not belong to {certificate_path}")
    pem = key.private_bytes(Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return CertificatePair(certificate.public_bytes(Encoding.DER), pem)


def read_certificate(path: Path) -> x509.Certificate:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CertificateError(f"cannot read {path}: {error.strerror}") from None
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError:
        raise CertificateError(f"{path}: not a DER or PEM certificate") from None


def write_certificate_pair(pair: CertificatePair, certificate_path: Path, private_key_path: Path) -> None:
    """Write the certificate (DER) and the private key (PEM, mode 0600, never overwritten),
    making their directories when missing."""
    private_key_path.parent.mkdir(parents=True, exist_ok=True)
    certificate_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(pair.private_key_pem)
    certificate_path.write_bytes(pair.certificate_der)


def application_uri_of(certificate_der: bytes) -> str | None:
    """The first URI in the certificate's SubjectAltName (the OPC UA application URI)."""
    certificate = x509.load_der_x509_certificate(certificate_der)
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    uris = names.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def first_certificate(der: bytes) -> bytes:
    """The leading certificate of a (possibly chained) DER blob: the outer SEQUENCE with its
    DER length (short form, or long form with up to four length bytes)."""
    if len(der) < 2 or der[0] != 0x30:
        return b""
    length, header = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or len(der) < 2 + count:
            return b""
        length, header = int.from_bytes(der[2:2 + count], "big"), 2 + count
    end = header + length
    return der[:end] if end <= len(der) else b""


def trust_dir_certificates(trust_dir: Path) -> list[Path]:
    """The certificate files of a trust-list directory (``.der`` and ``.pem``)."""
    return sorted(p for p in trust_dir.iterdir() if p.is_file() and p.suffix.lower() in CERTIFICATE_SUFFIXES)


async def trusted_by_directory(certificate: x509.Certificate, application_uri: str, trust_dir: Path,
                               *, peer_is_server: bool) -> None:
    """CertificateError unless ``trust_dir`` trusts ``certificate`` (the very certificate or
    its issuing CA is there), it is in its validity period and its SubjectAltName holds
    ``application_uri``. The directory is read at every call, so a changed trust list
    applies at the next connection."""
    from asyncua import ua
    from asyncua.common.utils import ServiceError
    from asyncua.crypto.truststore import TrustStore
    from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

    store = TrustStore([trust_dir], [])
    try:
        await store.load()
    except (OSError, ValueError) as error:
        raise CertificateError(f"trust list {trust_dir} cannot be read: {error}") from None
    options = (CertificateValidatorOptions.TIME_RANGE | CertificateValidatorOptions.URI
               | CertificateValidatorOptions.TRUSTED)
    options |= CertificateValidatorOptions.PEER_SERVER if peer_is_server else CertificateValidatorOptions.PEER_CLIENT
    description = ua.ApplicationDescription()
    description.ApplicationUri = application_uri
    try:
        await CertificateValidator(options, store).validate(certificate, description)
    except ServiceError as error:
        name = ua.StatusCode(ua.UInt32(error.code)).name
        raise CertificateError(f"not trusted by the trust list {trust_dir} ({name})") from None


@dataclass(frozen=True, slots=True)
class ServerCertificateCheck:
    """How a client decides to trust the server's certificate: exactly one of a SHA-256
    pin (any form :func:`normalize_fingerprint` accepts) or a trust-list directory."""

    sha256: str = ""
    trust_dir: Path | None = None

    def __post_init__(self) -> None:
        if bool(self.sha256) == (self.trust_dir is not None):
            raise ValueError("give the server certificate's SHA-256 pin or a trust-list directory (exactly one)")
        if self.sha256:
            object.__setattr__(self, "sha256", normalize_fingerprint(self.sha256))

    async def verify(self, certificate_der: bytes, application_uri: str) -> None:
        """CertificateError (naming the certificate's fingerprint) unless it is trusted."""
        fingerprint = sha256_fingerprint(certificate_der)
        if self.sha256:
            if hashlib.sha256(certificate_der).hexdigest() != self.sha256:
                raise CertificateError(f"server certificate {fingerprint} is not the pinned certificate "
                                       f"{sha256_fingerprint_from_digest(self.sha256)}")
            return
        assert self.trust_dir is not None
        certificate = x509.load_der_x509_certificate(certificate_der)
        try:
            await trusted_by_directory(certificate, application_uri, self.trust_dir, peer_is_server=True)
        except CertificateError as error:
            raise CertificateError(f"server certificate {fingerprint} {error}") from None


def sha256_fingerprint_from_digest(digits: str) -> str:
    upper = digits.upper()
    return ":".join(upper[i:i + 2] for i in range(0, len(upper), 2))
