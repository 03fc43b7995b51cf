"""A line runtime on the simulator or on Modbus starts without the OPC UA stack: asyncua takes
~0.6 s to import, and every API start and every test that starts a runtime paid it."""

from __future__ import annotations

import subprocess
import sys

import drivers.opcua


def test_the_runtime_command_loads_no_opcua_stack() -> None:
    code = ("import sys, controller.cli.line, controller.runtime.service, controller.runtime.server, "
            "controller.assembly; print(sorted(m for m in sys.modules if m.split('.')[0] == 'asyncua'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_every_name_drivers_opcua_offers_resolves() -> None:
    for name in drivers.opcua.__all__:
        assert getattr(drivers.opcua, name) is not None, name
    assert drivers.opcua.OpcUaTransport.__module__ == "drivers.opcua.client"
