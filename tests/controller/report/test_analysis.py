"""The batch report's pure parts: the PackML timeline replayed from a command log, which tag a
formula parameter was set on, the formula's actual against its setpoint, the production windows."""

from __future__ import annotations

import pytest

from controller.recipe.model import Parameter
from controller.report.analysis import (
    LoggedCommand,
    Target,
    abridged,
    combine,
    execute_spans,
    formula_rows,
    intersect,
    measured_tag,
    parameter_targets,
    state_timeline,
)
from controller.report.model import FormulaRow


def test_a_hold_by_an_alarm_and_an_unhold_by_the_operator_split_execute() -> None:
    log = [LoggedCommand(0.0, "start", "op", True, "first batch"),
           LoggedCommand(100.0, "hold", "system", True, "alarm PUMP_STALLED"),
           LoggedCommand(150.0, "unhold", "op", False, "unhold refused: PUMP_STALLED latched"),
           LoggedCommand(160.0, "acknowledge PUMP_STALLED", "op", True, None),
           LoggedCommand(200.0, "unhold", "op", True, "pump freed")]
    spans = state_timeline(log, end_t_s=500.0, final_state="Complete")
    assert [(s.state, s.start_t_s, s.end_t_s, s.cause) for s in spans] == [
        ("Execute", 0.0, 100.0, "start by op: first batch"),
        ("Held", 100.0, 200.0, "hold by system: alarm PUMP_STALLED"),
        ("Execute", 200.0, 500.0, "unhold by op: pump freed"),
        ("Complete", 500.0, 500.0, "end of the procedure"),
    ]
    assert execute_spans(spans) == [(0.0, 100.0), (200.0, 500.0)]


def test_an_abort_ends_the_timeline_in_aborted_at_the_command() -> None:
    log = [LoggedCommand(0.0, "start", "op", True, None), LoggedCommand(30.0, "abort", "op", True, "leak")]
    spans = state_timeline(log, end_t_s=30.0, final_state="Aborted")
    assert [(s.state, s.start_t_s, s.end_t_s) for s in spans] == [("Execute", 0.0, 30.0), ("Aborted", 30.0, 30.0)]


def test_a_run_that_never_started_has_no_timeline() -> None:
    assert state_timeline([LoggedCommand(0.0, "start", "op", False, "no recipe loaded")], 0.0, None) == []


def test_the_formula_deviation_is_actual_minus_setpoint_in_the_parameters_unit() -> None:
    row = FormulaRow("line_speed", "m/min", 2.0, 0.5, 5.0, actual=1.9, actual_tag="belt.line_speed_m_min")
    assert row.deviation == pytest.approx(-0.1)
    assert row.deviation_pct == pytest.approx(-5.0)
    assert row.within_limits is True
    assert FormulaRow("t", "degC", 40.0, None, 45.0, actual=46.0, actual_tag="x.t_c").within_limits is False


def test_a_parameter_no_tag_measures_has_no_deviation() -> None:
    row = FormulaRow("production_time", "s", 600.0, None, None, actual=None, actual_tag=None)
    assert (row.deviation, row.deviation_pct, row.within_limits) == (None, None, None)
    assert FormulaRow("zero", "rpm", 0.0, None, None, actual=1.0, actual_tag="p.speed_rpm").deviation_pct is None


def test_the_actual_mean_is_converted_into_the_parameters_unit() -> None:
    parameters = {"gap": Parameter("gap", 380.0, "um", 100.0, 500.0), "time": Parameter("time", 600.0, "s")}
    (gap, time) = formula_rows(parameters, {"gap": ("knife.gap_mm", 0.379, "mm")})
    assert gap.actual == pytest.approx(379.0) and gap.deviation == pytest.approx(-1.0)
    assert time.actual is None and time.actual_tag is None


def test_a_mean_in_a_unit_of_another_kind_gives_no_actual() -> None:
    (row,) = formula_rows({"speed": Parameter("speed", 50.0, "rpm")}, {"speed": ("pump.flow_ml_min", 3.0, "mL/min")})
    assert row.actual is None


def test_a_parameter_is_traced_to_the_tag_or_loop_a_production_step_sets_with_it() -> None:
    recipe = {"procedure": [
        {"step": "warm_up", "actions": [{"set": "pump.speed_setpoint_rpm", "value": "prime_speed"},
                                        {"loop": "bath_temperature", "mode": "auto", "setpoint": "bath_t"},
                                        {"set": "belt.speed_setpoint_m_min", "value": "line_speed"}]},
        {"step": "production", "production": True,
         "actions": [{"ramp": "pump.speed_setpoint_rpm", "to": "pump_speed", "rate": "60 rpm/min"},
                     {"set": "belt.speed_setpoint_m_min", "value": "line_speed"},
                     {"set": "dryer.fan_on", "value": 1}]},
    ]}
    targets = parameter_targets(recipe)
    assert targets == {"prime_speed": Target("tag", "pump.speed_setpoint_rpm", False),
                       "bath_t": Target("loop", "bath_temperature", False),
                       "line_speed": Target("tag", "belt.speed_setpoint_m_min", True),
                       "pump_speed": Target("tag", "pump.speed_setpoint_rpm", True)}


def test_a_setpoint_is_measured_by_its_declared_pair_or_its_name_without_setpoint() -> None:
    addresses = ["pump.speed_setpoint_rpm", "pump.speed_rpm", "zone.zone_1_setpoint_c", "zone.zone_1_temperature_c",
                 "zone.zone_1_heater_output_pct", "zone.zone_2_setpoint_c", "zone.zone_2_temperature_c",
                 "zone.zone_2_surface_c", "zone.gap_setpoint_mm", "zone.gap_width_mm"]
    assert measured_tag("pump.speed_setpoint_rpm", addresses) == "pump.speed_rpm"
    # no zone_1_c: the one tag with one word in the place of "setpoint"
    assert measured_tag("zone.zone_1_setpoint_c", addresses) == "zone.zone_1_temperature_c"
    assert measured_tag("zone.zone_2_setpoint_c", addresses) is None  # two such tags: not guessed
    assert measured_tag("zone.zone_2_setpoint_c", addresses,
                        [("zone.zone_2_temperature_c", "zone.zone_2_setpoint_c")]) == "zone.zone_2_temperature_c"
    assert measured_tag("zone.gap_setpoint_mm", addresses) == "zone.gap_width_mm"
    assert measured_tag("dryer.fan_on", addresses) is None


def test_production_windows_are_production_steps_while_executing() -> None:
    steps = [(100.0, 700.0)]
    executing = [(0.0, 300.0), (400.0, 800.0)]
    assert intersect(steps, executing) == [(100.0, 300.0), (400.0, 700.0)]
    assert intersect(steps, [(700.0, 800.0)]) == []


def test_bucket_statistics_combine_weighted_by_their_counts() -> None:
    assert combine([(1, 10.0, 10.0, 10.0), (3, 20.0, 15.0, 25.0), (0, None, None, None)]) == (17.5, 10.0, 25.0)
    assert combine([(0, None, None, None)]) is None


def test_a_chattering_alarms_history_keeps_its_first_and_last_transitions() -> None:
    lines = [f"t{n}" for n in range(20)]
    assert abridged(lines, 4) == ["t0", "t1", "... 16 more transitions ...", "t18", "t19"]
    assert abridged(lines[:4], 4) == ["t0", "t1", "t2", "t3"]
