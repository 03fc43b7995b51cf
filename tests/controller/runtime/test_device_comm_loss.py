"""Fault campaign, a plant device (issue 10): the line runtime process drives the casting
plant over Modbus/TCP (a served simulator on loopback, ``--plant``), and the plant's PLC
goes away mid-run and comes back restarted, its outputs lost.

The documented behaviour (controller/engine/scan.py, DESIGN.md "Alarms and interlocks"): a
device that stops answering raises ``COMM_<DEVICE>`` (priority 1) and holds the run; the
alarm stays active for as long as the link is lost; unhold is refused while it stands or is
unacknowledged; when the link returns, every output of the device is written again (the
device may have restarted); the scan goes on throughout.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from hil_support import free_port, plant_file
from runtime_support import (
    LineRuntime,
    Timeline,
    alarm_journal,
    assert_audit_intact,
    assert_samples_complete,
    assert_scanned_through,
    batch_record,
    casting_text,
    run_row,
    sqlite_url,
    step_names,
    until,
)

from controller.assembly import simulated_plant
from controller.lines import builtin_line, compile_for_line, kind_named
from controller.runtime.client import RuntimeRefused
from drivers.profiles import HoldAction
from simulator.serve.runner import ServedPlant

SPEED = 20.0
OUTAGE_S = 3.0  # wall seconds the PLC is away (60 simulated seconds)
RECIPE = casting_text("2 min")
ACTIVE = frozenset({"unacknowledged", "acknowledged"})


def outputs(served: ServedPlant) -> dict[str, float]:
    """Every writable tag of every device, as the plant holds it."""
    values: dict[str, float] = {}
    for device in served.line.devices:
        reading = served.plant.read_device(device.name)
        for tag in device.profile.tags:
            if tag.direction.writable:
                values[f"{device.name}.{tag.name}"] = reading[tag.name]
    return values


def held_outputs(served: ServedPlant, before: dict[str, float]) -> dict[str, float]:
    """What the controller holds while Held: the outputs before, a hold-safe drive at its
    safe value."""
    expected = dict(before)
    for device in served.line.devices:
        for tag in device.profile.tags:
            if tag.direction.writable and tag.hold_action is HoldAction.SAFE:
                assert tag.safe_value is not None
                expected[f"{device.name}.{tag.name}"] = tag.safe_value
    return expected


def differing(actual: dict[str, float], expected: dict[str, float]) -> dict[str, tuple[float, float]]:
    return {k: (actual[k], v) for k, v in expected.items() if abs(actual[k] - v) > 1e-3 * max(1.0, abs(v))}


async def test_plc_lost_and_restarted_holds_until_acknowledged_and_gets_every_output_again(tmp_path: Path) -> None:
    definition, _control = builtin_line("casting")
    recipe = compile_for_line(RECIPE, definition)
    port = free_port()

    def plc() -> ServedPlant:
        """The plant's PLC, as it comes up after a restart: its outputs at their start values."""
        plant = simulated_plant(kind_named("casting"), definition, recipe, seed=0)
        return ServedPlant(plant, definition, modbus_port=port, opcua_devices=(), speed=SPEED, step_s=0.02,
                           watchdog_s=2.0)

    url = sqlite_url(tmp_path / "poreline.db")
    runtime = LineRuntime(tmp_path / "runtime", url, kind=None, speed=SPEED,
                          plant=plant_file(tmp_path, modbus_port=port, opcua_port=None))
    served = plc()
    await served.start()
    try:
        await runtime.start()
        run_id = await runtime.start_run(RECIPE)
        await runtime.wait_step("production", 30.0)
        await asyncio.sleep(0.5)
        before = outputs(served)
        assert before["casting_knife.gap_1_setpoint_um"] > 100.0  # the recipe has written its outputs

        async with Timeline(runtime) as timeline:
            lost_t_s = (await runtime.status())["t_s"]
            lost_wall = time.monotonic()
            await served.stop()  # the PLC goes away: connections drop, new ones are refused
            held = await runtime.wait_state("Held", 10.0)
            comm = sorted(a["alarm_id"] for a in held["alarms"] if a["alarm_id"].startswith("COMM_"))
            assert comm == sorted(f"COMM_{d.name.upper()}" for d in definition.devices), held["alarms"]

            # some acknowledged while still lost: still active, unhold refused (naming one)
            acknowledged_early, left = comm[:3], comm[3:]
            for alarm_id in acknowledged_early:
                await runtime.request("acknowledge", alarm_id=alarm_id, user="ann")
            try:
                await runtime.request("command", command="unhold", user="ann", reason="too early")
                raise AssertionError("unhold accepted while the PLC is lost")
            except RuntimeRefused as refused:
                assert refused.status == 409 and "COMM_" in refused.detail, refused.detail
            await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - lost_wall)))
            during = timeline.between(lost_wall + 0.5, time.monotonic())
            assert all(o.state == "Held" for o in during), timeline.describe(during)
            assert all(o.alarms.get(a) in ACTIVE for o in during for a in comm), timeline.describe(during)
            back_wall = time.monotonic()
            back_t_s = (await runtime.status())["t_s"]

            served = plc()  # restarted: every output at its start value
            assert differing(outputs(served), held_outputs(served, before)), "a restart that loses nothing proves nothing"
            await served.start()

            async def comm_back() -> dict[str, Any] | None:
                status = await runtime.status()
                states = {a["alarm_id"]: a["state"] for a in status["alarms"]}
                return status if all(states.get(a) not in ACTIVE for a in comm) else None

            returned = await until(comm_back, 20.0, "the link to return (COMM alarms cleared)")
            assert returned["state"] == "Held", returned
            await until(lambda: not differing(outputs(served), held_outputs(served, before)), 10.0,
                        "every output to be written again to the restarted PLC")
        # the scan goes on (its execution, Modbus reads of a lost PLC included, within its period)
        assert_scanned_through(timeline, lost_wall, back_wall, runtime.scan_period_wall_s)

        # back: the ones acknowledged during the loss are normal (ISA-18.2), the others
        # returned unacknowledged, and unhold is refused until they are acknowledged too
        states = {a["alarm_id"]: a["state"] for a in (await runtime.status())["alarms"]}
        assert all(states.get(a, "normal") == "normal" for a in acknowledged_early), states
        assert all(states.get(a) == "rtn_unacknowledged" for a in left), states
        try:
            await runtime.request("command", command="unhold", user="ann", reason="before acknowledging")
            raise AssertionError("unhold accepted before the returned COMM alarms were acknowledged")
        except RuntimeRefused as refused:
            assert refused.status == 409 and any(a in refused.detail for a in left), refused.detail
        for alarm_id in left:
            await runtime.request("acknowledge", alarm_id=alarm_id, user="ann")
        unheld = await runtime.request("command", command="unhold", user="ann", reason="PLC back")
        assert unheld["target_state"] in ("Unholding", "Execute"), unheld
        await until(lambda: not differing(outputs(served), before), 10.0, "the held drives to run again")
        final = await runtime.wait_state({"Complete", "Stopped", "Aborted"}, 60.0)
        assert final["state"] == "Complete", final
        await runtime.wait_historian_idle(10.0)
    finally:
        await runtime.close()
        await served.stop()

    run = run_row(url, run_id)
    assert run["final_state"] == "Complete"
    record = batch_record(url, run_id)
    assert [(s.name, s.outcome) for s in record.steps] == [(n, "complete") for n in step_names(RECIPE)]
    holds = [c for c in record.commands if c.command == "hold"]
    assert holds and holds[0].user == "system" and "COMM_" in (holds[0].reason or ""), record.commands
    assert any(c.command == "unhold" and c.user == "ann" and c.accepted for c in record.commands), record.commands
    journal = {a["alarm_id"]: a for a in alarm_journal(url, run_id) if a["alarm_id"].startswith("COMM_")}
    assert sorted(journal) == comm
    outage_s = back_t_s - lost_t_s
    for alarm_id, alarm in journal.items():
        duration = alarm["cleared_t_s"] - alarm["raised_t_s"]
        assert alarm["raised_t_s"] >= lost_t_s - runtime.scan_period_s, (alarm_id, alarm["raised_t_s"], lost_t_s)
        # active for as long as the link was lost: from the loss (a scan) to the restarted
        # PLC's first good reading (reconnection: at most 2 s of wall time)
        assert outage_s - 2 * runtime.scan_period_s <= duration <= outage_s + 2.0 * SPEED, (
            f"{alarm_id} active {duration:.1f} s, the PLC was away {outage_s:.1f} s")
        assert next(e["state"] for e in alarm["events"]) == "unacknowledged"
        assert any(e["actor"] == "ann" for e in alarm["events"]), alarm["events"]
    times = assert_samples_complete(url, run_id, sample_period_s=runtime.sample_period_s,
                                    scan_period_s=runtime.scan_period_s, speed=runtime.speed, until_t_s=run["ended_t_s"])
    assert any(lost_t_s < t < back_t_s for t in times), "no sample during the outage"
    assert_audit_intact(url)
