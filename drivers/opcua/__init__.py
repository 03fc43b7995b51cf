"""OPC UA: the node map derived from the profiles, the client transport and its security.

The names below load their module on first use (PEP 562): asyncua takes ~0.6 s to import,
and a line on Modbus or the simulator, or a command that never speaks OPC UA, does not pay it."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.opcua.client import ClientSecurity, OpcUaTransport
    from drivers.opcua.map import NAMESPACE_URI, TagNode, device_tag_nodes, line_tag_nodes
    from drivers.opcua.security import (
        CertificatePair,
        SecurityMode,
        SecurityPolicy,
        make_self_signed_certificate,
        sha256_fingerprint,
    )

_MODULE_OF = {
    "ClientSecurity": "client", "OpcUaTransport": "client",
    "NAMESPACE_URI": "map", "TagNode": "map", "device_tag_nodes": "map", "line_tag_nodes": "map",
    "CertificatePair": "security", "SecurityMode": "security", "SecurityPolicy": "security",
    "make_self_signed_certificate": "security", "sha256_fingerprint": "security",
}

__all__ = ["NAMESPACE_URI", "CertificatePair", "ClientSecurity", "OpcUaTransport", "SecurityMode", "SecurityPolicy",
           "TagNode", "device_tag_nodes", "line_tag_nodes", "make_self_signed_certificate", "sha256_fingerprint"]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
