"""The casting line's membrane-quality soft sensor (issue 12, item 5): calibrated on seed 000
Example VIII (7.4 cm/min/psi, bubble point 35 psi), Example VII kept out of the calibration and
reported, Figure II's sharp change at the binodal, and recipes naming the estimates in their
``specification:``."""

from __future__ import annotations

import math

import pytest
import yaml
from paths import RECIPES

from controller.lines import builtin_line, compile_for_line, compile_text
from controller.lines.casting.kind import CastingLine
from controller.lines.casting.membrane_quality import membrane_quality
from controller.recipe.model import CompiledRecipe
from simulator.physics import dope

EXAMPLE_VIII = RECIPES / "psf-microfilter-example-viii.yaml"
WATER_SURFACE_TENSION_N_M = 0.07197  # 25 °C, CRC Handbook
PSI_PA = 6894.757


def compiled(path) -> CompiledRecipe:
    line, control = builtin_line("casting")
    return compile_for_line(path.read_text(encoding="utf-8"), line, control)


def estimated_at_the_knife(recipe: CompiledRecipe, dosed_ml: float, temperature_c: float) -> dict[str, float]:
    """The run's soft sensors, in the kind's order, on an image of a titrated dope held at
    ``temperature_c`` from the vessel to the support, metered at 152 mL/min."""
    definition, _ = builtin_line("casting")
    image = {"dope_vessel_1.dosed_total_ml": dosed_ml, "dope_vessel_1.temperature_c": temperature_c,
             "dope_pump_1.flow_ml_min": 152.0, "casting_knife.temperature_c": temperature_c,
             "support_belt.temperature_c": temperature_c}
    image.update({f"dope_pump_1.{zone}_temperature_c": temperature_c for zone in ("head", "filter", "line")})
    for sensor in CastingLine().soft_sensors(recipe, definition):
        sensor.update(image, 1.0)
    return image


def test_the_sensor_at_example_viiis_dope_and_conditions_gives_its_permeability_and_bubble_point():
    # 100 kg of PSf/DMF (9.5 : 75) titrated to 15.5 % 2-methyl-2-butanol: 100 x 15.5 / 84.5 =
    # 18.343 kg at 0.805 kg/L = 22,787 mL; cast at 40 °C with the whole path at 40 °C
    image = estimated_at_the_knife(compiled(EXAMPLE_VIII), 100.0 * 15.5 / 84.5 / 0.805 * 1000.0, 40.0)
    assert image["casting_knife.layer_1_binodal_depth"] == pytest.approx(0.04, abs=1e-3)
    permeability = image["casting_knife.layer_1_water_permeability_cm_min_psi"]
    bubble_psi = image["casting_knife.layer_1_bubble_point_psi"]
    pore_um = image["casting_knife.layer_1_pore_diameter_nm"] / 1000.0
    assert permeability == pytest.approx(7.4, rel=0.02)  # seed 000 Example VIII, within 2 %
    assert bubble_psi == pytest.approx(35.0, rel=0.02)
    assert pore_um == pytest.approx(0.4, rel=0.02)  # "the large 0.4 µm pore size (Example VIII)"
    # Laplace by hand: the largest pore 35 psi empties, d = 4 γ cos0 · 1 / ΔP
    largest_um = 4.0 * WATER_SURFACE_TENSION_N_M * 1.0 * 1.0 / (bubble_psi * PSI_PA) * 1e6
    assert largest_um == pytest.approx(1.19, abs=0.01)
    # ... about three times the mean: seed 000, "the ratio of the maximum pore size to the
    # average pore size within the skin ... typically less than about 3"
    assert 1.0 < largest_um / pore_um <= 3.0


