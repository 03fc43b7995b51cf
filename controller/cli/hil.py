"""Hardware-in-the-loop commands: ``poreline sim serve`` (the simulator as virtual PLCs)
and ``poreline profiles`` (the published maps), registered on the main app by :func:`register`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

import typer

from controller.cli.common import LineOption, compile_recipe_file, console, line_kind
from controller.cli.profiles import ProfileFormat, render_profiles


def register(app: typer.Typer) -> None:
    """Add ``sim serve`` and ``profiles`` to the ``poreline`` app."""
    sim = typer.Typer(help="The simulator served as virtual PLCs.", no_args_is_help=True)
    app.add_typer(sim, name="sim")

    @sim.command("serve")
    def serve(
        line: LineOption = None,
        modbus_port: Annotated[int, typer.Option(help="Modbus/TCP port on 127.0.0.1")] = 5020,
        opcua_port: Annotated[int, typer.Option(help="OPC UA port on 127.0.0.1")] = 4840,
        host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
        speed: Annotated[float, typer.Option(help="Simulated seconds per wall second")] = 1.0,
        seed: Annotated[int, typer.Option(help="Simulator noise seed")] = 0,
        watchdog_s: Annotated[float, typer.Option(
            "--watchdog", help="Heartbeat watchdog, wall seconds")] = 3.0,
        recipe: Annotated[Path | None, typer.Option(
            exists=True, dir_okay=False,
            help="Prepare the plant for this recipe (e.g. charge the dope vessels, feed the polymer)")] = None,
    ) -> None:
        """Serve a simulated line over Modbus/TCP and OPC UA until interrupted."""
        from controller.assembly import simulated_plant
        from simulator.serve.runner import ServedPlant

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        compiled = compile_recipe_file(recipe) if recipe is not None else None
        kind = line_kind(compiled.header.line_kind if compiled is not None and line is None else line)
        definition = kind.definition()
        try:
            plant = simulated_plant(kind, definition, compiled, seed)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        served = ServedPlant(plant, definition, host=host, modbus_port=modbus_port, opcua_port=opcua_port,
                             speed=speed, watchdog_s=watchdog_s)

        async def go() -> None:
            await served.start()
            console.print(f"serving {definition.name}: Modbus/TCP {host}:{served.modbus_port}, "
                          f"OPC UA {served.opcua_endpoint}, speed {speed:g}x, watchdog {watchdog_s:g} s",
                          highlight=False)
            try:
                await asyncio.Event().wait()  # until interrupted
            finally:
                await served.stop()

        try:
            asyncio.run(go())
        except KeyboardInterrupt:
            console.print("stopped")

    @app.command("profiles")
    def profiles(
        fmt: Annotated[ProfileFormat, typer.Option("--format", help="json or markdown")] = ProfileFormat.JSON,
        line: LineOption = None,
    ) -> None:
        """Print every device's tags with units, limits, Modbus and OPC UA addresses, and the
        derived tags the controller computes."""
        typer.echo(render_profiles(line_kind(line).definition(), fmt))
