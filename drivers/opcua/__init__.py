"""OPC UA: the node map derived from the profiles, the client transport and its security."""

from drivers.opcua.client import ClientSecurity, OpcUaTransport
from drivers.opcua.map import NAMESPACE_URI, TagNode, device_tag_nodes, line_tag_nodes
from drivers.opcua.security import (
    CertificatePair,
    SecurityMode,
    SecurityPolicy,
    make_self_signed_certificate,
    sha256_fingerprint,
)

__all__ = ["NAMESPACE_URI", "CertificatePair", "ClientSecurity", "OpcUaTransport", "SecurityMode", "SecurityPolicy",
           "TagNode", "device_tag_nodes", "line_tag_nodes", "make_self_signed_certificate", "sha256_fingerprint"]
