"""The SCADA mapping documents say what the server builds: the EUROMAP 84 table of the
foaming line is its kind's mapping, row for row, and every node id the casting document
names is a node of the casting line's PackML unit, carrying the tag the document says."""

from __future__ import annotations

import re

from asyncua import Server
from paths import DOCS

from controller.lines import kind_named
from controller.scada import packml, type_cache

NODE_ID = re.compile(r"`(casting-1\.[A-Za-z0-9_.]*[A-Za-z0-9_])`")


def _table_rows(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def test_the_euromap84_table_is_the_foaming_lines_mapping() -> None:
    kind = kind_named("foaming")
    model = kind.companion_model(kind.definition())
    assert model is not None
    mapped = {(c.name, v.path, v.tag) for c in (model.line, *model.components) for v in c.values}
    text = (DOCS / "scada-euromap84.md").read_text(encoding="utf-8")
    rows = _table_rows(text, "| instance | path below it |")
    documented = {(row[0], re.sub(r"\b[A-Z]+:", "", row[1]), row[3]) for row in rows}
    assert documented == mapped


async def test_the_casting_documents_node_ids_are_the_units_nodes() -> None:
    kind = kind_named("casting")
    definition = kind.definition()
    server = Server()
    await server.init()
    await type_cache.load_nodesets(server, [packml.NODESET], cache_dir=None)
    unit = await packml.build_unit(server, definition.name, definition, kind.control(definition).loops)
    tags = {str(t.node_id.Identifier): t.address for t in unit.tags}
    fixed = {str(n.Identifier) for n in (*unit.status.values(), *unit.admin.values())}
    fixed |= {str(n.Identifier) for loop in unit.loops for n in (loop.mode, loop.setpoint, loop.output)}
    text = (DOCS / "scada-casting-mapping.md").read_text(encoding="utf-8")
    for row in _table_rows(text, "| device (profile `opcua_type` label) |"):
        node_id, address = f"{definition.name}.Tags.{row[2]}", row[3]
        assert tags.get(node_id) == address, (node_id, address)
    named = set(NODE_ID.findall(text))
    assert named, "the document names node ids"
    assert named <= set(tags) | fixed, sorted(named - set(tags) - fixed)
