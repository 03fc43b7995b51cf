"""What the screens show, checked without a line: stale and no-communication values told apart,
alarms in working order, step progress, process stages, the event stream's framing and
de-duplication (display units and rounding: tests/drivers/test_display.py)."""

from __future__ import annotations

from controller.hmi import display
from controller.hmi.events import ChangedOnly, sse
from controller.lines import kind_named, kinds


def test_stale_and_bad_comm_devices_are_told_apart_in_words_and_classes() -> None:
    kind = kinds()[0]
    definition = kind.definition()
    first, second = definition.devices[0], definition.devices[1]
    live = {f"{first.name}.{t.name}": (1.0, "stale") for t in first.profile.tags}
    live |= {f"{second.name}.{t.name}": (None, "bad_comm") for t in second.profile.tags}
    drawn = {d.name: d for stage in display.schematic(definition, kind.process_stages(definition), live) for d in stage}
    assert (drawn[first.name].quality, drawn[first.name].quality_text) == ("stale", "stale (last good value)")
    assert (drawn[second.name].quality, drawn[second.name].quality_text) == ("bad_comm", "no communication")


def test_alarms_are_ordered_by_priority_then_unacknowledged_first_and_counted() -> None:
    alarms = [
        {"alarm_id": "LOW", "priority": 3, "state": "unacknowledged", "raised_t_s": 5.0},
        {"alarm_id": "TRIP_ACK", "priority": 1, "state": "acknowledged", "raised_t_s": 9.0},
        {"alarm_id": "TRIP", "priority": 1, "state": "unacknowledged", "raised_t_s": 1.0},
        {"alarm_id": "SHELVED", "priority": 2, "state": "shelved", "raised_t_s": 2.0},
    ]
    assert [a["alarm_id"] for a in display.sorted_alarms(alarms)] == ["TRIP", "TRIP_ACK", "SHELVED", "LOW"]
    assert display.alarm_counts(alarms) == display.AlarmCounts(total=4, unacknowledged=2, shelved=1)


def test_step_progress_counts_the_transition_hold_time_and_otherwise_the_timeout() -> None:
    base = {"step_index": 1, "step_name": "production", "step_count": 3, "step_elapsed_s": 900.0,
            "step_condition": "true", "step_hold_for_s": 1800.0, "step_timeout_s": 3600.0,
            "step_timeout_elapsed_s": 900.0}
    holding = display.step_view(base | {"step_condition_true_s": 900.0})
    assert (holding.number, holding.count, holding.progress_pct) == (2, 3, 50.0)
    assert holding.remaining == "0:15:00 to the next step"
    waiting = display.step_view(base | {"step_condition_true_s": None, "step_condition": "quench_bath.temperature_c > 39"})
    assert waiting.progress_pct is None and waiting.waiting_for == "quench_bath.temperature_c > 39"
    assert waiting.remaining == "0:45:00 to the timeout"


def test_the_default_process_stages_put_devices_of_one_type_side_by_side() -> None:
    casting = kind_named("casting")
    assert casting.process_stages(casting.definition()) == (
        ("dope_vessel_1", "dope_vessel_2"), ("dope_pump_1", "dope_pump_2"), ("casting_knife",), ("support_belt",),
        ("quench_bath",), ("wash_bath",), ("dryer",))
    foaming = kind_named("foaming")
    assert [s for stage in foaming.process_stages(foaming.definition()) for s in stage] == [
        "extruder", "co2_pump", "water_pump", "melt_pump_1", "heat_exchanger", "melt_pump_2", "die"]


def test_the_event_stream_sends_a_part_only_when_it_changed() -> None:
    sent = ChangedOnly()
    assert sent.fresh({"banner": "<p>none</p>", "status": "Idle"}) == [("banner", "<p>none</p>"), ("status", "Idle")]
    assert sent.fresh({"banner": "<p>none</p>", "status": "Execute"}) == [("status", "Execute")]
    assert sent.fresh({"banner": "<p>none</p>", "status": "Execute"}) == []


def test_a_multi_line_fragment_is_one_event_of_several_data_lines() -> None:
    assert sse("banner", "<ol>\n<li>A</li>\n</ol>\n") == "event: banner\ndata: <ol>\ndata: <li>A</li>\ndata: </ol>\n\n"
