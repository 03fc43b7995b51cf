"""Helpers of the hardware-in-the-loop tests: free loopback ports, the casting plant
served for a recipe, a plant file for its ports, and waiting for a condition.

(Test code: it lives under ``tests/support/``, on the test path by ``pythonpath`` in
pyproject.toml, because it builds the plant through ``controller.simulation`` and the
``simulator`` package never imports ``controller``.)"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from pathlib import Path

from controller.assembly import simulated_plant
from controller.lines import builtin_line, compile_for_line, kind_named
from controller.recipe.model import CompiledRecipe
from drivers.definition import LineDefinition
from simulator.casting.plant import CastingPlant
from simulator.serve.runner import ServedPlant

SHORT_RECIPE = Path(__file__).resolve().parents[1] / "hil_data" / "short-casting.yaml"
SPEED = 100.0  # simulated seconds per wall second, plant and controller alike


def free_port() -> int:
    """A TCP port the OS says is free on 127.0.0.1 (a small race is accepted in tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def short_recipe() -> CompiledRecipe:
    """The HIL tests' short casting recipe (about 200 simulated seconds)."""
    definition, control = builtin_line("casting")
    return compile_for_line(SHORT_RECIPE.read_text(encoding="utf-8"), definition, control)


def served_plant(recipe: CompiledRecipe, *, speed: float = SPEED, watchdog_s: float = 3.0,
                 seed: int = 0) -> tuple[ServedPlant, CastingPlant, LineDefinition]:
    definition, _control = builtin_line("casting")
    plant = simulated_plant(kind_named(definition.kind), definition, recipe, seed)
    assert isinstance(plant, CastingPlant)
    served = ServedPlant(plant, definition, modbus_port=free_port(), opcua_port=free_port(),
                         speed=speed, step_s=0.02, watchdog_s=watchdog_s)
    return served, plant, definition


def plant_file(tmp_path: Path, *, modbus_port: int | None, opcua_port: int | None,
               modbus_devices: str = "all", opcua_devices: str = "all") -> Path:
    """A plant file for a served plant's ports (None: no endpoint of that kind)."""
    text = "line: casting\nendpoints:\n"
    if modbus_port is not None:
        text += (f"  - {{name: plc, transport: modbus, host: 127.0.0.1, port: {modbus_port}, "
                 f"map_devices: line, devices: {modbus_devices}}}\n")
    if opcua_port is not None:
        text += (f"  - {{name: ua, transport: opcua, url: 'opc.tcp://127.0.0.1:{opcua_port}/poreline/', "
                 f"devices: {opcua_devices}}}\n")
    path = tmp_path / "plant.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 10 ms; fail naming ``what`` after ``timeout_s`` wall seconds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.01)
