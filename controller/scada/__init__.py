"""The line's own OPC UA server for plant SCADA (OPC 30050 PackML), in the line runtime's
process: the address space (``packml``), users and roles (``access``), the recipe a Start
runs (``recipes``), engineering units (``units``), a kind's companion specification such as
EUROMAP 84 (``companion``) and the server (``facade``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.scada.facade import FacadeSettings, OpcUaFacade
    from controller.scada.packml import NAMESPACE_URI, PACKML_URI

__all__ = ["NAMESPACE_URI", "PACKML_URI", "FacadeSettings", "OpcUaFacade"]

_LAZY = {"FacadeSettings": "facade", "OpcUaFacade": "facade", "NAMESPACE_URI": "packml", "PACKML_URI": "packml"}


def __getattr__(name: str) -> Any:
    """The server's names on first use (PEP 562): importing a light submodule, such as the
    Modbus block's map for ``poreline profiles``, does not load asyncua and the facade."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
