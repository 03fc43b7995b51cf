"""Bump tests on the built-in simulator: the fitted model agrees with the plant model's
own parameters, the line keeps running, and bad requests are refused before anything runs."""

from __future__ import annotations

import pytest
from paths import REPO_ROOT
from typer.testing import CliRunner

from controller.cli.main import app
from controller.lines import builtin_line, compile_for_line
from controller.tuning.bump_test import BumpTestError, bump_test
from simulator.physics import screw
from simulator.physics.heat_exchange import DEFAULT_BARREL_ZONE

ROOT = REPO_ROOT
DEFINITION, CONTROL = builtin_line("foaming")
RECIPE = compile_for_line((ROOT / "recipes" / "foaming-production-8h.yaml").read_text(encoding="utf-8"),
                        DEFINITION, CONTROL)


async def test_a_barrel_zone_bump_test_recovers_the_zone_heat_balance() -> None:
    result = await bump_test(RECIPE, "barrel_zone_2_temperature", at_step="production",
                             settle_s=1800.0, record_s=3600.0)
    # the simulated zone is m c dT/dt = P u - hA (T - T_amb) - Q, Q the heat the barrel gives the
    # polymer passing (simulator.physics.screw): m_dot cp (T_out - T_in) = UA (T - T_out) + s m_dot cp
    # (T - T_in), the drive supplying the share s of the heat-up. By hand, dQ/dT = UA (1 - s) m_dot cp
    # / (m_dot cp + UA): the zone loses heat through hA + that, so gain P / (100 (hA + dQ/dT)) K per %
    # and time constant m c / (hA + dQ/dT). The operating point: ~10 kg/h (the recipe), ~60 rpm
    # (the screw speed the pressure loop settles at; the gain moves 0.3 % between 55 and 62 rpm).
    power_w = 1000.0 * DEFINITION.device("extruder").equipment["zone_heater_power_kw"]
    zone = DEFAULT_BARREL_ZONE
    zone_area_m2 = 3.14159265 * 0.030 * 0.180  # barrel bore x zone length (equipment data, 30 mm, 180 mm)
    ua_w_k = zone_area_m2 * screw.wiped_barrel_heat_transfer_w_m2_k(60.0, 0.2, 1240.0, 2000.0, 3.5e-3)
    flow_w_k = 10.0 / 3600.0 * 2000.0  # m_dot cp of the melt
    polymer_w_k = ua_w_k * (1.0 - screw.PLASTICATION_SHARE) * flow_w_k / (flow_w_k + ua_w_k)
    loss_w_k = zone.heat_loss_coefficient_w_k + polymer_w_k
    assert result.output_change == pytest.approx(-5.0)  # 5 % of the 0-100 % span, downwards from above half
    assert result.model.gain == pytest.approx(power_w / 100.0 / loss_w_k, rel=0.06)
    assert result.model.time_constant_s == pytest.approx(zone.heat_capacity_j_k / loss_w_k, rel=0.05)
    assert result.model.dead_time_s < 30.0  # a lumped zone has (almost) none
    assert not result.tuning.direct_acting  # more heat, hotter: reverse acting
    assert result.times_s[0] < result.step_time_s < result.times_s[-1]


async def test_unknown_loops_and_steps_are_refused_before_the_run() -> None:
    with pytest.raises(KeyError, match="melt_cooling"):  # the message lists the loops
        await bump_test(RECIPE, "no_such_loop", at_step="production", settle_s=10.0, record_s=100.0)
    with pytest.raises(BumpTestError, match="no step 'warm-up'"):
        await bump_test(RECIPE, "melt_cooling", at_step="warm-up", settle_s=10.0, record_s=100.0)
    short = compile_for_line((ROOT / "tests" / "hil_data" / "short-foaming.yaml").read_text(encoding="utf-8"),
                             DEFINITION, CONTROL)
    with pytest.raises(BumpTestError, match=r"run ended \(Complete\)"):  # settling outlasts the production step
        await bump_test(short, "melt_cooling", at_step="production", settle_s=9 * 3600.0, record_s=100.0)


def test_poreline_tune_prints_the_model_and_both_settings() -> None:
    recipe = str(ROOT / "recipes" / "foaming-production-8h.yaml")
    result = CliRunner().invoke(app, ["tune", recipe, "barrel_zone_1_temperature", "--settle", "1800",
                                      "--record", "3600"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "FOPDT model: K = 3." in text  # about 3.8 K per % (see the test above)
    assert "configured │ 2 │ 480.0 s │ reverse" in text and "SIMC, tau_c" in text
    unknown = CliRunner().invoke(app, ["tune", recipe, "no_such_loop"])
    assert unknown.exit_code == 2 and "barrel_zone_1_temperature" in unknown.output
