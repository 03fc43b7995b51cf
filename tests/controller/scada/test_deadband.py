"""Only changed values are published, a process value once it left its deadband: the noise
band its profile declares (absolute, or a share of the reading), else 0.2 % of its span."""

from __future__ import annotations

import pytest
from asyncua import ua

from controller.lines.casting.profiles import casting_knife_profile
from controller.scada.facade import _MISSING, DEADBAND_FRACTION, changed
from controller.scada.packml import TagVariable
from drivers.profiles import measured


def test_a_value_inside_its_deadband_is_not_republished_a_status_change_always_is() -> None:
    assert changed(_MISSING, (20.0, None), 0.4)  # the first value
    assert not changed((20.0, None), (20.3, None), 0.4)  # noise
    assert changed((20.0, None), (20.5, None), 0.4)
    assert changed((20.0, None), (19.5, None), 0.4)
    assert changed((20.0, None), (20.1, "UncertainLastUsableValue"), 0.4)  # quality changed
    assert not changed((True, None), (True, None), 0.0) and changed((True, None), (False, None), 0.0)
    assert changed((20.0, None), (20.01, None), 0.0)  # no deadband: any change


def test_a_tag_with_a_declared_noise_band_publishes_only_changes_beyond_it() -> None:
    knife = {tag.name: tag for tag in casting_knife_profile(1).tags}
    level = TagVariable.of("knife.bead_1_level_mm", ua.NodeId("level", 2), knife["bead_1_level_mm"], boolean=False)
    band = level.deadband(DEADBAND_FRACTION)
    assert band == knife["bead_1_level_mm"].noise == 0.3  # mm; 0.2 % of its 100 mm span would be 0.2
    assert not changed((40.0, None), (40.25, None), band)  # inside the noise band
    assert not changed((40.0, None), (39.75, None), band)
    assert changed((40.0, None), (40.35, None), band)  # beyond it
    assert changed((40.0, None), (39.65, None), band)


def test_a_tag_without_a_declared_noise_band_keeps_the_span_rule() -> None:
    exact = measured("length_m", "m", 0.0, 1000.0, "Cast length (totaliser)", "Length/ActualValue")
    assert exact.noise == exact.noise_of_reading == 0.0
    band = TagVariable.of("belt.length_m", ua.NodeId("length", 2), exact, boolean=False).deadband(DEADBAND_FRACTION)
    assert band == pytest.approx(2.0)  # m: 0.2 % of 0..1000 m
    assert not changed((250.0, None), (251.5, None), band) and changed((250.0, None), (252.5, None), band)


def test_a_flow_declared_as_a_share_of_its_reading_gets_a_band_that_follows_the_reading() -> None:
    flow = {tag.name: tag for tag in casting_knife_profile(1).tags}["overflow_ml_min"]
    assert (flow.noise, flow.noise_of_reading) == (0.0, 0.009)  # ±0.9 % of reading
    variable = TagVariable.of("knife.overflow_ml_min", ua.NodeId("overflow", 2), flow, boolean=False)
    assert variable.deadband(DEADBAND_FRACTION, 100.0) == pytest.approx(0.9)  # mL/min at 100 mL/min
    assert variable.deadband(DEADBAND_FRACTION, 1000.0) == pytest.approx(9.0)
    assert variable.deadband(DEADBAND_FRACTION, 0.0) == 0.0  # no flow: any flow is news


def test_a_noise_band_wider_than_the_span_is_refused() -> None:
    with pytest.raises(ValueError, match="noise"):
        measured("level_mm", "mm", 0.0, 10.0, "Level", "Level/ActualValue", noise=12.0)
