"""Casting coordination on the built-in simulator: pump speed in ratio to belt speed with the
thickness trim (cascade), and the dope-path spinodal alarm (issue 12, items 2 and 3)."""

from __future__ import annotations

from paths import RECIPES
from scanning import run_until

from controller.assembly import build_line
from controller.engine.states import UnitState
from controller.lines import builtin_line, compile_for_line
from simulator.physics import dope

TARGET_UM = 254.0  # Example VIII's 10 mil


def production_line():
    text = (RECIPES / "psf-microfilter-example-viii.yaml").read_text(encoding="utf-8")
    definition, control = builtin_line("casting")
    recipe = compile_for_line(text, definition, control)
    sim = build_line(recipe=recipe)
    sim.engine.request("start")
    run_until(sim.engine, lambda e: e.step is not None and e.step.production and e.progress.elapsed_s >= 600.0,
              12 * 3600.0)
    assert sim.engine.step is not None and sim.engine.step.production
    return sim


def true_thickness_um(sim) -> float:
    return sim.plant._truth("casting_knife")["wet_thickness_um"]


def test_belt_ramp_under_ratio_control_keeps_the_wet_thickness_and_the_trim_corrects_a_disturbance():
    sim = production_line()
    engine = sim.engine
    belt = "support_belt.line_speed_setpoint_m_min"
    # the operator ramps the belt 2 -> 2.5 m/min at 0.1 m/min/min (a production speed change); the
    # pump follows in ratio; the bead behind the knife must rise with the speed (its head ∝ U at a
    # fixed film), and the dope that fills it is what the film misses while the trim catches up
    worst = 0.0
    speed = 2.0
    while speed < 2.5:
        speed = min(2.5, speed + 0.1 / 60.0)
        engine.outputs[belt] = speed
        run_until(engine, lambda e: False, 1.0)
        worst = max(worst, abs(true_thickness_um(sim) - TARGET_UM) / TARGET_UM)
    for _ in range(300):  # and five minutes at the new speed
        run_until(engine, lambda e: False, 1.0)
        worst = max(worst, abs(true_thickness_um(sim) - TARGET_UM) / TARGET_UM)
    print(f"belt ramp 2 -> 2.5 m/min: worst wet-thickness deviation {100 * worst:.2f} %")
    assert engine.image["dope_pump_1.speed_rpm"] > 60.0  # the pump followed (~1.25 x)
    assert worst < 0.02

    # a worn pump: five times the slip; the film thins, the gauge's trim brings it back
    pump = sim.plant._devices["dope_pump_1"]
    trim_before = engine.outputs["casting_knife.thickness_trim_pct"]
    pump.slip_m3 *= 5.0
    dipped = TARGET_UM
    for _ in range(900):
        run_until(engine, lambda e: False, 1.0)
        dipped = min(dipped, true_thickness_um(sim))
    recovered = true_thickness_um(sim)
    print(f"slip x5: film down to {dipped:.1f} um, {recovered:.1f} um after 15 min; trim "
          f"{trim_before:.2f} -> {engine.outputs['casting_knife.thickness_trim_pct']:.2f} %")
    assert dipped < TARGET_UM * 0.99
    assert abs(recovered - TARGET_UM) / TARGET_UM < 0.01
    assert engine.outputs["casting_knife.thickness_trim_pct"] > trim_before + 1.0


def test_failed_feed_line_trace_heater_raises_the_spinodal_alarm_before_the_dope_crosses_it():
    sim = production_line()
    engine = sim.engine
    assert sim.plant.knife_dope_state()[1]["binodal_depth"] < dope.SPINODAL_DEPTH - 0.05
    sim.plant.faults.fail_trace_heater("dope_pump_1")
    # the line is stopped for a while (the operator holds it): the dope stands in the cooling line
    engine.request("hold")
    times: dict[str, float] = {}

    def watch(e) -> bool:
        now = e.clock.now_s()
        if "alarm" not in times and any(a["alarm_id"] == "DOPE_1_NEAR_SPINODAL" for a in e.status().alarms):
            times["alarm"] = now
        if "crossed" not in times and sim.plant.knife_dope_state()[1]["past_spinodal"]:
            times["crossed"] = now
        return "crossed" in times

    run_until(engine, watch, 3 * 3600.0)
    assert "alarm" in times and "crossed" in times, times
    lead_s = times["crossed"] - times["alarm"]
    print(f"spinodal alarm {lead_s:.0f} s before the dope at the knife crossed the spinodal")
    assert lead_s > 60.0
    assert engine.state is UnitState.HELD
    # the hold stands: unhold is refused while the alarm stands
    assert engine.image["casting_knife.layer_1_binodal_depth"] >= dope.SPINODAL_DEPTH - 0.03
