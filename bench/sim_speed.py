"""How fast the full controller + simulator runs an 8-hour production recipe.

Runs every 8-hour production recipe (``recipes/*production-8h.yaml``, one per line kind) at
a 1 s scan on virtual time, through
the whole engine (sequencer, PID loops, alarms, interlocks, historian into SQLite) and
the simpy plant, and prints the wall time and the simulated/wall ratio.

    .venv/bin/python bench/sim_speed.py            # every production recipe
    .venv/bin/python bench/sim_speed.py --profile  # also a cProfile top-20

The last line is ``ratio N``: the slowest line's simulated/wall ratio (goal >= 5000).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from controller.assembly import build_line
from controller.lines import compile_for_line
from controller.store import BatchRecorder, create_engine_for, upgrade

PRODUCTION_RECIPES = sorted((ROOT / "recipes").glob("*production-8h.yaml"))


def run_once(recipe_path: Path, database_url: str) -> tuple[float, float, str, int]:
    recipe = compile_for_line(recipe_path.read_text(encoding="utf-8"))
    recorder = BatchRecorder(create_engine_for(database_url))
    sim = build_line(recipe=recipe, recorder=recorder, scan_period_s=1.0, sample_period_s=10.0)
    sim.engine.request("start")
    wall_start = time.perf_counter()
    final = asyncio.run(sim.engine.run(max_duration_s=48 * 3600.0))
    wall_s = time.perf_counter() - wall_start
    return sim.clock.now_s(), wall_s, final.value, recorder.samples_written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="print a cProfile top-20")
    args = parser.parse_args()
    ratios: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in PRODUCTION_RECIPES:
            url = f"sqlite:///{tmp}/{path.stem}.db"
            upgrade(url)
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            sim_s, wall_s, final, samples = run_once(path, url)
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)
            ratio = sim_s / wall_s
            ratios.append(ratio)
            print(f"{path.name}: {final}, simulated {sim_s / 3600:.2f} h "
                  f"({sim_s:.0f} scans at 1 s) in {wall_s:.2f} s wall, {samples} samples, "
                  f"{wall_s / sim_s * 1e6:.0f} us per scan, ratio {ratio:.0f}")
    if not ratios:
        raise SystemExit("no production recipe found")
    print(f"ratio {min(ratios):.0f}")


if __name__ == "__main__":
    main()
