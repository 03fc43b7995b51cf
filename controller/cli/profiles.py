"""The published maps of a line (``poreline profiles``): every device's tags with unit,
direction, limits and safe value, their Modbus and OPC UA addresses, and the derived tags
the controller computes. ``docs/register-map*.md`` are generated from it."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from controller.scada.block_map import BLOCK_MAP, BLOCK_SIZE, UNIT_ID
from drivers.definition import LineDefinition
from drivers.modbus.map import ModbusMap, RegisterKind, plan_line_map
from drivers.opcua.map import (
    CONTROLLER_OBJECT,
    HEARTBEAT_IDENTIFIER,
    HEARTBEAT_VARIANT_TYPE,
    NAMESPACE_URI,
    WATCHDOG_TRIP_COUNT_VARIABLE,
    WATCHDOG_TRIPPED_VARIABLE,
    device_tag_nodes,
)
from drivers.transport import DEFAULT_PLANT_WATCHDOG_S


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
        derived = [{"name": d.tag.name, "unit": d.tag.unit, "direction": d.tag.direction.value,
                    "low": d.tag.low, "high": d.tag.high, "description": d.tag.description,
                    "computed_by": d.computed_by} for d in definition.derived_on(spec.name)]
        devices.append({
            "name": spec.name,
            "kind": spec.profile.kind,
            "description": spec.profile.description,
            "modbus_base_address": modbus_map.base_address(spec.name),
            "tags": tags,
            "derived_tags": derived,
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
        "watchdog": {
            "timeout_s": DEFAULT_PLANT_WATCHDOG_S,
            "rules": list(WATCHDOG_RULES),
            "opcua_tripped_node_id": _expanded_node_id(f"{CONTROLLER_OBJECT}.{WATCHDOG_TRIPPED_VARIABLE}"),
            "opcua_trip_count_node_id": _expanded_node_id(f"{CONTROLLER_OBJECT}.{WATCHDOG_TRIP_COUNT_VARIABLE}"),
        },
        "status_block": {
            "unit_id": UNIT_ID,
            "size": BLOCK_SIZE,
            "registers": [{"address": r.address, "reference": 40001 + r.address, "count": r.count, "name": r.name,
                           "access": r.access, "meaning": r.meaning} for r in BLOCK_MAP],
        },
        "devices": devices,
    }


# What the served simulator's watchdog does (simulator/serve/runner.py), as a PLC's would.
WATCHDOG_RULES = (
    "It arms on the first change of the heartbeat seen on any protocol; before that the plant keeps its outputs.",
    "The value must change: rewriting the same counter does not count as a heartbeat.",
    "The freshest heartbeat on either protocol counts: a controller that uses only Modbus or only OPC UA "
    "keeps the plant alive.",
    "When no heartbeat has changed for longer than the timeout (wall seconds; `poreline sim serve --watchdog`) "
    "it trips: every output is driven to its safe value (the table's `safe` column) on every plant step while "
    "it stays tripped, so later writes are overwritten at once.",
    "It releases on the next heartbeat change; outputs stay at their safe values until the controller writes "
    "them again.",
    "A command-ack register always shows the command word the plant holds, whichever protocol wrote it "
    "(the safe command while tripped).",
)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def profiles_markdown(document: dict[str, Any]) -> str:
    mb, ua = document["modbus"], document["opcua"]
    order = "ABCD" if mb["word_order"] == "big" else "CDAB"
    kind = document["line_kind"]
    command = f"poreline profiles --line {kind} --format markdown"
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
        f"- OPC UA: namespace `{ua['namespace_uri']}`; its index is assigned by the server at start "
        "(usually 2): resolve it by reading the server's NamespaceArray (`ns=0;i=2255`) and taking the "
        "position of the URI (asyncua: `get_namespace_index(uri)`), or address nodes by URI (`nsu=`) as "
        f"below. Heartbeat `{ua['heartbeat']['node_id']}` ({ua['heartbeat']['variant_type']}).",
        "",
        f"## Watchdog (the served simulator; timeout {document['watchdog']['timeout_s']:g} s by default)",
        "",
        *(f"- {rule}" for rule in document["watchdog"]["rules"]),
        f"- Shown on OPC UA as `{document['watchdog']['opcua_tripped_node_id']}` (Boolean) and "
        f"`{document['watchdog']['opcua_trip_count_node_id']}` (UInt32), both read-only.",
        "",
        *_status_block_markdown(document["status_block"]),
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
        if device["derived_tags"]:
            out += ["", "Derived tags (computed by the controller; no Modbus or OPC UA address):", "",
                    "| tag | unit | low | high | computed by | description |", "|---|---|---|---|---|---|"]
            for tag in device["derived_tags"]:
                out.append(f"| {tag['name']} | {tag['unit']} | {_number(tag['low'])} | {_number(tag['high'])} "
                           f"| {tag['computed_by']} | {tag['description']} |")
        if device["modbus_words"]:
            out += ["", "| word | kind | address | 4xxxx | type | access |", "|---|---|---|---|---|---|"]
            for word in device["modbus_words"]:
                out.append(f"| {word['name']} | {word['kind']} | {word['address']} | {word['reference']} "
                           f"| {word['data_type']} | {word['access']} |")
        out.append("")
    return "\n".join(out)


def _status_block_markdown(block: dict[str, Any]) -> list[str]:
    out = [
        "## The line runtime's Modbus status and command block",
        "",
        "Served by the line runtime itself, not by the plant (`poreline line run --modbus-endpoint HOST:PORT "
        f"--modbus-allow ADDRESS`; off unless configured): unit id {block['unit_id']}, holding registers 0.."
        f"{block['size'] - 1} read with one FC3 request; writes (FC6/16/23) only to the write registers, only from "
        "allowed addresses. The command handshake, result codes, liveness rule and the network-zone assumption: "
        "`docs/scada-modbus-block.md`.",
        "",
        "| address | 4xxxx | registers | name | access | value |",
        "|---|---|---|---|---|---|",
    ]
    for r in block["registers"]:
        out.append(f"| {r['address']} | {r['reference']} | {r['count']} | {r['name']} | {r['access']} | {r['meaning']} |")
    out.append("")
    return out


def render_profiles(definition: LineDefinition, fmt: ProfileFormat) -> str:
    document = profiles_document(definition)
    if fmt is ProfileFormat.JSON:
        return json.dumps(document, indent=2)
    return profiles_markdown(document)
