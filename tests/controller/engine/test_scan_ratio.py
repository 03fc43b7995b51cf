"""Ratio stations in the scan: the dosing flow follows ratio × feed flow × scale, slewed at
its rate; switched off it goes to its safe value."""

import pytest

from controller.engine.states import Command, UnitState
from controller.recipe.model import RatioAction

DOSING = "dosing.flow_setpoint_g_min"  # safe 0 g/min, HoldAction.SAFE, limits 0..50
G_MIN_PER_KG_H_PCT = 1000.0 / 60.0 / 100.0  # the station's scale (conftest DOSING_RATIO)


def dose(ratio_pct: float, rate_per_s: float | None = None) -> RatioAction:
    return RatioAction("dosing", on=True, output=DOSING, ratio=ratio_pct, rate_per_s=rate_per_s)


STOP_DOSING = RatioAction("dosing", on=False, output=DOSING)


def moves(values: list[float]) -> list[float]:
    """The values written, rounded to 1e-9 with repeats dropped: 2 % × 60 kg/h × (1000/60/100)
    is 20.000000000000004 in floats, which the station reaches one scan after its slew limit's
    exact 20.0 (a rewrite of 4e-15 g/min that is not what these tests are about)."""
    out: list[float] = []
    for value in values:
        if not out or round(value, 9) != out[-1]:
            out.append(round(value, 9))
    return out


async def test_the_output_follows_ratio_times_wild_flow_times_scale(rig):
    rig.transport.set("feed.flow_kg_h", 60.0)
    rig.load(rig.step("dose", dose(2.0)))
    await rig.start()
    assert rig.transport.value(DOSING) == pytest.approx(2.0 * 60.0 * G_MIN_PER_KG_H_PCT)  # 20 g/min

    rig.transport.set("feed.flow_kg_h", 30.0)
    await rig.scan()

    assert rig.transport.written(DOSING) == pytest.approx([20.0, 10.0])


async def test_the_output_is_slewed_at_the_stations_rate(rig):
    rig.transport.set("feed.flow_kg_h", 60.0)
    rig.load(rig.step("dose", dose(2.0, rate_per_s=4.0)))
    await rig.start()
    await rig.scan(6)
    assert moves(rig.transport.written(DOSING)) == [4.0, 8.0, 12.0, 16.0, 20.0]

    rig.transport.set("feed.flow_kg_h", 30.0)  # target 10 g/min
    await rig.scan(4)
    assert moves(rig.transport.written(DOSING)) == [4.0, 8.0, 12.0, 16.0, 20.0, 16.0, 12.0, 10.0]


async def test_the_output_is_clamped_to_the_tags_limits(rig):
    rig.transport.set("feed.flow_kg_h", 100.0)
    rig.load(rig.step("dose", dose(5.0)))  # 83 g/min asked of a 50 g/min pump
    await rig.start()

    assert rig.transport.written(DOSING) == [50.0]


async def test_switched_off_the_output_goes_to_its_safe_value_and_stops_following(rig):
    rig.transport.set("feed.flow_kg_h", 60.0)
    rig.load(rig.step("dose", dose(2.0), until="feed.flow_kg_h >= 80"), rig.step("stop dosing", STOP_DOSING))
    await rig.start()
    await rig.scan(2)

    rig.transport.set("feed.flow_kg_h", 90.0)
    await rig.scan()
    assert rig.engine.step.name == "stop dosing"
    rig.transport.set("feed.flow_kg_h", 40.0)
    await rig.scan(3)

    assert rig.transport.written(DOSING) == pytest.approx([20.0, 0.0])
    assert rig.engine.ratios["dosing"].auto is False


async def test_after_a_hold_the_station_ramps_in_again_from_its_safe_value(rig):
    rig.transport.set("feed.flow_kg_h", 60.0)
    rig.load(rig.step("dose", dose(2.0, rate_per_s=8.0)))
    await rig.start()
    await rig.scan(3)  # 8, 16, 20
    rig.command(Command.HOLD)
    await rig.scan(3)
    assert rig.state is UnitState.HELD

    rig.command(Command.UNHOLD)
    await rig.scan(3)

    assert moves(rig.transport.written(DOSING)) == [8.0, 16.0, 20.0, 0.0, 8.0, 16.0, 20.0]
