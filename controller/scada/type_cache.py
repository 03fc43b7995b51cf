"""The OPC UA type nodesets a line's server loads (PackML, a companion specification's
models), imported once and kept as a cache: later starts take them from it in well under a
second instead of importing the XML again (EUROMAP 84's seven nodesets took 6 s on an idle
2-core machine, 16-37 s on a busy one: asyncua checks every reference it adds against the
node's others, quadratic in nodes such as ModellingRule Mandatory that thousands of
declarations reference).

What an import changes in an initialised server: nodes added, references added to nodes
that were there (e.g. HasSubtype from a base type to a new type), namespaces registered.
:func:`load_nodesets` imports the files, takes exactly that difference (the new
``NodeData`` and the changed reference lists) and writes it with :mod:`pickle`; a later
start applies it to a fresh server through the address space's mapping interface, then
lets asyncua generate the nodesets' structure classes (``load_data_type_definitions``) as
after an import. A default value of such a structure (asyncua makes its class at run time,
so pickle cannot name it) is kept as its data type and fields and rebuilt then. The
file is named by a hash of the asyncua version and the nodesets' bytes (a changed or
upgraded nodeset or library builds a new one) and holds the namespace array it was built
on, so it is used only on a server whose namespaces begin the same way. It lives in the
runtime's state directory, beside the server's private key: whoever can write there owns
the runtime already, which is what loading a pickle requires. An unreadable or foreign
file is reported, ignored and replaced.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import io
import logging
import os
import pickle
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.server.address_space import NodeData

log = logging.getLogger(__name__)

FORMAT = 1  # of the cached difference; part of the file's hash


@dataclass(frozen=True)
class TypeImage:
    """What importing the nodesets added to a server whose namespace array began with
    ``namespaces_before``: the namespaces registered (in order), the new nodes and the new
    reference lists of nodes that were there."""

    namespaces_before: tuple[str, ...]
    namespaces_added: tuple[str, ...]
    nodes: dict[ua.NodeId, NodeData]
    references: dict[ua.NodeId, list[ua.ReferenceDescription]]


@dataclass(frozen=True)
class _Structure:
    """A value of a structure whose class asyncua generated at run time: its data type and
    fields, rebuilt with the class the server generates again (:func:`_rebuilt`)."""

    data_type: ua.NodeId
    fields: dict[str, Any]


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        data_type = ua.datatype_by_extension_object.get(cls)
        if data_type is None or getattr(sys.modules.get(cls.__module__), cls.__qualname__, None) is cls:
            return NotImplemented  # pickled as usual (importable by its name)
        return _Structure, (data_type, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})


def _rebuilt(value: Any) -> Any:
    if isinstance(value, _Structure):
        cls = ua.extension_objects_by_datatype[value.data_type]
        return cls(**{name: _rebuilt(field) for name, field in value.fields.items()})
    if isinstance(value, list):
        return [_rebuilt(item) for item in value]
    return value


def _holds_structure(value: Any) -> bool:
    return isinstance(value, _Structure) or (isinstance(value, list) and any(map(_holds_structure, value)))


def cache_file(cache_dir: Path, nodesets: Sequence[Path]) -> Path:
    """The cache of ``nodesets`` (imported in this order) in ``cache_dir``."""
    digest = hashlib.sha256(f"poreline-opcua-types {FORMAT} asyncua {version('asyncua')}".encode())
    for path in nodesets:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return cache_dir / f"opcua-types-{digest.hexdigest()[:20]}.pickle"


async def load_nodesets(server: Server, nodesets: Sequence[Path], cache_dir: Path | None) -> bool:
    """Import ``nodesets`` in order into the initialised ``server`` and generate their
    structures' classes: from the cache in ``cache_dir`` when it holds them (True), else
    from the XML files, then kept in the cache for the next start (False; always so
    without a cache directory)."""
    image: TypeImage | None = None  # the cached image applied, if any
    if cache_dir is None:
        for path in nodesets:
            await server.import_xml(str(path))
    else:
        file = cache_file(cache_dir, nodesets)
        before = tuple(await server.get_namespace_array())
        image = _read(file)
        if image is not None and image.namespaces_before != before:
            log.warning("OPC UA type cache %s was built on other namespaces %s; importing the nodesets again",
                        file, image.namespaces_before)
            image = None
        if image is None:
            _write(file, await _import(server, nodesets, before))
        else:
            await _apply(server, image)
    await server.load_data_type_definitions()
    if image is not None:
        _rebuild_structures(image.nodes)
    return image is not None


async def _import(server: Server, nodesets: Sequence[Path], before: tuple[str, ...]) -> TypeImage:
    space = server.iserver.aspace  # a mapping without __iter__: its keys() are the node ids
    reference_ids = {node_id: tuple(map(id, space[node_id].references)) for node_id in space.keys()}  # noqa: SIM118
    for path in nodesets:
        await server.import_xml(str(path))
    nodes: dict[ua.NodeId, NodeData] = {}
    references: dict[ua.NodeId, list[ua.ReferenceDescription]] = {}
    for node_id in space.keys():  # noqa: SIM118
        data = space[node_id]
        known = reference_ids.get(node_id)
        if known is None:
            nodes[node_id] = data
        elif tuple(map(id, data.references)) != known:
            references[node_id] = list(data.references)
    after = tuple(await server.get_namespace_array())
    return TypeImage(before, after[len(before):], nodes, references)


async def _apply(server: Server, image: TypeImage) -> None:
    for expected, uri in enumerate(image.namespaces_added, start=len(image.namespaces_before)):
        index = await server.register_namespace(uri)
        if index != expected:
            raise RuntimeError(f"OPC UA type cache: namespace {uri} got index {index}, not {expected}")
    space = server.iserver.aspace
    for node_id, data in image.nodes.items():
        space[node_id] = data
    for node_id, references in image.references.items():
        space[node_id].references = references


def _rebuild_structures(nodes: dict[ua.NodeId, NodeData]) -> None:
    """Each structure default value the cache kept as data type and fields, as an instance
    of the class asyncua generated for it (``load_data_type_definitions`` ran)."""
    for data in nodes.values():
        value = data.attributes.get(ua.AttributeIds.Value)
        if value is None or value.value is None or value.value.Value is None:
            continue
        variant = value.value.Value
        if _holds_structure(variant.Value):
            rebuilt = dataclasses.replace(variant, Value=_rebuilt(variant.Value))
            value.value = dataclasses.replace(value.value, Value=rebuilt)


def _read(file: Path) -> TypeImage | None:
    if not file.exists():
        return None
    collecting = gc.isenabled()
    gc.disable()  # a million small objects: the collector's passes tripled the load time (1.1 s -> 0.33 s)
    try:
        with file.open("rb") as stream:
            image = pickle.load(stream)
    except Exception as exc:  # noqa: BLE001 - a torn or foreign file: import again and replace it
        log.warning("OPC UA type cache %s unreadable (%s); importing the nodesets again", file, exc)
        return None
    finally:
        if collecting:
            gc.enable()
    if not isinstance(image, TypeImage):
        log.warning("OPC UA type cache %s holds a %s; importing the nodesets again", file, type(image).__name__)
        return None
    return image


def _write(file: Path, image: TypeImage) -> None:
    """Written to a temporary file and renamed over ``file``: a reader sees the whole cache
    or none (two runtimes may build it at once)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=file.parent, prefix=file.name, suffix=".tmp")
    try:
        buffer = io.BytesIO()
        _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(image)
        with os.fdopen(handle, "wb") as stream:
            stream.write(buffer.getvalue())
        os.replace(temporary, file)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
