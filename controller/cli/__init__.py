"""The ``poreline`` command line (typer + rich): recipes and runs (``main``), the simulator
as virtual PLCs and the published maps (``hil``), administration (``admin``).

``app`` and ``main`` load every command on first use (PEP 562), so that one command run as
its own module (``python -m controller.cli.line run``) loads only what it needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from controller.cli.main import app, main

__all__ = ["app", "main"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module("controller.cli.main"), name)
