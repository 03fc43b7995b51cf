"""The ratio station: output = ratio × wild × scale, clamped, slewed, tracking."""

import pytest

from controller.engine.ratio import RatioStation

G_MIN_PER_KG_H_PCT = 1000.0 / 60.0 / 100.0


def co2_station(rate_per_s: float | None = None) -> RatioStation:
    station = RatioStation(scale=G_MIN_PER_KG_H_PCT, output_low=0.0, output_high=100.0)
    station.switch_on(2.0, rate_per_s)
    return station


def test_output_is_the_ratio_of_the_wild_flow() -> None:
    station = co2_station()
    assert station.update(10.0, 1.0) == pytest.approx(10.0 * 1000.0 / 60.0 * 0.02)  # 3.33 g/min
    assert station.update(5.0, 1.0) == pytest.approx(5.0 * 1000.0 / 60.0 * 0.02)


def test_output_is_clamped_to_the_output_limits_and_never_negative() -> None:
    station = co2_station()
    assert station.update(1.0e6, 1.0) == 100.0
    assert station.update(-5.0, 1.0) == 0.0


def test_slew_limit_ramps_the_output_in_and_follows_a_falling_wild_flow_at_the_same_rate() -> None:
    station = co2_station(rate_per_s=2.0 / 60.0)  # 2 g/min per minute
    outputs = [station.update(10.0, 1.0) for _ in range(60)]
    assert outputs[0] == pytest.approx(2.0 / 60.0)
    assert outputs[-1] == pytest.approx(2.0)  # still ramping towards 3.33 after a minute
    for _ in range(60):
        station.update(10.0, 1.0)
    assert station.output == pytest.approx(10.0 * 1000.0 / 60.0 * 0.02)
    assert station.update(0.0, 1.0) == pytest.approx(10.0 * 1000.0 / 60.0 * 0.02 - 2.0 / 60.0)


def test_tracking_a_forced_output_makes_the_station_ramp_in_again_from_there() -> None:
    station = co2_station(rate_per_s=1.0 / 60.0)
    for _ in range(600):
        station.update(10.0, 1.0)
    station.track(0.0)  # an interlock closed the gas
    assert station.update(10.0, 1.0) == pytest.approx(1.0 / 60.0)
