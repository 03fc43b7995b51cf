"""Where ``poreline serve`` may listen: a loopback address as it is; any other address only
over HTTPS (``--tls-cert``/``--tls-key``) unless ``--insecure-http`` is given, since
passwords and bearer tokens would otherwise cross the plant network readable."""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

__all__ = ["bind_refusal", "is_loopback"]


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP (127.0.0.0/8, ::1); any other name may resolve anywhere."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bind_refusal(host: str, tls_cert: Path | None, tls_key: Path | None, insecure_http: bool) -> str | None:
    """Why the server may not start this way (one line saying what to do), or None."""
    if (tls_cert is None) != (tls_key is None):
        return "give both --tls-cert and --tls-key (the PEM certificate and its private key), or neither"
    if tls_cert is not None and tls_key is not None:
        for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
            if not path.is_file():
                return f"{option}: no file at {path}"
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls_cert, tls_key)
        except (ssl.SSLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
            return f"--tls-cert/--tls-key: cannot load the certificate and its key ({reason}); give a PEM pair"
        return None
    if is_loopback(host) or insecure_http:
        return None
    return (f"--host {host} is not a loopback address: serve HTTPS with --tls-cert FILE --tls-key FILE, "
            "or give --insecure-http to send passwords and tokens unencrypted on that network")
