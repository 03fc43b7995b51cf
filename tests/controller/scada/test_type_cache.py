"""A restarted runtime takes its OPC UA type nodesets (PackML, EUROMAP 84's models) from
the cache the first start wrote, and serves the same address space as if it had imported
them; a torn cache file or one built on other namespaces is reported and replaced."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from asyncua import Server, ua

from controller.lines import kind_named
from controller.scada import companion, packml, type_cache

FOAMING_NODESETS = [packml.NODESET, *companion.nodeset_paths(kind_named("foaming").companion_model(
    kind_named("foaming").definition()))]


async def initialised() -> Server:
    server = Server()
    await server.init()
    return server


def address_space(server: Server) -> dict[ua.NodeId, tuple[Any, ...]]:
    """Every node's references and attributes as comparable text (the core namespace's
    values left out: the server's clock and counters move between two servers)."""
    space = server.iserver.aspace  # a mapping without __iter__: its keys() are the node ids
    described = {}
    for node_id in space.keys():  # noqa: SIM118
        data = space[node_id]
        references = sorted((r.ReferenceTypeId.to_string(), r.NodeId.to_string(), r.IsForward)
                            for r in data.references)
        attributes = sorted((int(a), repr(v.value.Value if v.value is not None else None))
                            for a, v in data.attributes.items()
                            if a != ua.AttributeIds.Value or node_id.NamespaceIndex != 0)
        described[node_id] = (references, attributes)
    return described


async def test_a_second_server_takes_the_types_from_the_cache_and_serves_the_same_address_space(tmp_path: Path):
    first = await initialised()
    assert not await type_cache.load_nodesets(first, FOAMING_NODESETS, tmp_path)  # imported
    assert type_cache.cache_file(tmp_path, FOAMING_NODESETS).is_file()
    second = await initialised()
    assert await type_cache.load_nodesets(second, FOAMING_NODESETS, tmp_path)  # from the cache
    assert await second.get_namespace_array() == await first.get_namespace_array()
    assert address_space(second) == address_space(first)
    # a structure's default value comes back as the class asyncua generated for its data type
    space = second.iserver.aspace
    pid_defaults = [_value(space[n]) for n in space.keys()  # noqa: SIM118
                    if type(_value(space[n])).__name__ == "PIDParametersDataType"]
    assert pid_defaults  # PlasticsRubber GeneralTypes declares them
    for value in pid_defaults:
        assert type(value) is ua.extension_objects_by_datatype[ua.datatype_by_extension_object[type(value)]]


def _value(data: Any) -> Any:
    value = data.attributes.get(ua.AttributeIds.Value)
    return value.value.Value.Value if value is not None and value.value is not None and value.value.Value else None


async def test_a_torn_cache_file_is_reported_and_replaced(tmp_path: Path, caplog):
    file = type_cache.cache_file(tmp_path, [packml.NODESET])
    file.write_bytes(b"\x80\x05\x95 half a pickle")
    with caplog.at_level(logging.WARNING, logger=type_cache.__name__):
        assert not await type_cache.load_nodesets(await initialised(), [packml.NODESET], tmp_path)
    assert "unreadable" in caplog.text
    server = await initialised()
    assert await type_cache.load_nodesets(server, [packml.NODESET], tmp_path)
    assert await server.get_namespace_index(packml.PACKML_URI) == 2


async def test_a_cache_built_on_other_namespaces_is_not_used(tmp_path: Path, caplog):
    assert not await type_cache.load_nodesets(await initialised(), [packml.NODESET], tmp_path)
    server = await initialised()
    await server.register_namespace("urn:another:model")  # PackML would land on index 3, not 2
    with caplog.at_level(logging.WARNING, logger=type_cache.__name__):
        assert not await type_cache.load_nodesets(server, [packml.NODESET], tmp_path)
    assert "other namespaces" in caplog.text
    assert await server.get_namespace_index(packml.PACKML_URI) == 3
    assert (await server.get_node(ua.NodeId(packml.BASE_OBJECT_TYPE, 3)).read_browse_name()).Name
