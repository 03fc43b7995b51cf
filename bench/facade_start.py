"""How long a line runtime's OPC UA server takes to build its address space (PackML unit, a
companion specification's nodesets and instances: EUROMAP 84 for the built-in kinds)
before the line may scan (issue 13): the first start, which imports the type nodesets and
writes their cache, against restarts that take them from it (``controller.scada.type_cache``).

Each start runs in a child process of its own, as a restarted runtime does: a fresh
interpreter, the ``LineService`` (not started) of the first registered kind served as a
companion specification, and its ``OpcUaFacade`` on a loopback port, timed from before
``OpcUaFacade.start()`` to its return (the moment the runtime may begin to scan). SQLite
and the cache in a temp dir.

    .venv/bin/python bench/facade_start.py [--restarts 3]

Last line: ``ratio N`` = the median restart's build time / the first start's (lower is better).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _kind_with_companion() -> tuple[str, str]:
    """(kind name, specification) of the first registered kind with a companion model."""
    from controller.lines import kinds

    for kind in kinds():
        model = kind.companion_model(kind.definition())
        if model is not None:
            return kind.name, model.specification
    raise SystemExit("no registered line kind is served as a companion specification")


async def _one_start(workdir: Path) -> dict[str, object]:
    from controller.runtime.service import LineService, RuntimeConfig
    from controller.scada import FacadeSettings, OpcUaFacade
    from controller.scada.facade import APPLICATION_URI
    from drivers.opcua.security import make_self_signed_certificate

    state_dir = workdir / "runtime"
    service = LineService(RuntimeConfig(database_url=f"sqlite:///{workdir / 'poreline.db'}", state_dir=state_dir,
                                        kind=_kind_with_companion()[0], speed=1.0, scan_period_s=0.1,
                                        sample_period_s=10.0))
    pair = make_self_signed_certificate(APPLICATION_URI, "Poreline bench runtime", server=True)
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    facade = OpcUaFacade(service, FacadeSettings(f"opc.tcp://127.0.0.1:{port}/poreline/", pair,
                                                 trust_any_client=True, type_cache_dir=state_dir))
    started = time.perf_counter()
    await facade.start()
    elapsed = time.perf_counter() - started
    served = facade.companion_served
    await facade.stop()
    return {"seconds": elapsed, "from_cache": facade.types_from_cache, "companion_served": served}


def _start_in_child(workdir: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, __file__, "--one", str(workdir)], check=True, capture_output=True,
                          text=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(asyncio.run(_one_start(args.one))))
        return
    if not 1 <= args.restarts <= 20:
        raise SystemExit("--restarts: 1 to 20")
    with tempfile.TemporaryDirectory(prefix="poreline-bench-") as tmp:
        workdir = Path(tmp)
        kind, specification = _kind_with_companion()
        print(f"machine: {os.cpu_count()} CPUs; a {kind} line served as PackML + {specification}")
        first = _start_in_child(workdir)
        assert not first["from_cache"] and first["companion_served"], first
        print(f"first start (nodesets imported, cache written): {first['seconds']:.2f} s")
        restarts = []
        for number in range(1, args.restarts + 1):
            again = _start_in_child(workdir)
            assert again["from_cache"] and again["companion_served"], again
            restarts.append(float(again["seconds"]))
            print(f"restart {number} (types from the cache): {again['seconds']:.2f} s")
    median = statistics.median(restarts)
    print(f"restart median {median:.2f} s against {first['seconds']:.2f} s")
    print(f"ratio {median / float(first['seconds']):.2f}")


if __name__ == "__main__":
    main()
