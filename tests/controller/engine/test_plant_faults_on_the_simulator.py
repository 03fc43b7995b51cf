"""Fault campaign, the plant (issue 10): a dope pump that jams and a support belt that stops
mid-production on the built-in casting simulator, scanned on virtual time with a SQLite batch
record (the frozen sensor and the failed heater: test_loop_watch_on_the_simulators.py).

The documented behaviour (controller/lines/casting/control.py): ``<PUMP>_STALLED`` (priority 1,
after 10 s commanded but not turning) holds the run and forces every output of the pump to
its safe value in the scan that raises it, latched until acknowledged; ``BELT_STOPPED``
(priority 1, after 10 s) holds the run, which puts the hold-safe drives to their safe values.
The scan goes on throughout; unhold is refused until the alarm is acknowledged; after unhold
the run completes and its record holds every step, both alarms and every sample.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_support import SHORT_RECIPE, alarm_journal, assert_audit_intact, assert_samples_complete, casting_text
from scanning import run_until

from controller.assembly import build_line
from controller.engine.scan import Engine
from controller.engine.states import CommandRejected, UnitState
from controller.lines import compile_for_line
from controller.store import BatchRecorder, create_engine_for, load_batch_record, upgrade
from drivers.profiles import HoldAction

SCAN_S = 1.0
SAMPLE_S = 5.0
assert SHORT_RECIPE.exists()


def active(engine: Engine, alarm_id: str) -> bool:
    return alarm_id in engine.alarms and engine.alarms.get(alarm_id).active


def outputs_of(engine: Engine, device: str) -> dict[str, float]:
    profile = engine.line.definition.device(device).profile
    return {t.name: engine.outputs[f"{device}.{t.name}"] for t in profile.tags if t.direction.writable}


def safe_of(engine: Engine, device: str, *, hold_only: bool = False) -> dict[str, float]:
    profile = engine.line.definition.device(device).profile
    return {t.name: float(t.safe_value) for t in profile.tags  # type: ignore[arg-type]
            if t.direction.writable and (not hold_only or t.hold_action is HoldAction.SAFE)}


def unhold_after_acknowledging(engine: Engine, alarm_id: str) -> None:
    with pytest.raises(CommandRejected, match=alarm_id):
        engine.request("unhold", "ann", reason="before acknowledging")
    engine.acknowledge(alarm_id, "ann")
    engine.request("unhold", "ann", reason=f"{alarm_id} cleared")


def test_a_stalled_pump_and_a_stopped_belt_hold_the_run_safe_and_the_record_stays_complete(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'poreline.db'}"
    upgrade(url)
    db = create_engine_for(url)
    recorder = BatchRecorder(db)
    recipe = compile_for_line(casting_text("10 min"))
    line = build_line(recipe=recipe, recorder=recorder, scan_period_s=SCAN_S, sample_period_s=SAMPLE_S)
    engine, plant = line.engine, line.plant
    assert plant is not None
    engine.request("start", "ann")
    run_until(engine, lambda e: e.step is not None and e.step.name == "production", 900.0)
    assert engine.step is not None and engine.step.name == "production"
    run_until(engine, lambda e: False, 30.0)

    # the pump jams
    plant.faults.stall_pump("dope_pump_1")
    jammed_s = engine.clock.now_s()
    run_until(engine, lambda e: active(e, "DOPE_PUMP_1_STALLED"), 60.0)
    assert active(engine, "DOPE_PUMP_1_STALLED"), engine.alarms.annunciated()
    assert outputs_of(engine, "dope_pump_1") == safe_of(engine, "dope_pump_1")  # in the scan that raised it
    assert engine.state in (UnitState.HOLDING, UnitState.HELD), engine.state
    scans = engine.scan_count
    run_until(engine, lambda e: False, 30.0)
    assert engine.scan_count >= scans + 30 - 1  # the scan goes on
    assert engine.state is UnitState.HELD
    assert outputs_of(engine, "dope_pump_1") == safe_of(engine, "dope_pump_1")  # latched
    plant.faults.clear("dope_pump_1")
    run_until(engine, lambda e: False, 5.0)
    unhold_after_acknowledging(engine, "DOPE_PUMP_1_STALLED")
    run_until(engine, lambda e: e.state is UnitState.EXECUTE and e.outputs["dope_pump_1.speed_setpoint_rpm"] > 1.0,
              600.0)
    assert engine.state is UnitState.EXECUTE and engine.step.name == "production"
    run_until(engine, lambda e: False, 30.0)
    assert not active(engine, "DOPE_PUMP_1_STALLED")

    # the belt stops
    plant.faults.stop_belt()
    stopped_s = engine.clock.now_s()
    run_until(engine, lambda e: active(e, "BELT_STOPPED"), 60.0)
    assert active(engine, "BELT_STOPPED"), engine.alarms.annunciated()
    run_until(engine, lambda e: e.state is UnitState.HELD, 5 * SCAN_S)
    assert engine.state is UnitState.HELD
    for device in engine.line.definition.devices:  # what a hold makes safe, is safe
        held = safe_of(engine, device.name, hold_only=True)
        assert {k: outputs_of(engine, device.name)[k] for k in held} == held, device.name
    plant.faults.clear()
    run_until(engine, lambda e: not active(e, "BELT_STOPPED"), 30.0)
    unhold_after_acknowledging(engine, "BELT_STOPPED")
    run_until(engine, lambda e: e.state in (UnitState.COMPLETE, UnitState.STOPPED, UnitState.ABORTED), 1800.0)
    assert engine.state is UnitState.COMPLETE
    recorder.flush()

    run_id = engine.run_id
    assert run_id is not None
    record = load_batch_record(db, run_id)
    assert [(s.name, s.outcome) for s in record.steps] == [(s.name, "complete") for s in recipe.steps]
    holds = [c for c in record.commands if c.command == "hold"]
    assert {h.reason for h in holds} >= {"alarm DOPE_PUMP_1_STALLED", "alarm BELT_STOPPED"}, record.commands
    journal = {a["alarm_id"]: a for a in alarm_journal(url, run_id)}
    for alarm_id, fault_s in (("DOPE_PUMP_1_STALLED", jammed_s), ("BELT_STOPPED", stopped_s)):
        alarm = journal[alarm_id]
        assert fault_s < alarm["raised_t_s"] <= fault_s + 30.0, (alarm_id, alarm["raised_t_s"], fault_s)
        assert alarm["cleared_t_s"] is not None, alarm
        states = [e["state"] for e in alarm["events"]]
        assert states[0] == "unacknowledged" and "normal" in states, (alarm_id, states)
    assert_samples_complete(url, run_id, sample_period_s=SAMPLE_S, scan_period_s=SCAN_S, speed=1.0,
                            longest_scan_s=SCAN_S, until_t_s=record.run.ended_t_s)
    assert_audit_intact(url)
    db.dispose()
