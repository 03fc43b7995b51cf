"""Each simulated sensor's noise is what its device profile declares (``Tag.noise``,
``noise_of_reading``: ±3 σ), the declaration the SCADA deadband reads too; a measured tag
declares a band or is on its line's list of exact readbacks."""

from __future__ import annotations

import statistics

import pytest

from controller.lines.casting.definition import casting_line
from controller.lines.foaming.definition import foaming_line
from drivers.definition import LineDefinition
from drivers.profiles import DataType, Direction
from simulator.casting.plant import CastingPlant
from simulator.foaming.plant import FoamingPlant
from simulator.plant import SimulatedPlant

READS = 3000
# readbacks and totalisers the lines read exact: a drive's or positioner's own value, a count
EXACT = {
    "casting": {"dosing_flow_ml_min", "dosed_total_ml", "length_m"},
    "foaming": {"gap_mm", "coolant_flow_l_min", "motor_load_pct", "shaft_power_kw"},
}


def plants(line: LineDefinition, noise_scale: float) -> SimulatedPlant:
    return (CastingPlant(line, seed=7, noise_scale=noise_scale) if line.kind == "casting"
            else FoamingPlant(line, seed=7, noise_scale=noise_scale))


@pytest.mark.parametrize("line", [casting_line(2), foaming_line()], ids=lambda line: line.kind)
def test_every_measured_tag_declares_its_noise_or_is_an_exact_readback(line: LineDefinition) -> None:
    undeclared = {tag.name for device in line.devices for tag in device.profile.tags
                  if tag.direction is Direction.MEASURED and tag.data_type is not DataType.BOOL
                  and tag.noise == 0.0 and tag.noise_of_reading == 0.0}
    assert undeclared == EXACT[line.kind]


@pytest.mark.parametrize("line", [casting_line(1), foaming_line()], ids=lambda line: line.kind)
def test_a_steady_readings_spread_is_a_third_of_its_declared_band(line: LineDefinition) -> None:
    noisy, quiet = plants(line, 1.0), plants(line, 0.0)  # the same state at t = 0, one without noise
    checked = 0
    for device in line.devices:
        truth = quiet.read_device(device.name)
        samples = [noisy.read_device(device.name) for _ in range(READS)]
        for tag in device.profile.inputs:
            band = tag.noise + tag.noise_of_reading * abs(truth[tag.name])
            value = truth[tag.name]
            if band == 0.0 or value == 0.0 or min(value - tag.low, tag.high - value) < 2.0 * band:
                continue  # exact, a zero (the foaming plant serves a stopped drive exact), or clamped
            spread = statistics.pstdev(s[tag.name] for s in samples)
            assert spread == pytest.approx(band / 3.0, rel=0.1), f"{device.name}.{tag.name}"
            checked += 1
    assert checked >= 10  # temperatures, levels, masses ... of a line at rest
