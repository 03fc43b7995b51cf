"""The runtime opens a batch record with a master value only for an adjustment the recipe
document it runs actually carries: an adjustment that does not match the document (or
lacks its master value) refuses the start, and nothing opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from paths import RECIPES
from runtime_support import recipe_document

from controller.recipe.adjust import adjusted_text
from controller.runtime.service import LineService, RuntimeConfig, ServiceError

MASTER = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("adjustment", [
    {"name": "line_speed", "value": 2.1, "unit": "m/min", "master_value": 2.0},  # the document runs 2.2
    {"name": "line_speed", "value": 2.2, "unit": "m/min"},  # no master value
    {"name": "no_such", "value": 1.0, "unit": "", "master_value": 0.0},
])
async def test_an_adjustment_the_document_does_not_carry_refuses_the_start(tmp_path: Path, adjustment) -> None:
    text, _ = adjusted_text(MASTER, {"line_speed": 2.2})
    service = LineService(RuntimeConfig(database_url=f"sqlite:///{tmp_path / 'poreline.db'}",
                                        state_dir=tmp_path / "runtime", kind="casting", speed=200.0))
    await service.start()
    try:
        with pytest.raises(ServiceError) as refused:
            await service.start_run(recipe_document(text), "erin", "trial", adjustments=[adjustment])
        assert refused.value.status == 422 and "is not a value the document carries" in refused.value.detail
        assert service.status()["run_id"] is None
    finally:
        await service.stop()
