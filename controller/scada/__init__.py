"""The line's own OPC UA server for plant SCADA (OPC 30050 PackML), in the line runtime's
process: the address space (``packml``), users and roles (``access``), the recipe a Start
runs (``recipes``), engineering units (``units``), a kind's companion specification such as
EUROMAP 84 (``companion``) and the server (``facade``)."""

from controller.scada.facade import FacadeSettings, OpcUaFacade
from controller.scada.packml import NAMESPACE_URI, PACKML_URI

__all__ = ["NAMESPACE_URI", "PACKML_URI", "FacadeSettings", "OpcUaFacade"]
