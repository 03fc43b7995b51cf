"""The proof that line kinds are plug-ins: a toy third kind, defined only under tests/
(tests/support/toy_line.py), registers itself, validates and runs a recipe to Complete on
its simulated plant, is served over Modbus by the same server code as the built-in kinds,
and shows its derived tag in GET /line, with its unit, through the API of `poreline serve`.
No module outside tests/ knows it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import api_support
import pytest
import toy_line
from fastapi.testclient import TestClient
from hil_support import free_port

from controller.api import Settings, create_app
from controller.assembly import build_line, simulated_plant
from controller.engine.states import UnitState
from controller.lines import compile_for_line, compile_text, kind_named, kind_names
from controller.recipe.errors import RecipeInvalid
from drivers.clock import WallClock
from simulator.serve.runner import ServedPlant

SERVED_SPEED = 100.0  # simulated seconds per wall second


def test_the_toy_kind_registers_itself() -> None:
    assert toy_line.KIND in kind_names()
    kind = kind_named(toy_line.KIND)
    assert isinstance(kind, toy_line.ToyCoater)
    definition = kind.definition()
    assert definition.tag("tank.heat_used_kwh").unit == "kWh"  # a derived tag, declared like a device's


def test_its_recipe_validates_and_its_rule_refuses_a_hot_bath() -> None:
    recipe, warnings = compile_text(toy_line.TOY_RECIPE)
    assert (recipe.header.line_kind, [s.name for s in recipe.steps], warnings) == (
        toy_line.KIND, ["heat", "coat", "stop"], [])
    assert recipe.block == toy_line.ToyBlock(volume_l=20.0)
    too_hot = toy_line.TOY_RECIPE.replace('high: "60 degC"', 'high: "90 degC"').replace('value: "40 degC"',
                                                                                          'value: "75 degC"')
    with pytest.raises(RecipeInvalid) as refused:
        compile_for_line(too_hot)
    assert [e.rule for e in refused.value.errors] == ["TOY.bath_max"]


def test_it_runs_a_recipe_to_complete_on_its_simulated_plant() -> None:
    recipe = compile_for_line(toy_line.TOY_RECIPE)
    line = build_line(recipe=recipe)
    assert isinstance(line.plant, toy_line.ToyPlant)
    line.engine.request("start")
    final = asyncio.run(line.engine.run(max_duration_s=3 * 3600.0))
    assert final is UnitState.COMPLETE
    assert [e.outcome for e in line.engine.step_log] == ["complete"] * 3
    # the coat step waited on the derived tag: more than 0.05 kWh of heat, by hand 2 kW x the heater's duty
    assert line.engine.image["tank.heat_used_kwh"] > 0.05
    assert line.engine.image["tank.temperature_c"] > 38.0


def test_its_fault_is_offered_and_injected_through_the_generic_fault_api() -> None:
    definition = kind_named(toy_line.KIND).definition()
    plant = simulated_plant(kind_named(toy_line.KIND), definition)
    assert [s.kind for s in plant.faults.offered] == ["sensor", "heater"]
    plant.faults.inject("heater", "tank")
    plant.write_device("tank", {"heater_output_pct": 100.0})
    plant.advance_to(600.0)
    assert plant.faults.active() == ["tank heater failed"]
    assert plant.read_device("tank")["temperature_c"] == pytest.approx(toy_line.ToyPlant.AMBIENT_C)


async def test_it_is_served_over_modbus_by_the_same_server_code(tmp_path: Path) -> None:
    kind = kind_named(toy_line.KIND)
    definition = kind.definition()
    recipe = compile_for_line(toy_line.TOY_RECIPE)
    served = ServedPlant(simulated_plant(kind, definition, recipe), definition, modbus_port=free_port(),
                         opcua_devices=(), speed=SERVED_SPEED, step_s=0.02, watchdog_s=30.0)
    async with served:
        plant_file = tmp_path / "toy-plant.yaml"
        plant_file.write_text(f"line: {toy_line.KIND}\nendpoints:\n  - {{name: plc, transport: modbus, "
                              f"port: {served.modbus_port}, map_devices: line, devices: all}}\n", encoding="utf-8")
        line = build_line(recipe=recipe, plant_file=plant_file, clock=WallClock(SERVED_SPEED))
        line.engine.request("start")
        try:
            final = await asyncio.wait_for(line.engine.run(max_duration_s=3 * 3600.0), timeout=120.0)
        finally:
            await line.line.close()
    assert final is UnitState.COMPLETE
    assert line.plant is None  # the engine reached the plant over Modbus only


@pytest.fixture
def toy_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    # the line runtime `poreline serve` starts is another process: it finds the toy kind the way
    # a site's own kind is found, by the module named in PORELINE_LINE_KINDS
    monkeypatch.setenv("PORELINE_LINE_KINDS", "toy_line")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, (str(Path(toy_line.__file__).parent),
                                                                   os.environ.get("PYTHONPATH")))))
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'poreline.db'}", line_kind=toy_line.KIND,
                        sim_speed=300.0, sample_period_s=5.0, state_dir=tmp_path / "runtime")
    with TestClient(create_app(settings)) as client:
        yield client


def test_get_line_shows_its_derived_tag_with_its_unit(toy_client: TestClient, tmp_path: Path) -> None:
    client = toy_client
    h = api_support.create_users(client, f"sqlite:///{tmp_path / 'poreline.db'}")
    recipe_id, version = api_support.release(client, h, toy_line.TOY_RECIPE, api_support.PASSWORD)
    r = client.post("/runs", json={"recipe_id": recipe_id, "version": version}, headers=h["op"])
    assert r.status_code == 202, r.text

    def heat_meter() -> dict[str, object] | None:
        tags = api_support.line_tags(client.get("/line", headers=h["view"]).json())
        used = tags["tank.heat_used_kwh"]
        return used if used["value"] is not None and used["value"] > 0.0 else None

    used = api_support.wait_for(heat_meter, "the heat meter to count", timeout_s=30.0)
    assert (used["unit"], used["direction"], used["quality"]) == ("kWh", "derived", "good")
