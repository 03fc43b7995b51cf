"""The ``poreline`` command line (typer + rich): recipes and runs (``main``), the simulator
as virtual PLCs and the published maps (``hil``), administration (``admin``)."""

from controller.cli.main import app, main

__all__ = ["app", "main"]
