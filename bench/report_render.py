"""How long the PDF batch report of a run takes to make: gathering it from the store, drawing its
trend figures, laying out and writing the PDF/A-3b.

    .venv/bin/python bench/report_render.py                            # runs the demo recipe first
    .venv/bin/python bench/report_render.py --database URL --run ID    # a run already recorded

The demo recipe (Example VIII: titration, about 6.6 h of simulated time, 2 h of production) is
run on the simulator into a temporary SQLite database, then its report is made ``--repeat``
times (the first one pays for loading WeasyPrint and matplotlib, reported apart). The last line
is ``report N s``: the median wall time of one report (the line before: its CPU time).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.orm import Session

from controller.assembly import build_line
from controller.lines import compile_for_line
from controller.store import BatchRecorder, create_engine_for, upgrade

DEMO_RECIPE = ROOT / "recipes" / "psf-microfilter-example-viii.yaml"


def record_demo_run(database_url: str) -> int:
    upgrade(database_url)
    recipe = compile_for_line(DEMO_RECIPE.read_text(encoding="utf-8"))
    recorder = BatchRecorder(create_engine_for(database_url))
    line = build_line(recipe=recipe, recorder=recorder, scan_period_s=1.0, sample_period_s=10.0)
    line.engine.request("start")
    asyncio.run(line.engine.run(max_duration_s=48 * 3600.0))
    assert line.engine.run_id is not None
    return line.engine.run_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", help="SQLAlchemy URL of a batch-record database (default: a fresh demo run)")
    parser.add_argument("--run", type=int, help="run id in --database")
    parser.add_argument("--repeat", type=int, default=3, help="reports to time after the first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite:///{Path(tmp) / 'bench.db'}"
        run_id = args.run if args.database else record_demo_run(url)
        started = time.perf_counter()
        from controller.report import gather, record_document
        from controller.report.render import report_html, report_pdf
        print(f"import WeasyPrint, matplotlib: {time.perf_counter() - started:.2f} s")
        engine = create_engine_for(url)
        totals: list[float] = []
        cpu: list[float] = []
        with Session(engine) as session:
            for n in range(args.repeat + 1):
                t0, cpu0 = time.perf_counter(), time.process_time()
                report = gather(session, run_id)
                t1, cpu1 = time.perf_counter(), time.process_time()
                report_html(report)
                t2, cpu2 = time.perf_counter(), time.process_time()
                pdf = report_pdf(report, record_document(session, report))
                t3 = time.perf_counter()
                # this process's CPU for gather + pdf (what a loaded machine's wall time hides)
                cpu_s = (cpu1 - cpu0) + (time.process_time() - cpu2)
                label = "first" if n == 0 else f"#{n}"
                print(f"{label:>6}: gather {t1 - t0:.2f} s, html with {len(report.trends)} figures {t2 - t1:.2f} s, "
                      f"gather-less pdf {t3 - t2:.2f} s ({len(pdf) // 1024} kB, {report.sample_count} samples); "
                      f"CPU {cpu_s:.2f} s")
                if n:
                    totals.append((t1 - t0) + (t3 - t2))  # report_pdf draws the figures again
                    cpu.append(cpu_s)
        engine.dispose()
    print(f"CPU of one report (gather, html and pdf): median {statistics.median(cpu):.2f} s")
    print(f"report {statistics.median(totals):.2f} s")


if __name__ == "__main__":
    main()
