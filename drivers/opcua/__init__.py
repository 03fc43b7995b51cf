"""OPC UA: the node map derived from the profiles, the client transport and its certificates."""

from drivers.opcua.client import ClientSecurity, OpcUaTransport
from drivers.opcua.map import NAMESPACE_URI, TagNode, device_tag_nodes, line_tag_nodes
from drivers.opcua.security import CertificatePair, make_self_signed_certificate

__all__ = ["NAMESPACE_URI", "CertificatePair", "ClientSecurity", "OpcUaTransport", "TagNode", "device_tag_nodes",
           "line_tag_nodes", "make_self_signed_certificate"]