def test_the_example_vii_estimate_lies_within_a_factor_of_2_of_its_0_32_cm_min_psi():
    """Example VII (9.9 % PSf, 11.9 % hexane, 78.2 % DMF, cast at ambient) is not in the
    calibration. Estimated 0.297 cm/min/psi (0.016 µm pores) against the seed's 0.32: ratio 0.93.
    The estimate hangs on the assumed depth of its titration end point (0.05 wt% hexane past
    the binodal, simulator.physics.dope): 0.025 wt% gives a ratio 0.32, 0.1 wt% gives 2.7."""
    curve = dope.cloud_point_curve("polysulfone", "DMF", "hexane")
    estimate = membrane_quality(dope.binodal_depth(curve, 0.099, 0.119, 25.0))
    ratio = estimate.water_permeability_cm_min_psi / 0.32
    assert ratio == pytest.approx(0.93, abs=0.01), f"Example VII estimate / seed = {ratio:.2f}"
    assert 0.5 <= ratio <= 2.0
    # an ultrafilter (seed 000: 0.001-0.05 µm toward the binodal side; 98 % ovalbumin retention)
    assert estimate.pore_diameter_um < 0.05


def test_permeability_rises_sharply_across_the_binodal_between_14_4_and_14_6_percent_non_solvent():
    # seed 000 Figure II: 10 % PSf in DMF with 2-methyl-1-butanol, binodal at ~14.5 %
    curve = dope.cloud_point_curve("polysulfone", "DMF", "2-methyl-1-butanol")

    def permeability(non_solvent_pct: float) -> float:
        return membrane_quality(dope.binodal_depth(curve, 0.10, non_solvent_pct / 100.0, 25.0)).water_permeability_cm_min_psi

    assert permeability(14.6) > 100.0 * permeability(14.4)  # "an enormous change"
    sweep = [permeability(13.0 + 0.05 * i) for i in range(61)]  # 13 .. 16 %
    assert all(a <= b for a, b in zip(sweep, sweep[1:]))  # monotone in the non-solvent


def test_pores_are_ultrafilter_sized_near_the_binodal_and_about_3_um_at_the_spinodal():
    # seed 000: toward the binodal side 0.001-0.05 µm, toward the spinodal side 0.05-3 µm
    near_binodal = membrane_quality(0.005)
    at_spinodal = membrane_quality(dope.SPINODAL_DEPTH)
    assert 0.001 <= near_binodal.pore_diameter_um <= 0.05
    assert at_spinodal.pore_diameter_um == pytest.approx(3.0)
    # the bubble point by Laplace from the pore size by hand: 4 γ / (ratio · d) with the
    # ratio fixed by Example VIII (35 psi at 0.4 µm)
    ratio = 4.0 * WATER_SURFACE_TENSION_N_M / (35.0 * PSI_PA) / 0.4e-6
    assert at_spinodal.bubble_point_psi == pytest.approx(
        4.0 * WATER_SURFACE_TENSION_N_M / (ratio * 3.0e-6) / PSI_PA, rel=1e-9)
    assert at_spinodal.bubble_point_psi == pytest.approx(35.0 * 0.4 / 3.0, rel=1e-9)
    assert math.isfinite(membrane_quality(-1.0).bubble_point_psi)  # a stable dope: prior art, still finite


def test_a_recipe_names_the_quality_estimates_in_its_specification_in_the_units_it_likes():
    data = yaml.safe_load(EXAMPLE_VIII.read_text(encoding="utf-8"))
    data["specification"] = [
        {"quantity": "casting_knife.layer_1_pore_diameter_nm", "low": "0.3 um", "high": "0.5 um"},
        {"quantity": "casting_knife.layer_1_water_permeability_cm_min_psi", "low": "5 cm/min/psi"},
        {"quantity": "casting_knife.layer_1_bubble_point_psi", "low": "2 bar", "high": "45 psi"},
    ]
    recipe, _ = compile_text(yaml.safe_dump(data, sort_keys=False))
    pore, permeability, bubble = recipe.specification
    assert (pore.low, pore.high) == (pytest.approx(300.0), pytest.approx(500.0))
    assert permeability.low == pytest.approx(5.0)
    assert bubble.low == pytest.approx(2.0e5 / PSI_PA) and bubble.high == pytest.approx(45.0)
