"""Two line runtimes with their own line ids record into one PostgreSQL database; their
runs, samples and alarms stay apart (issue: several lines share one plant database)."""

from __future__ import annotations

import asyncio

from paths import HIL_DATA
from sqlalchemy import text

from controller.lines import compile_for_line, kind_named
from controller.recipe.document import to_document
from controller.runtime.service import LineService, RuntimeConfig
from controller.store import create_engine_for

SPEED = 200.0


async def run_to_end(service: LineService, recipe_text: str) -> int:
    recipe = compile_for_line(recipe_text)
    document = to_document(recipe, kind_named(recipe.header.line_kind).block_document)
    started = await service.start_run(document, "ann", "two lines, one database")
    for _ in range(600):  # bounded: 60 s of wall time
        if service.status()["state"] in ("Complete", "Stopped", "Aborted"):
            break
        await asyncio.sleep(0.1)
    assert service.status()["state"] == "Complete"
    return int(started["run_id"])


async def test_two_lines_record_into_one_database_and_stay_apart(postgres_schema_url, tmp_path):
    url = postgres_schema_url()
    lines = [LineService(RuntimeConfig(database_url=url, state_dir=tmp_path / line_id, kind="casting",
                                       line_id=line_id, speed=SPEED, sample_period_s=5.0))
             for line_id in ("casting-1", "casting-2")]
    recipe = (HIL_DATA / "short-casting.yaml").read_text(encoding="utf-8")
    for service in lines:
        await service.start()
    try:
        run_ids = await asyncio.gather(*(run_to_end(s, recipe) for s in lines))
        for service in lines:
            assert service.writer.wait_idle(10.0)
    finally:
        for service in lines:
            await service.stop()

    db = create_engine_for(url)
    try:
        with db.connect() as conn:
            runs = dict(conn.execute(text("SELECT id, line_id FROM runs")).all())
            samples = dict(conn.execute(text(
                "SELECT r.line_id, count(*) FROM samples s JOIN runs r ON r.id = s.run_id GROUP BY r.line_id")).all())
            foreign = conn.execute(text(
                "SELECT count(*) FROM alarms a JOIN runs r ON r.id = a.run_id WHERE a.line_id != r.line_id")).scalar()
    finally:
        db.dispose()
    assert {runs[run_ids[0]], runs[run_ids[1]]} == {"casting-1", "casting-2"}
    assert set(samples) == {"casting-1", "casting-2"} and min(samples.values()) > 0
    assert foreign == 0  # every alarm occurrence is on its run's line
