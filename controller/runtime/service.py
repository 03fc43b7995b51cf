"""The line runtime: one line's engine, drivers and historian writer, scanning whether a
client is connected or not.

It is the one place that acts on a line. Clients (the API, the HMI, SCADA) reach it through
:mod:`controller.runtime.server`; the calls below are what they may ask. Every one is quick:
none compiles a recipe (a client sends a compiled recipe document, loaded in a millisecond),
none waits for the database (the historian writer takes every record off the scan path; only
opening a run's batch record waits, in a worker thread, because a run must not start without
one).

Scan supervision (the documented rule):

- an exception in a scan is logged, counted and raised as ``SCAN_FAULT`` (priority 1, hold);
  the next scan runs on time;
- the runtime's health says ``scanning: false`` once three scans in a row have failed or no
  scan has run for three periods (and at least a second of wall time); the API then
  answers 503 instead of a state, so no client sees Execute for a line that is not scanning;
- a scan whose execution outlasts its period raises ``SCAN_OVERRUN`` (priority 3), cleared
  after a minute of scans on time;
- the historian's backlog raises ``HISTORIAN_BEHIND`` (priority 3), a full spool
  ``HISTORIAN_SPOOL_FULL`` (priority 1, hold).

A command is answered when the engine has acted on it (after the next scan), with the state
it reached.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.assembly import AssembledLine, build_line, resolve_kind
from controller.engine.scan import Engine, FaceplateRefused
from controller.engine.states import (
    MODE_CHANGE_STATES,
    TERMINAL,
    Command,
    CommandRejected,
    UnitMode,
    UnitState,
    accepted_commands,
)
from controller.lines import LineKind, default_kind, kind_named
from controller.recipe.document import from_document
from controller.recipe.model import AlarmAction, AlarmDefinition, CompiledRecipe, Condition, LoopAction
from controller.runtime import channel
from controller.runtime.health import ScanHealth
from controller.store import BatchRecorder, create_engine_for, upgrade
from controller.store.historian import HistorianWriter, historian_alarms
from drivers.clock import WallClock
from drivers.transport import Quality

if TYPE_CHECKING:
    from simulator.plant import SimulatedPlant

log = logging.getLogger(__name__)

FAILED_SCANS_NOT_SCANNING = 3
NOT_SCANNING_AFTER_S = 1.0  # wall seconds without a scan (at least three periods) before health says so
STOP_TIMEOUT_S = 30.0  # wall seconds a clean stop waits for the line to reach Stopped
SPOOL_REPLAY_AT_START_S = 10.0  # wall seconds a start waits for a killed runtime's spool before it scans
_NEVER = Condition("false", frozenset(), lambda _image: False)
_RUNTIME_ALARMS: dict[str, tuple[int, AlarmAction]] = {
    "SCAN_FAULT": (1, AlarmAction.HOLD),
    "SCAN_OVERRUN": (3, AlarmAction.NONE),
    "HISTORIAN_BEHIND": (3, AlarmAction.NONE),
    "HISTORIAN_SPOOL_FULL": (1, AlarmAction.HOLD),
}
_STARTABLE = frozenset({UnitState.IDLE}) | TERMINAL


class ServiceError(Exception):
    """A request the runtime refuses: ``status`` as HTTP would say it (404, 409, 422, 503)."""

    def __init__(self, status: int, detail: str, state: str | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.state = state


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    database_url: str
    state_dir: Path  # the historian's spool and the channel's key live here
    kind: str | None = None  # None: the plant file's line, else the default kind
    plant_file: Path | None = None
    line_id: str | None = None  # None: the kind's built-in line name (e.g. casting-1)
    speed: float = 1.0  # simulated seconds per wall second (1 for a real plant)
    scan_period_s: float = 1.0
    sample_period_s: float = 10.0
    seed: int = 0


class RuntimeClock(WallClock):
    """A sped-up wall clock whose ``sleep_until`` always yields to the event loop, so a scan
    loop that is behind catches up without starving the channel."""

    async def sleep_until(self, t_s: float) -> None:
        delay_s = (t_s - self.now_s()) / self._speed
        await asyncio.sleep(max(0.0, delay_s))


class LineService:
    def __init__(self, config: RuntimeConfig) -> None:
        self.config = config
        self.kind: LineKind = resolve_kind(config.kind or default_kind(), None, config.plant_file)
        self.line_id = config.line_id or self.kind.definition().name
        self._db = create_engine_for(config.database_url)
        self.writer = HistorianWriter(BatchRecorder(self._db, clock_speed=config.speed), line_id=self.line_id,
                                      spool_path=config.state_dir / f"{self.line_id}.spool.jsonl")
        self.health = ScanHealth(config.scan_period_s / config.speed)
        self._line: AssembledLine | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._scanned = asyncio.Event()
        self._start_lock = asyncio.Lock()
        self._start_pending = False
        self._hold_reason = ""
        # the service's, not the engine's (a run builds a new engine); kept in the state directory,
        # so that a restarted runtime is not back in Production while the line is worked on
        self._unit_mode_path = config.state_dir / f"{self.line_id}.unit-mode"
        self._unit_mode = UnitMode.PRODUCTION
        self._on_scan: list[Callable[[LineService], None]] = []
        self._historian_checked_wall_s = 0.0
        self._scans_on_time = 0
        self._stats_run: int | None = None
        self._last_scan_epoch_s: float | None = None  # the last run whose scan statistics were recorded

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> list[tuple[int, str]]:
        """Migrate the database, close the runs a killed runtime left open, build the idle
        line and start scanning. Returns the runs closed as lost (id, reason)."""
        self.config.state_dir.mkdir(parents=True, exist_ok=True)
        self._unit_mode = await asyncio.to_thread(_load_unit_mode, self._unit_mode_path)
        await asyncio.to_thread(upgrade, self._db)
        # a killed runtime's spool holds the last events of the run it left open: they go in
        # first, so that the run is closed at its real last step and record
        self.writer.start()
        lost: list[tuple[int, str]] = []
        # the alarms a previous runtime raised between runs stood on its engine; this one
        # evaluates them afresh (a condition that still holds is raised again on the first scans)
        restarted = "line runtime restarted"
        if await asyncio.to_thread(self.writer.wait_idle, SPOOL_REPLAY_AT_START_S):
            recorder = BatchRecorder(self._db)
            lost = await asyncio.to_thread(recorder.close_lost_runs, self.line_id)
            for run_id, reason in lost:
                log.warning("run %d of %s closed as Aborted: %s", run_id, self.line_id, reason)
            await asyncio.to_thread(recorder.close_runless_alarms, restarted, self.line_id)
        else:  # still replaying: the writer closes them after the spool, in order
            log.warning("the historian spool of %s is not replayed after %.0f s (%s); runs left open are closed "
                        "after it", self.line_id, SPOOL_REPLAY_AT_START_S, self.writer.status().last_error or "busy")
            self.writer.close_lost_runs()
            self.writer.close_runless_alarms(restarted)
        line = self._build(None, "operator")
        await line.line.connect()
        self._line = line
        self._task = asyncio.create_task(self._scan_forever(), name=f"scan-{self.line_id}")
        return lost

    async def stop(self, reason: str = "runtime stopped") -> None:
        """A clean stop: a running line goes to Stopped through the PackML Stop path (its
        record is closed), the historian drains, the line is closed."""
        line = self._line
        if line is not None and self._task is not None and not self._task.done():
            engine = line.engine
            if engine.state not in _STARTABLE and engine.state not in (UnitState.STOPPING, UnitState.ABORTING):
                try:
                    engine.request(Command.STOP, "system", reason=reason)
                except CommandRejected:
                    pass
            deadline = time.monotonic() + STOP_TIMEOUT_S
            while engine.state not in _STARTABLE and time.monotonic() < deadline:
                await self._next_scan(1.0)
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if line is not None:
            await line.line.close()
        await asyncio.to_thread(self.writer.close)
        self._db.dispose()

    def on_scan(self, listener: Callable[[LineService], None]) -> None:
        """Call ``listener`` after every scan (the SCADA facade publishes from here)."""
        self._on_scan.append(listener)

    # ----------------------------------------------------------------- scan
    def _build(self, recipe: CompiledRecipe | None, user: str) -> AssembledLine:
        return build_line(kind=None if recipe is not None else self.kind, recipe=recipe,
                          plant_file=self.config.plant_file, clock=RuntimeClock(self.config.speed),
                          recorder=self.writer, seed=self.config.seed, scan_period_s=self.config.scan_period_s,
                          sample_period_s=self.config.sample_period_s, operator=user, line_name=self.line_id)

    async def _scan_forever(self) -> None:
        while not self._stopping:
            line = self._line
            assert line is not None
            engine = line.engine
            next_s = engine.clock.now_s()
            while self._line is line and not self._stopping:
                started = time.perf_counter()
                try:
                    await engine.scan()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a failed scan is alarmed and the next one runs
                    self._scan_failed(engine, exc)
                else:
                    overran = self.health.record(started, time.perf_counter() - started)
                    self._supervise(engine, overran)
                    if engine.state in TERMINAL and engine.run_id is not None and engine.run_id != self._stats_run:
                        self._stats_run = engine.run_id
                        self.writer.record_scan_stats(engine.run_id, self.health.run_statistics())
                self._last_scan_epoch_s = time.time()
                self._scanned.set()
                self._scanned = asyncio.Event()
                for listener in self._on_scan:
                    listener(self)
                next_s += engine.scan_period_s
                if next_s < engine.clock.now_s() - engine.scan_period_s:  # far behind: do not burst to catch up
                    next_s = engine.clock.now_s()
                await engine.clock.sleep_until(next_s)

    def _scan_failed(self, engine: Engine, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        log.exception("scan failed on %s", self.line_id)
        self.health.failed(message)
        self._raise(engine, "SCAN_FAULT", f"scan failed: {message}"[:300])

    def _supervise(self, engine: Engine, overran: bool) -> None:
        self._clear(engine, "SCAN_FAULT")
        if overran:
            self._scans_on_time = 0
            self._raise(engine, "SCAN_OVERRUN", "scan execution longer than its period")
        else:
            self._scans_on_time += 1
            if self._scans_on_time >= 60:
                self._clear(engine, "SCAN_OVERRUN")
        now_wall = time.monotonic()
        if now_wall - self._historian_checked_wall_s >= 1.0:
            self._historian_checked_wall_s = now_wall
            current = historian_alarms(self.writer.status())
            for alarm_id in ("HISTORIAN_BEHIND", "HISTORIAN_SPOOL_FULL"):
                if alarm_id in current:
                    self._raise(engine, alarm_id, current[alarm_id])
                else:
                    self._clear(engine, alarm_id)

    def _raise(self, engine: Engine, alarm_id: str, message: str) -> None:
        if alarm_id in engine.alarms and engine.alarms.get(alarm_id).active:
            return
        priority, action = _RUNTIME_ALARMS[alarm_id]
        raised = engine.alarms.raise_external(AlarmDefinition(alarm_id, message, priority, _NEVER, action=action),
                                              engine.clock.now_s())
        if raised is not None and raised is not AlarmAction.NONE:
            engine.act_on_alarm(raised, alarm_id)

    def _clear(self, engine: Engine, alarm_id: str) -> None:
        if alarm_id in engine.alarms:
            engine.alarms.clear_external(alarm_id, engine.clock.now_s())

    async def _next_scan(self, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self._scanned.wait(), timeout_s)
        except TimeoutError:
            pass

    # -------------------------------------------------------------- access
    @property
    def line(self) -> AssembledLine:
        if self._line is None:
            raise ServiceError(503, "the line runtime is starting")
        return self._line

    @property
    def plant(self) -> SimulatedPlant | None:
        return self.line.plant

    def scanning(self) -> bool:
        last = self.health.last_scan_wall_s
        stale = last is None or time.perf_counter() - last > max(3.0 * self.health.scan_period_s, NOT_SCANNING_AFTER_S)
        return self.health.consecutive_failures < FAILED_SCANS_NOT_SCANNING and not stale

    # ------------------------------------------------------------ commands
    async def set_unit_mode(self, name: str, user: str, reason: str) -> dict[str, Any]:
        """The PackML unit mode (production, maintenance, manual), changed where no run
        executes, with a reason; audited."""
        try:
            mode = UnitMode[name.strip().upper()]
        except KeyError:
            raise ServiceError(422, f"mode: no unit mode {name!r} (production, maintenance, manual)") from None
        state = self.line.engine.state
        if self._start_pending or state not in MODE_CHANGE_STATES:
            raise ServiceError(409, f"the unit mode changes in Idle, Stopped, Aborted or Complete, where no run executes; "
                                    f"the unit is {state.value}", state.value)
        if not reason.strip():
            raise ServiceError(422, "reason: a mode change needs a reason")
        await asyncio.to_thread(_save_unit_mode, self._unit_mode_path, mode)  # a restart keeps it
        before, self._unit_mode = self._unit_mode, mode
        self.writer.audit(user, "line.unit_mode", "line", {"line_id": self.line_id, "from": before.text,
                                                           "to": mode.text, "reason": reason})
        return self.status()

    @property
    def unit_mode(self) -> UnitMode:
        return self._unit_mode

    async def start_run(self, document: dict[str, Any], user: str, reason: str = "",
                        audit_details: dict[str, Any] | None = None, *,
                        released_for_line: str | None = None,
                        adjustments: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
        """Load a compiled recipe document, open its batch record (with the run.start audit
        entry, in one transaction) and start it; a simulated line is rebuilt for the recipe.
        A version released for production on one line (``released_for_line``) runs on that
        line only. ``adjustments``: the control recipe's changes to the master formula
        (``controller.recipe.adjust.Adjustment.as_record``), already in ``document``; the
        batch record keeps each master value beside the value run."""
        async with self._start_lock:
            state = self.line.engine.state
            if self._start_pending or state not in _STARTABLE:
                raise ServiceError(409, f"a run is already active (state {state.value}); one run at a time",
                                   state.value)
            if self._unit_mode is not UnitMode.PRODUCTION:
                raise ServiceError(409, f"the line is in unit mode {self._unit_mode.text}: runs start in Production "
                                        "only; set the mode to Production first", state.value)
            if released_for_line is not None and released_for_line != self.line_id:
                header = document.get("header", {})
                raise ServiceError(409, f"recipe {header.get('recipe_id')} version {header.get('version')} is released "
                                        f"for production on {released_for_line}, not on {self.line_id}", state.value)
            kind = kind_named(str(document.get("header", {}).get("line_kind", "")))
            if self.config.plant_file is not None and kind is not self.kind:
                raise ServiceError(409, f"recipe is for a {kind.name} line; this runtime drives a {self.kind.name} "
                                        "line", state.value)
            try:
                recipe = from_document(document, kind.definition(self.line_id).addresses(), kind.block_from_document)
            except ValueError as exc:
                raise ServiceError(422, f"recipe: {exc}") from None
            parameters: dict[str, dict[str, Any]] = {n: {"value": p.value, "unit": p.unit}
                                                     for n, p in recipe.parameters.items()}
            for adjusted in adjustments:
                entry = parameters.get(str(adjusted.get("name")))
                value, master = adjusted.get("value"), adjusted.get("master_value")
                if entry is None or not isinstance(value, int | float) or not isinstance(master, int | float) \
                        or not math.isclose(entry["value"], value, rel_tol=1e-9, abs_tol=1e-12):
                    raise ServiceError(422, f"recipe: adjustment {adjusted.get('name')} = {value} (master {master}) "
                                            "is not a value the document carries", state.value)
                entry["master_value"] = float(master)
            blocking = self.line.engine.alarms.blocking_restart()
            if blocking:
                ids = ", ".join(a.definition.alarm_id for a in blocking)
                raise ServiceError(409, f"start refused: alarms stand or are not acknowledged: {ids}", state.value)
            self._start_pending = True
            try:
                line = self._build(recipe, user)
                header = recipe.header
                try:
                    run_id = await asyncio.to_thread(
                        BatchRecorder(self._db).open_run, header.recipe_id, header.version, header.line_kind,
                        parameters, user, line.plant is not None, line_id=self.line_id,
                        audit_details={"reason": reason, **(audit_details or {}),
                                       **({"released_for_line": released_for_line} if released_for_line else {}),
                                       **({"adjustments": [dict(a) for a in adjustments]} if adjustments else {})})
                except Exception as exc:  # noqa: BLE001 - no batch record, no run
                    raise ServiceError(503, f"the batch record cannot be opened: {type(exc).__name__}: {exc}"[:300],
                                       state.value) from None
                await line.line.connect()
                line.engine.request(Command.START, user, reason=reason, run_id=run_id)
                # the idle engine and its run-less alarms go; the run's engine raises what still holds
                self.writer.close_runless_alarms(f"line rebuilt for run {run_id}")
                old = self._line
                self._line = line
                self.health.start_run()
                if old is not None:
                    await old.line.close()
                await self._next_scan(5.0)
                await self._next_scan(5.0)
            finally:
                self._start_pending = False
            return self.status()

    async def command(self, name: str, user: str, reason: str = "") -> dict[str, Any]:
        """A PackML command; 409 naming the state (or the standing alarms) when it does not fit."""
        try:
            command = Command(name)
        except ValueError:
            raise ServiceError(422, f"command: no command {name!r}") from None
        if command is Command.START:
            raise ServiceError(409, "start a run with a recipe", self.line.engine.state.value)
        engine = self.line.engine
        try:
            target = engine.request(command, user, reason=reason)
        except CommandRejected as exc:
            raise ServiceError(409, str(exc), exc.state.value) from None
        if command is Command.HOLD:
            self._hold_reason = f"held by user {user}" + (f": {reason}" if reason else "")
        else:  # unhold, stop, abort...: the user's hold is over
            self._hold_reason = ""
        self.writer.audit(user, f"run.{command.value}", f"run {engine.run_id}" if engine.run_id else "line",
                          {"line_id": self.line_id, "target_state": target.value, "reason": reason})
        await self._next_scan(5.0)
        return {**self.status(), "target_state": target.value}

    async def acknowledge(self, alarm_id: str, user: str) -> dict[str, Any]:
        engine = self.line.engine
        try:
            engine.acknowledge(alarm_id, user)
        except KeyError:
            raise ServiceError(404, f"alarm_id: no alarm {alarm_id!r}") from None
        except ValueError as exc:
            raise ServiceError(409, f"alarm_id: {exc}") from None
        self.writer.audit(user, "alarm.acknowledged", f"alarm {alarm_id}",
                          {"line_id": self.line_id, "run_id": engine.run_id})
        return self.status()

    def status(self) -> dict[str, Any]:
        """State, run, recipe, step and alarms, as clients show them."""
        engine = self.line.engine
        st = engine.status()
        state = UnitState.STARTING if self._start_pending else st.state
        alarms = engine.alarms
        return {
            "line_id": self.line_id, "line_kind": engine.line.definition.kind,
            "state": state.value, "unit_mode": self._unit_mode.text,
            "scanning": self.scanning(), "run_id": st.run_id, "recipe_id": st.recipe_id,
            "recipe_version": st.recipe_version, "t_s": st.t_s, "step_index": st.step_index,
            "step_name": st.step_name, "step_elapsed_s": st.step_elapsed_s,
            "accepted_commands": [c.value for c in accepted_commands(state) if c is not Command.START],
            **self._step_progress(), "hold_reason": self._held_because(state),
            "alarms": [{"alarm_id": a.definition.alarm_id, "message": a.definition.message,
                        "priority": a.definition.priority, "state": "shelved" if shelved else a.state.value,
                        "raised_t_s": a.raised_t_s, "shelved_until_t_s": a.shelved_until_s if shelved else None}
                       for shelved, group in ((False, alarms.annunciated()), (True, alarms.shelved()))
                       for a in group],
        }

    def _step_progress(self) -> dict[str, Any]:
        """The current step's transition: its condition, how long it must hold and has held
        (None: not met), its timeout and the time counted toward it (process s)."""
        engine = self.line.engine
        step, progress = engine.step, engine.progress
        return {
            "step_count": len(engine.recipe.steps) if engine.recipe is not None else 0,
            "step_condition": step.transition.condition.source if step is not None else None,
            "step_hold_for_s": step.transition.hold_for_s if step is not None else None,
            "step_condition_true_s": progress.condition_true_s if step is not None else None,
            "step_timeout_s": step.transition.timeout_s if step is not None else None,
            "step_timeout_elapsed_s": progress.timeout_elapsed_s if step is not None else None,
        }

    def _held_because(self, state: UnitState) -> str | None:
        """Why the unit holds: the standing hold-causing alarms, else the user's hold and reason."""
        if state not in (UnitState.HOLDING, UnitState.HELD):
            return None
        alarms = [a.definition.alarm_id for a in self.line.engine.alarms.annunciated()
                  if a.definition.action is AlarmAction.HOLD]
        alarms += [a.definition.alarm_id for a in self.line.engine.alarms.shelved()
                   if a.definition.action is AlarmAction.HOLD]
        if alarms:
            return "held by alarm " + ", ".join(alarms)
        return self._hold_reason or "held"

    def tags(self) -> dict[str, Any]:
        """The state, the line clock and every device tag and derived tag as (value, quality)."""
        engine = self.line.engine
        image, quality = engine.image, engine.quality
        computed = set(engine.derived_addresses)
        values: dict[str, Any] = {}
        for device in engine.line.definition.devices:
            q = quality[device.name].value
            for tag in device.profile.tags:
                address = f"{device.name}.{tag.name}"
                values[address] = (image.get(address), q)
        for derived in engine.line.definition.derived:
            values[derived.address] = (image.get(derived.address),
                                       Quality.GOOD.value if derived.address in computed else "not_computed")
        return {"state": self.status()["state"], "t_s": engine.clock.now_s(), "scanned_at": self._last_scan_epoch_s,
                "tags": values}

    def health_snapshot(self) -> dict[str, Any]:
        writer = self.writer.status()
        return {"line_id": self.line_id, "scanning": self.scanning(), "configuration": self.configuration(),
                "scan": self.health.snapshot(time.perf_counter()),
                "historian": {"queued": writer.queued, "spooled": writer.spooled, "spool_bytes": writer.spool_bytes,
                              "spool_full": writer.spool_full, "dropped_samples": writer.dropped_samples,
                              "last_error": writer.last_error}}

    def configuration(self) -> dict[str, Any]:
        config = self.config
        return channel.configuration(kind=self.kind.name, database_url=config.database_url, plant_file=config.plant_file,
                                     speed=config.speed, scan_period_s=config.scan_period_s,
                                     sample_period_s=config.sample_period_s, seed=config.seed)

    def loops(self) -> list[dict[str, Any]]:
        """Every loop's faceplate, with its measurement's and output's live values and units."""
        engine = self.line.engine
        definition = engine.line.definition
        plates = []
        for plate in engine.faceplates():
            measured, output = definition.tag(plate.measurement), definition.tag(plate.output_address)
            plates.append({
                "loop": plate.loop, "mode": plate.mode.value, "setpoint": plate.setpoint, "output": plate.output,
                "measurement": plate.measurement, "measurement_value": engine.image.get(plate.measurement),
                "measurement_unit": measured.unit, "setpoint_low": measured.low, "setpoint_high": measured.high,
                "output_address": plate.output_address, "output_unit": output.unit, "output_low": plate.output_low,
                "output_high": plate.output_high, "forced_by": list(plate.forced_by), "held_safe": plate.held_safe})
        return plates

    async def set_loop(self, action: LoopAction, user: str, reason: str) -> None:
        """A faceplate action (engineer): the engine's rules, then the audit trail."""
        engine = self.line.engine
        try:
            engine.set_loop(action, user, reason)
        except KeyError as exc:
            raise ServiceError(404, f"loop: {exc.args[0]}") from None
        except FaceplateRefused as exc:
            raise ServiceError(409, str(exc), engine.state.value) from None
        except ValueError as exc:
            raise ServiceError(422, str(exc)) from None
        self.writer.audit(user, "loop.set", f"loop {action.loop}",
                          {"line_id": self.line_id, "run_id": engine.run_id, "mode": action.mode.value,
                           "setpoint": action.setpoint, "output": action.output, "reason": reason})

    # ------------------------------------------------------------ shelving
    async def shelve(self, alarm_id: str, user: str, role: str, duration_s: float, reason: str) -> dict[str, Any]:
        """ISA-18.2 shelving: it hides the alarm, its action and latch go on. Interlocks and
        priority-1 alarms: engineers only, with a reason. ``duration_s`` is wall time, at most
        ``MAX_SHELVE_S``."""
        engine = self.line.engine
        if alarm_id not in engine.alarms:
            raise ServiceError(404, f"alarm_id: no alarm {alarm_id!r}")
        alarm = engine.alarms.get(alarm_id)
        if alarm.shelved_until_s is not None:
            raise ServiceError(409, f"alarm_id: alarm {alarm_id} is already shelved")
        if not alarm.active and alarm.state.value == "normal":
            raise ServiceError(409, f"alarm_id: alarm {alarm_id} is normal; only active or unacknowledged alarms "
                                    "can be shelved")
        protected = bool(alarm.definition.force_safe) or alarm.definition.priority == 1
        if protected and role not in SHELVE_PROTECTED_ROLES:
            what = "an interlock" if alarm.definition.force_safe else "a priority-1 alarm"
            raise ServiceError(403, f"alarm_id: {alarm_id} is {what}: only an engineer may shelve it, with a reason")
        if not reason.strip():
            raise ServiceError(422, "reason: a shelve needs a reason")
        if not 0.0 < duration_s <= MAX_SHELVE_S:
            raise ServiceError(422, f"duration_s: 0 < duration <= {MAX_SHELVE_S:g} s ({MAX_SHELVE_S / 3600:g} h)")
        until_s = engine.clock.now_s() + duration_s * self.config.speed  # wall seconds on the engine's clock
        engine.shelve(alarm_id, user, until_s, reason)
        self.writer.audit(user, "alarm.shelved", f"alarm {alarm_id}",
                          {"line_id": self.line_id, "run_id": engine.run_id, "duration_s": duration_s,
                           "reason": reason})
        return self.status()

    # ------------------------------------------------------------ simulator faults
    def _simulated(self) -> SimulatedPlant:
        plant = self.line.plant
        if plant is None:
            raise ServiceError(409, f"no simulator: the line is the plant of {self.config.plant_file}; faults are for "
                                    "the built-in simulator")
        return plant

    def faults(self) -> dict[str, Any]:
        faults = self._simulated().faults
        return {"active": faults.active(),
                "offered": [{"kind": spec.kind, "description": spec.description,
                             "devices": faults.devices_for(spec.kind), "needs_tag": spec.needs_tag}
                            for spec in faults.offered]}

    def inject_fault(self, kind: str, device: str, tag: str | None, user: str) -> dict[str, Any]:
        plant = self._simulated()
        if not plant.line.has_device(device):
            raise ServiceError(404, f"device: no device {device!r}")
        try:
            plant.faults.inject(kind, device, tag)
        except ValueError as exc:
            raise ServiceError(422, _message(exc)) from None
        except KeyError as exc:
            raise ServiceError(422, f"tag: {_message(exc)}") from None
        self.writer.audit(user, "sim.fault_injected", f"device {device}",
                          {"line_id": self.line_id, "kind": kind, "tag": tag})
        return self.faults()

    def clear_faults(self, device: str | None, tag: str | None, user: str) -> dict[str, Any]:
        plant = self._simulated()
        if device is not None and not plant.line.has_device(device):
            raise ServiceError(404, f"device: no device {device!r}")
        try:
            plant.faults.clear(device, tag)
        except ValueError as exc:
            raise ServiceError(422, _message(exc)) from None
        self.writer.audit(user, "sim.fault_cleared", f"device {device or '*'}", {"line_id": self.line_id, "tag": tag})
        return self.faults()


MAX_SHELVE_S = 8 * 3600.0  # assumption: a shift; longer suppression belongs in out-of-service, with a MOC
SHELVE_PROTECTED_ROLES = frozenset({"engineer", "admin"})


def _message(exc: KeyError | ValueError) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def _load_unit_mode(path: Path) -> UnitMode:
    """The unit mode a runtime of this line last set (Production when none was set). A file
    that names no mode is not guessed at: the runtime refuses to start, naming it."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return UnitMode.PRODUCTION
    try:
        return UnitMode[text.upper()]
    except KeyError:
        raise RuntimeError(f"{path}: {text[:40]!r} is no unit mode (production, maintenance, manual); "
                           "fix or remove the file") from None


def _save_unit_mode(path: Path, mode: UnitMode) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(mode.name.lower() + "\n", encoding="utf-8")
    os.replace(temporary, path)

