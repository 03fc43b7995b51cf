"""The product against the recipe's specification: time-weighted over the scans of
production (Execute in a production step), good values only, with the verdict the batch
record keeps; figures checked against hand calculations."""

from dataclasses import replace

import pytest

from controller.engine.specification import (
    VERDICT_IN_SPEC,
    VERDICT_NO_PRODUCTION,
    VERDICT_NOT_SPECIFIED,
    VERDICT_OUT_OF_SPEC,
    SpecificationCheck,
)
from controller.engine.states import Command, UnitState
from controller.recipe.model import SetAction, Specification
from drivers.transport import Quality

TEMPERATURE = "tank.temperature_c"
PUMP_SPEED = "pump.speed_setpoint_rpm"
WARM = Specification(TEMPERATURE, 60.0, 70.0, "degC", 0.05)


def always_good(_address: str) -> bool:
    return True


def test_mean_extremes_and_time_out_of_spec_are_time_weighted():
    check = SpecificationCheck((WARM,))
    # scans at t = 0, 1, 3, 4, 10 s (producing): each value holds for the time since the last scan
    for t_s, value in ((0.0, 50.0), (1.0, 65.0), (3.0, 66.0), (4.0, 80.0), (10.0, 64.0)):
        check.add(t_s, True, {TEMPERATURE: value}, always_good)
    (result,) = check.results()
    # by hand: 65 x 1 + 66 x 2 + 80 x 1 + 64 x 6 = 661 over 10 s; only 80 degC (1 s) is outside
    assert result.production_s == check.production_s == 10.0
    assert result.mean == pytest.approx(66.1)
    assert (result.minimum, result.maximum) == (64.0, 80.0)
    assert result.out_of_spec_s == 1.0
    assert result.in_spec is False  # 10 % outside against 5 % allowed, though the mean is inside
    loose = SpecificationCheck((replace(WARM, max_out_of_spec_fraction=0.10),))
    for t_s, value in ((0.0, 50.0), (1.0, 65.0), (3.0, 66.0), (4.0, 80.0), (10.0, 64.0)):
        loose.add(t_s, True, {TEMPERATURE: value}, always_good)
    assert loose.verdict() == VERDICT_IN_SPEC


def test_only_production_scans_with_good_values_count():
    check = SpecificationCheck((WARM,))
    check.add(0.0, False, {TEMPERATURE: 20.0}, always_good)  # warming up: not production
    check.add(5.0, True, {TEMPERATURE: 20.0}, always_good)  # production starts: no time yet
    check.add(6.0, True, {TEMPERATURE: 65.0}, always_good)
    check.add(7.0, True, {TEMPERATURE: 0.0}, lambda _a: False)  # the link is lost: not counted
    check.add(8.0, False, {TEMPERATURE: 0.0}, always_good)  # held
    check.add(20.0, True, {TEMPERATURE: 65.0}, always_good)  # resumed: no time for the held span
    check.add(21.0, True, {TEMPERATURE: 67.0}, always_good)
    (result,) = check.results()
    assert check.production_s == 3.0 and result.production_s == 2.0
    assert result.mean == pytest.approx(66.0) and result.out_of_spec_s == 0.0
    assert check.verdict() == VERDICT_IN_SPEC


def test_a_run_without_production_claims_no_product_and_one_without_a_specification_is_not_judged():
    never_measured = SpecificationCheck((WARM,))
    assert never_measured.verdict() == VERDICT_NO_PRODUCTION
    never_measured.add(0.0, True, {}, always_good)
    never_measured.add(1.0, True, {}, always_good)  # produced, but the quantity never had a value
    assert never_measured.results()[0].in_spec is None
    assert never_measured.verdict() == VERDICT_OUT_OF_SPEC  # unmeasured is not in spec

    unspecified = SpecificationCheck(())
    unspecified.add(0.0, True, {}, always_good)
    unspecified.add(1.0, True, {}, always_good)
    assert unspecified.verdict() == VERDICT_NOT_SPECIFIED


async def test_the_engine_records_the_verdict_with_the_run(make_rig, recorder):
    rig = make_rig(recorder=recorder)
    rig.transport.set(TEMPERATURE, 65.0)
    rig.load(rig.step("warm up", SetAction(PUMP_SPEED, 10.0), until="true", hold_for_s=3.0),
             replace(rig.step("produce", SetAction(PUMP_SPEED, 30.0), until="true", hold_for_s=10.0),
                     production=True),
             specification=(WARM,))
    await rig.start()
    await rig.scan(5)
    rig.transport.fail_reads("tank")  # a lost link: its stale values are not judged
    await rig.scan(1)
    rig.transport.restore("tank")
    await rig.scan(20)

    assert rig.state is UnitState.COMPLETE
    (quality,) = recorder.quality
    assert quality["verdict"] == VERDICT_IN_SPEC
    (temperature,) = quality["specification"]
    assert temperature["address"] == TEMPERATURE and temperature["mean"] == pytest.approx(65.0)
    assert temperature["production_s"] < quality["production_s"]  # the bad-comm scan is left out
    assert rig.engine.specification.verdict() == VERDICT_IN_SPEC


async def test_a_run_aborted_before_production_says_no_production(make_rig, recorder):
    rig = make_rig(recorder=recorder)
    rig.load(rig.step("warm up", SetAction(PUMP_SPEED, 10.0)),
             replace(rig.step("produce", SetAction(PUMP_SPEED, 30.0)), production=True),
             specification=(WARM,))
    await rig.start()
    await rig.scan(3)
    rig.command(Command.ABORT)
    await rig.scan(2)

    assert rig.state is UnitState.ABORTED
    assert [q["verdict"] for q in recorder.quality] == [VERDICT_NO_PRODUCTION]
    assert rig.engine.quality["tank"] is Quality.GOOD
