"""``poreline report RUN_ID``: a run's batch report as PDF, or its samples as wide CSV, from the
batch-record database. ``register(app)`` adds it to the typer app of ``controller.cli.main``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from controller.cli.common import console
from controller.cli.errors import fail


def report(
    run_id: Annotated[int, typer.Argument(min=1, help="Run (batch record) id")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", dir_okay=False, help="File to write (default run-RUN_ID-report.pdf, or run-RUN_ID.csv "
                                               "with --csv)")] = None,
    csv: Annotated[bool, typer.Option(
        "--csv", help="Write the run's samples as wide CSV (timestamp, run seconds, one column per tag) instead")] = False,
    database: Annotated[str | None, typer.Option(
        "--database", "-d", envvar="PORELINE_DATABASE_URL",
        help="SQLAlchemy URL of the batch-record database (default sqlite:///var/poreline.db)")] = None,
) -> None:
    """Write a run's batch report: PDF/A-3b with header, signatures, formula, steps, states,
    alarms, commands, production summary and trends, the batch record attached as JSON."""
    from sqlalchemy.orm import Session

    from controller.store import create_engine_for, default_database_url, export_csv

    target = output or Path(f"run-{run_id}.csv" if csv else f"run-{run_id}-report.pdf")
    engine = create_engine_for(database or default_database_url())
    try:
        if csv:
            try:
                samples = export_csv(engine, run_id, target, layout="wide")
            except LookupError:
                target.unlink(missing_ok=True)  # the file opened before the run was looked up
                fail(f"run {run_id} not found in the database", 1)
            console.print(f"run {run_id}: {samples} samples written to {target}", highlight=False)
            return
        from controller.report import batch_report_pdf

        with Session(engine) as session:
            try:
                pdf = batch_report_pdf(session, run_id)
            except LookupError:
                fail(f"run {run_id} not found in the database", 1)
        target.write_bytes(pdf)
        console.print(f"run {run_id}: batch report written to {target} ({len(pdf) // 1024} kB)", highlight=False)
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    app.command("report")(report)
