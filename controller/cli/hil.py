"""Hardware-in-the-loop commands: ``poreline sim serve``, ``poreline profiles`` and the
``run --plant`` path (registered on the main app by :func:`register`)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from enum import StrEnum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.console import Console

from drivers.lines import LineDefinition
from drivers.modbus.map import ModbusMap, RegisterKind, plan_line_map
from drivers.opcua.map import (
    HEARTBEAT_IDENTIFIER,
    HEARTBEAT_VARIANT_TYPE,
    NAMESPACE_URI,
    device_tag_nodes,
)

console = Console()


class ProfileFormat(StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"


# ------------------------------------------------------------------ published maps

def _expanded_node_id(identifier: str) -> str:
    """The node id with the namespace URI (the index is assigned by the server at start)."""
    return f"nsu={NAMESPACE_URI};s={identifier}"


def profiles_document(definition: LineDefinition, modbus_map: ModbusMap | None = None) -> dict[str, Any]:
    """Every device's tags with unit, direction, limits, safe value and their Modbus and OPC
    UA addresses, read from the maps (``plan_line_map`` of the whole line, as the served
    simulator serves it, unless ``modbus_map`` is given)."""
    modbus_map = modbus_map if modbus_map is not None else plan_line_map(definition)
    heartbeat = modbus_map.heartbeat
    devices: list[dict[str, Any]] = []
    for spec in definition.devices:
        nodes = {n.tag.name: n for n in device_tag_nodes(definition, spec.name)}
        tags: list[dict[str, Any]] = []
        for tag in spec.profile.tags:
            entry = modbus_map.entry(spec.name, tag.name)
            node = nodes[tag.name]
            tags.append({
                "name": tag.name,
                "unit": tag.unit,
                "direction": tag.direction.value,
                "data_type": tag.data_type.value,
                "low": tag.low,
                "high": tag.high,
                "safe_value": tag.safe_value,
                "hold_action": tag.hold_action.value if tag.writable else None,
                "description": tag.description,
                "modbus": {
                    "unit_id": modbus_map.unit_id,
                    "address": entry.address,
                    "reference": entry.reference,
                    "data_type": entry.data_type,
                    "registers": entry.count if entry.bit is None else None,
                    "bit": entry.bit,
                    "word_order": entry.word_order.value if entry.word_order is not None else None,
                    "access": entry.access.value,
                },
                "opcua": {
                    "node_id": _expanded_node_id(node.identifier),
                    "browse_path": "/".join(node.browse_path),
                    "variant_type": node.variant_type.name,
                },
            })
        words = [
            {"name": e.tag, "kind": e.kind.value, "address": e.address, "reference": e.reference,
             "data_type": e.data_type, "access": e.access.value}
            for e in modbus_map.device_entries(spec.name)
            if e.kind in (RegisterKind.STATUS_WORD, RegisterKind.COMMAND_WORD, RegisterKind.COMMAND_ACK)
        ]
        devices.append({
            "name": spec.name,
            "kind": spec.profile.kind,
            "description": spec.profile.description,
            "modbus_base_address": modbus_map.base_address(spec.name),
            "tags": tags,
            "modbus_words": words,
        })
    return {
        "line": definition.name,
        "line_kind": definition.kind,
        "modbus": {
            "unit_id": modbus_map.unit_id,
            "word_order": modbus_map.word_order.value,
            "heartbeat": {"address": heartbeat.address, "reference": heartbeat.reference,
                          "data_type": heartbeat.data_type, "access": heartbeat.access.value},
            "read_blocks": [{"address": b.address, "reference": b.reference, "count": b.count}
                            for b in modbus_map.read_blocks],
        },
        "opcua": {
            "namespace_uri": NAMESPACE_URI,
            "heartbeat": {"node_id": _expanded_node_id(HEARTBEAT_IDENTIFIER),
                          "variant_type": HEARTBEAT_VARIANT_TYPE.name},
        },
        "devices": devices,
    }


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def profiles_markdown(document: dict[str, Any]) -> str:
    mb, ua = document["modbus"], document["opcua"]
    order = "ABCD" if mb["word_order"] == "big" else "CDAB"
    kind = document["line_kind"]
    command = "poreline profiles --format markdown" if kind == "casting" else (
        f"poreline profiles --line {kind} --format markdown")
    out = [
        f"# Register map: line `{document['line']}` ({kind})",
        "",
        f"Generated by `{command}`; do not edit "
        "(`tests/test_register_map_doc.py` fails when it is out of date).",
        "",
        f"- Modbus/TCP: unit id {mb['unit_id']}, holding registers (FC3 read, FC16 write), "
        f"0-based PDU address and 4xxxx reference; float32 = 2 registers, word order "
        f"{mb['word_order']} ({order}); bool tags are bits of status/command words (bit 0 = LSB).",
        f"- Modbus heartbeat: address {mb['heartbeat']['address']} ({mb['heartbeat']['reference']}), "
        f"{mb['heartbeat']['data_type']}, written by the controller every scan.",
        "- Modbus read blocks: " + ", ".join(f"{b['address']}+{b['count']}" for b in mb["read_blocks"]) + ".",
        f"- OPC UA: namespace `{ua['namespace_uri']}` (index assigned by the server, usually 2); "
        f"heartbeat `{ua['heartbeat']['node_id']}` ({ua['heartbeat']['variant_type']}).",
        "",
    ]
    for device in document["devices"]:
        out += [
            f"## {device['name']} ({device['kind']})",
            "",
            f"{device['description'].rstrip('.')}. Modbus base address {device['modbus_base_address']}.",
            "",
            "| tag | unit | direction | type | low | high | safe | address | 4xxxx | bit | Modbus type "
            "| word order | OPC UA node id | variant |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for tag in device["tags"]:
            m, o = tag["modbus"], tag["opcua"]
            out.append(
                f"| {tag['name']} | {tag['unit']} | {tag['direction']} | {tag['data_type']} "
                f"| {_number(tag['low'])} | {_number(tag['high'])} | {_number(tag['safe_value'])} "
                f"| {m['address']} | {m['reference']} | {'' if m['bit'] is None else m['bit']} "
                f"| {m['data_type']} | {m['word_order'] or ''} | `{o['node_id']}` | {o['variant_type']} |"
            )
        if device["modbus_words"]:
            out += ["", "| word | kind | address | 4xxxx | type | access |", "|---|---|---|---|---|---|"]
            for word in device["modbus_words"]:
                out.append(f"| {word['name']} | {word['kind']} | {word['address']} | {word['reference']} "
                           f"| {word['data_type']} | {word['access']} |")
        out.append("")
    return "\n".join(out)


def render_profiles(definition: LineDefinition, fmt: ProfileFormat) -> str:
    document = profiles_document(definition)
    if fmt is ProfileFormat.JSON:
        return json.dumps(document, indent=2)
    return profiles_markdown(document)


# ------------------------------------------------------------------ run --plant

def run_on_plant(compiled: Any, plant_file: Path, *, recorder: Any, url: str, scan_period_s: float,
                 sample_period_s: float, operator: str, speed: float = 1.0) -> int:
    """Run a compiled recipe against the devices of a plant file on wall time (no simulator
    in-process). Returns the exit code: 0 Complete, 3 otherwise."""
    from controller.cli.main import PRODUCT_TAGS, ProductionTally, _summary
    from controller.engine.scan import Engine
    from controller.assembly.plant_file import PlantConfigError, build_hardware_line, load_plant_config, plant_line_control
    from controller.simulation import line_for_kind
    from drivers.clock import WallClock

    definition, _default_control = line_for_kind(compiled.header.line_kind)
    try:
        control = plant_line_control(load_plant_config(plant_file), definition, str(plant_file))
    except PlantConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    clock = WallClock(speed)
    budget_s = sum(s.transition.timeout_s for s in compiled.steps)
    tally = ProductionTally(PRODUCT_TAGS.get(compiled.header.line_kind, ()))

    async def go() -> Engine:
        line = build_hardware_line(plant_file, definition, clock)
        engine = Engine(line, control, clock, scan_period_s=scan_period_s, sample_period_s=sample_period_s,
                        recorder=recorder, operator=operator, simulated=False)
        engine.load(compiled)
        engine.request("start", operator)
        last = [0.0]

        def show(e: Engine) -> None:
            tally.add(e)
            now = time.monotonic()
            if now - last[0] >= 5.0:
                last[0] = now
                st = e.status()
                console.print(f"{st.t_s:9.0f} s  {st.state.value:<10} {st.step_name or ''}")

        try:
            final = await engine.run(max_duration_s=budget_s + 3600.0, on_scan=show)
            if final.value not in ("Complete", "Stopped", "Aborted"):
                engine.request("abort", "system")
                await engine.scan()
        finally:
            await line.close()
        return engine

    wall_start = time.perf_counter()
    try:
        engine = asyncio.run(go())
    except PlantConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    _summary(SimpleNamespace(engine=engine), compiled, time.perf_counter() - wall_start, url, tally)
    return 0 if engine.state.value == "Complete" else 3


# ------------------------------------------------------------------ commands

def register(app: typer.Typer) -> None:
    """Add ``sim serve`` and ``profiles`` to the ``poreline`` app."""
    sim = typer.Typer(help="The simulator served as virtual PLCs.", no_args_is_help=True)
    app.add_typer(sim, name="sim")

    @sim.command("serve")
    def serve(
        line: Annotated[str, typer.Option(help="Built-in line kind")] = "casting",
        modbus_port: Annotated[int, typer.Option(help="Modbus/TCP port on 127.0.0.1")] = 5020,
        opcua_port: Annotated[int, typer.Option(help="OPC UA port on 127.0.0.1")] = 4840,
        host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
        speed: Annotated[float, typer.Option(help="Simulated seconds per wall second")] = 1.0,
        seed: Annotated[int, typer.Option(help="Simulator noise seed")] = 0,
        watchdog_s: Annotated[float, typer.Option(
            "--watchdog", help="Heartbeat watchdog, wall seconds")] = 3.0,
        recipe: Annotated[Path | None, typer.Option(
            exists=True, dir_okay=False,
            help="Prepare the plant for this recipe (casting: charge, fill; foaming: polymer)")] = None,
    ) -> None:
        """Serve the simulated line (casting or foaming) over Modbus/TCP and OPC UA until interrupted."""
        from controller.cli.main import _compile
        from controller.simulation import build_plant, line_for_kind
        from simulator.serve.runner import ServedPlant

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            definition, _control = line_for_kind(line)
            plant = build_plant(definition, _compile(recipe) if recipe is not None else None, seed)
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
        line: Annotated[str, typer.Option(help="Built-in line kind")] = "casting",
    ) -> None:
        """Print every device's tags with units, limits, Modbus and OPC UA addresses."""
        from controller.simulation import line_for_kind

        try:
            definition, _control = line_for_kind(line)
        except ValueError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        typer.echo(render_profiles(definition, fmt))
